/**
 * Builds survive crashes: the worker process is SIGKILLed during steps and between them, and the
 * Temporal server is restarted on the same SQLite file mid-build; each build still completes,
 * exactly one droplet is created, and no completed step runs again — counted by a log each script
 * writes into the image, read back from a droplet made from the snapshot.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { BuildState } from '../../contract/operator';
import { dropletFromImage } from '../support/droplet';
import { untilLogged, waitForBuild } from '../support/build-state';
import { LAB_TOKEN, startStack } from '../support/stack';
import type { Stack, WorkerProcess } from '../support/stack';
import { REPO, startTemporal } from '../support/temporal';

const SPEC = path.join(REPO, 'tests/durability/fixtures/slow/build.yaml');
let stack: Stack;
// The server's SQLite file outlives a server restart, not the test.
const dbDir = mkdtempSync(path.join(tmpdir(), 'forge-resume-'));

before(async () => {
  const port = 17000 + Math.floor(Math.random() * 2000);
  stack = await startStack({
    worker: false,
    temporal: { port, dbFilename: path.join(dbDir, 'temporal.sqlite') },
    // Every action lasts ≥3 s, so the snapshot step is still running when the test kills the worker
    // (a lab snapshot of a 1 GiB disk can finish before the kill otherwise, and the kill lands in destroy).
    lab: { timing: { transferDelayMs: 200, maxDiskGiB: 1, minActionMs: 3000 } },
  });
});

after(async () => {
  try {
    await stack?.stop();
  } finally {
    rmSync(dbDir, { recursive: true, force: true });
  }
});

const until = (id: string, pred: (s: BuildState) => boolean, what: string, timeoutMs?: number) =>
  waitForBuild(stack, id, pred, what, timeoutMs);

const running = (step: string) => (s: BuildState) => s.steps.some((x) => x.name === step && x.state === 'running');
const done = (step: string) => (s: BuildState) => s.steps.some((x) => x.name === step && x.state === 'succeeded');

async function checkImage(id: string, killedSteps: string[]): Promise<void> {
  const final = await until(id, (s) => s.status === 'succeeded' || s.status === 'failed', 'the end');
  assert.equal(final.status, 'succeeded', JSON.stringify(final.steps));
  const d = await dropletFromImage(stack.lab.endpoint, LAB_TOKEN, final.snapshotId!);
  try {
    const runs = (await d.run('cut -d" " -f1 /root/step-runs.log')).out.trim().split('\n');
    const count = (s: string) => runs.filter((r) => r === s).length;
    for (const step of ['01-script', '02-script', '03-script']) {
      if (killedSteps.includes(step))
        assert.ok(count(step) >= 1 && count(step) <= 2, `${step} ran ${count(step)} times`);
      else
        assert.equal(
          count(step),
          1,
          `${step} completed before a crash and must not run again (ran ${count(step)} times)`,
        );
    }
  } finally {
    await d.destroy();
  }
}

function buildDroplets(audit: Record<string, unknown>[]): number {
  return audit.filter((e) => e.type === 'droplet.created' && String(e.name).startsWith('slow-build-')).length;
}

// The step order of new builds (inventory follows cleanup since the 'inventory-after-cleanup' patch).
const ORDER = [
  'check-input',
  'provision',
  '01-script',
  '02-script',
  '03-script',
  'first-boot',
  'cleanup',
  'inventory',
  'sbom',
  'validate',
  'shutdown',
  'snapshot',
  'destroy',
];

test('SIGKILL the worker during steps and between them: the build completes, nothing done twice', async () => {
  const id = 'resume-kill';
  let worker: WorkerProcess = stack.spawnWorker();
  // The step that may be in flight at a kill (the first not yet succeeded) may run twice; every
  // step that had succeeded before a kill must not run again.
  const inFlight = new Set<string>();
  const restart = async () => {
    // Kill first, then read what was in flight: with no worker nothing moves, and the killed step
    // cannot complete, so the first step not succeeded is the one the kill landed in. (Reading the
    // state first, through a client process, left time for a short step to end before the kill.)
    await worker.kill('SIGKILL');
    worker = stack.spawnWorker();
    const s = await until(id, () => true, 'the build state after the restart');
    const done = new Set(s.steps.filter((x) => x.state === 'succeeded').map((x) => x.name));
    const next = ORDER.find((n) => !done.has(n));
    if (next) inFlight.add(next);
  };
  const r = await stack.client(['start-build', SPEC, '--json', '--id', id]);
  assert.equal(r.code, 0, r.stderr);
  await until(id, running('provision'), 'provision to run');
  await restart(); // during provision
  // The script's own output says it runs on the droplet (and has seconds of work left): no timer.
  await untilLogged(stack, id, '02-script', 'working 1');
  await restart(); // during a script
  await until(id, done('02-script'), 'the second script to finish');
  await restart(); // between steps
  await until(id, running('cleanup'), 'cleanup to run');
  await restart(); // during cleanup
  await until(id, running('snapshot'), 'snapshot to run');
  await restart(); // during snapshot
  assert.ok(
    inFlight.has('02-script') && inFlight.has('cleanup') && inFlight.has('snapshot'),
    `kills landed in steps: ${[...inFlight].join(', ')}`,
  );
  await checkImage(id, [...inFlight]);
  assert.equal(buildDroplets(await stack.audit()), 1, 'exactly one build droplet was created');
  const snapshots = (await stack.audit()).filter(
    (e) => e.type === 'action.status' && e.actionType === 'snapshot' && e.status === 'completed',
  );
  assert.equal(snapshots.length, 1, 'one snapshot was taken');
  await worker.kill('SIGTERM');
});

test('the Temporal server restarts on the same SQLite file mid-build: the build completes', async () => {
  const worker = stack.spawnWorker();
  const before = buildDroplets(await stack.audit());
  const r = await stack.client(['start-build', SPEC, '--json', '--id', 'resume-server']);
  assert.equal(r.code, 0, r.stderr);
  // Read from the step's log, not by polling `client status`: the script lasts 6 s, and a loaded
  // machine's status calls can miss a step that short.
  await untilLogged(stack, 'resume-server', '02-script', 'working 1');
  const { port, dbFilename } = {
    port: Number(stack.temporal.address.split(':')[1]),
    dbFilename: stack.temporalOptions.dbFilename,
  };
  await stack.temporal.teardown();
  stack.temporal = await startTemporal({ port, ...(dbFilename ? { dbFilename } : {}) });
  await checkImage('resume-server', ['02-script']);
  assert.equal(buildDroplets(await stack.audit()) - before, 1, 'exactly one more build droplet');
  await worker.kill('SIGTERM');
});
