/**
 * Workers of a fleet share one IMAGE_FORGE_SSH_KEY and may start at the same moment: each finds
 * the key missing, all register it, and DigitalOcean (here the lab) answers all but the first
 * 422 "SSH Key is already in use on your account". Every one of them must still start.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStack } from '../support/stack';
import type { Stack, WorkerProcess } from '../support/stack';

const WORKERS = 4;
let stack: Stack;

before(async () => {
  stack = await startStack({ worker: false, aptCache: false });
});

after(async () => {
  await stack?.stop();
});

/** Resolves with the worker's log once it polls the task queue, or rejects with it once it exits. */
async function untilPolling(w: WorkerProcess, timeoutMs = 180_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = await fs.readFile(w.logFile, 'utf8').catch(() => '');
    if (log.includes('worker: polling task queue')) return log;
    if (w.child.exitCode !== null || w.child.signalCode !== null)
      throw new Error(`worker ${w.child.pid} exited (${w.child.exitCode ?? w.child.signalCode}):\n${log}`);
    if (Date.now() > deadline) throw new Error(`worker ${w.child.pid} did not start polling:\n${log}`);
    await sleep(250);
  }
}

test(`${WORKERS} workers with the same key started at once all run, and the key is registered once`, async () => {
  // Each worker first looks its key up by fingerprint (404: not there yet), then registers it.
  // The registrations are held for a while, so every worker has looked before the first one lands:
  // the race of a fleet started together, every time instead of now and then.
  stack.lab.faults.add({ kind: 'delay', method: 'POST', path: '^/v2/account/keys$', delayMs: 8000, times: WORKERS });
  const workers = Array.from({ length: WORKERS }, () => stack.spawnWorker());
  const logs = await Promise.all(workers.map((w) => untilPolling(w)));
  for (const log of logs) assert.doesNotMatch(log, /already in use/);

  const audit = await stack.audit();
  const posts = audit.filter((e) => e.type === 'request' && e.method === 'POST' && e.path === '/v2/account/keys');
  const statuses = posts.map((e) => e.status);
  assert.equal(statuses.filter((s) => s === 201).length, 1, `one registration accepted: ${statuses.join(', ')}`);
  assert.equal(
    statuses.filter((s) => s === 422).length,
    WORKERS - 1,
    `the others were told it is in use: ${statuses.join(', ')}`,
  );
  const { keyList } = await stack.lab.state();
  assert.equal(keyList.length, 1, `one key registered: ${JSON.stringify(keyList)}`);
  for (const w of workers) await w.kill('SIGTERM');
});
