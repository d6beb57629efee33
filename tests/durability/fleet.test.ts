/**
 * A fleet: two worker processes with their own folders (no shared disk; build contexts and logs
 * in a real S3 server) share three concurrent builds while workers are SIGKILLed, each in the middle
 * of a script step it runs (read from the server's record of the build), and replaced.
 * Every build completes, each with exactly one droplet and one snapshot, and none is left.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { startS3Stack } from '../support/s3-stack';
import type { S3Stack } from '../support/s3-stack';
import type { Stack, WorkerProcess } from '../support/stack';
import { REPO } from '../support/temporal';
import { identityPid, untilActivityRunning } from '../support/pending-activity';
import type { RunningActivity } from '../support/pending-activity';

let fleet: S3Stack;
let stack: Stack;

before(async () => {
  fleet = await startS3Stack();
  stack = fleet.stack;
});

after(async () => {
  await fleet?.stop();
});

test('two workers, three builds, workers killed and replaced: every build completes once', async () => {
  let n = 0;
  const spawn = (): WorkerProcess => stack.spawnWorker(fleet.machineEnv(`fleet-worker-${n++}`));
  const workers = [spawn(), spawn()];
  const clientEnv = fleet.machineEnv('fleet-client');
  const spec = path.join(REPO, 'tests/durability/fixtures/slow/build.yaml');
  const ids = ['fleet-a', 'fleet-b', 'fleet-c'];
  const runs = Promise.all(
    ids.map((id) => stack.client(['start-build', spec, '--wait', '--json', '--id', id], clientEnv)),
  );
  // Three times: the worker running a script step of one of the builds (read from the server, not
  // timed) is SIGKILLed mid-step and replaced.
  const killed: string[] = [];
  for (let round = 0; round < 3; round++) {
    const live = (a: RunningActivity) => workers.some((w) => w.child.pid === identityPid(a.identity));
    const hit = await untilActivityRunning(stack.temporal.client, ids, 'runScript', live);
    const victim = workers.findIndex((w) => w.child.pid === identityPid(hit.identity));
    await workers[victim]!.kill('SIGKILL');
    workers[victim] = spawn();
    killed.push(`${hit.workflowId} (attempt ${hit.attempt})`);
  }
  assert.equal(killed.length, 3, `workers killed mid-script in ${killed.join(', ')}`);
  const results = await runs;
  for (const [i, r] of results.entries()) {
    assert.equal(r.code, 0, `${ids[i]}: ${r.stderr}`);
    assert.equal((JSON.parse(r.stdout) as { status: string }).status, 'succeeded');
  }
  const audit = await stack.audit();
  const created = audit.filter((e) => e.type === 'droplet.created' && String(e.name).startsWith('slow-build-'));
  assert.equal(created.length, 3, 'one droplet per build');
  const snapshots = audit.filter(
    (e) => e.type === 'action.status' && e.actionType === 'snapshot' && e.status === 'completed',
  );
  assert.equal(snapshots.length, 3, 'one snapshot per build');
  await stack.lab.idle();
  assert.equal(
    (await stack.lab.state()).droplets.list.filter((d) => d.status !== 'archive').length,
    0,
    'no droplet left',
  );
  for (const w of workers) await w.kill('SIGTERM');
});
