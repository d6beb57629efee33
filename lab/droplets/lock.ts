/**
 * An exclusive lock between processes (and between async callers in one process).
 * flock(2) locks belong to the open file description: flock(1) locks the descriptor it inherits
 * from us and exits, and the lock stays ours until we close it — or until our process dies, so a
 * crashed builder never leaves a stale lock behind.
 */
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';

const inProcess = new Map<string, Promise<void>>();

export async function withFileLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  // Serialise callers in this process first: they would share nothing with flock otherwise.
  const previous = inProcess.get(path) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const chained = previous.then(() => mine);
  inProcess.set(path, chained);
  await previous;
  try {
    const handle = await open(path, 'a');
    try {
      await new Promise<void>((resolve, reject) => {
        const child = spawn('flock', ['-x', '3'], { stdio: ['ignore', 'ignore', 'inherit', handle.fd] });
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`flock ${path} failed (${code})`))));
      });
      return await fn();
    } finally {
      await handle.close();
    }
  } finally {
    release();
    if (inProcess.get(path) === chained) inProcess.delete(path);
  }
}
