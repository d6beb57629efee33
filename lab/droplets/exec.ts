/** Running host commands: argv arrays only (no shell strings), errors that carry stderr. */
import { execFile, spawn, type StdioOptions } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; rejects with its stderr in the message when it fails. */
export async function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  if (opts.input !== undefined) return runWithInput(cmd, args, opts.input, opts.env);
  try {
    const r = await execFileP(cmd, args, {
      env: opts.env ?? process.env,
      timeout: opts.timeoutMs ?? 0,
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
    });
    return { stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { stderr?: string; code?: unknown; signal?: unknown };
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${String(e.code ?? e.signal)}): ${(e.stderr ?? '').trim().slice(-2000)}`,
      {
        cause: err,
      },
    );
  }
}

/** Like run, but never rejects on a non-zero exit. */
export async function tryRun(cmd: string, args: string[]): Promise<RunResult & { ok: boolean }> {
  try {
    return { ...(await run(cmd, args)), ok: true };
  } catch (err) {
    return { stdout: '', stderr: (err as Error).message, ok: false };
  }
}

function runWithInput(cmd: string, args: string[], input: string, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${code ?? signal}): ${stderr.trim().slice(-2000)}`));
    });
    child.stdin.end(input);
  });
}

/** Runs a command with the given stdio (e.g. a log file descriptor); rejects on non-zero exit. */
export function runWithStdio(cmd: string, args: string[], stdio: StdioOptions, env?: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: env ?? process.env, stdio });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.slice(0, 6).join(' ')} … failed (${code ?? signal})`));
    });
  });
}

export { setTimeout as sleep } from 'node:timers/promises';
