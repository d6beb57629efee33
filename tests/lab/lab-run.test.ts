/**
 * `client lab run`: a throwaway droplet for one command. It waits for first boot (cloud-init) to
 * finish before the command runs, as verify does, so the command sees the droplet a customer gets;
 * the droplet is gone afterwards and the command's exit code is the client's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../support/temporal';

function client(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO, 'dist/client/main.js'), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

test('lab run waits for first boot to finish, then runs the command and keeps its exit code', async () => {
  const work = await mkdtemp(join(tmpdir(), 'lab-run-'));
  const env = { IMAGE_FORGE_LAB_DIR: join(work, 'state') };
  try {
    const r = await client(['lab', 'run', 'debian-12-x64', '--', 'cloud-init status; exit 7'], env);
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stdout, /status: done/, 'first boot had finished when the command ran');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
