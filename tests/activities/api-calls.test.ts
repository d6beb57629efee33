/**
 * Fewer DigitalOcean calls per build (issue #20 P6: ≤ 40, verify's included), counted in the
 * lab's audit log: no look at a droplet or action the moment it was created or posted (it cannot
 * be done yet), waits that grow while an action runs long, a snapshot tag created only when it
 * does not exist, and no second look at an image whose copy just completed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ActivityDeps } from '../../activities/runtime/deps';
import { activity } from '../../activities/runtime/failures';
import { findOrCreate, waitActive } from '../../activities/droplets/find-or-create';
import { pollDelay } from '../../activities/droplets/actions';
import { snapshot } from '../../activities/snapshot';
import { transfer } from '../../activities/transfer';
import { createLabServer, type LabServer } from '../../lab/api/server';
import { labSnapshot, memoryRuntime } from '../support/memory-runtime';
import { labActivityDeps } from '../support/lab-deps';

const TOKEN = `dop_v1_calls_${process.pid}`;
let work = '';
let lab: LabServer;
let deps: ActivityDeps;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'api-calls-'));
  lab = await createLabServer({
    runtime: memoryRuntime(),
    tokens: [TOKEN],
    stateDir: join(work, 'lab'),
    auditFile: join(work, 'audit.jsonl'),
    machinePrefix: `t-calls${process.pid}-`,
    contractCheck: true,
    timing: { transferDelayMs: 300, minActionMs: 300 },
  });
  const made = labActivityDeps(lab, TOKEN, work, { timing: { pollMs: 100 } });
  deps = made.deps;
  // The worker's login key, registered as a worker does at start.
  const r = await fetch(`${lab.endpoint}/account/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'worker', public_key: made.key.publicOpenSsh }),
  });
  assert.equal(r.status, 201);
});

after(async () => {
  await lab.close();
  await rm(work, { recursive: true, force: true });
});

/** The API requests made while `fn` ran, as "METHOD /path" with ids as :id. */
async function calls(fn: () => Promise<unknown>): Promise<string[]> {
  const read = async () => (await readFile(join(work, 'audit.jsonl'), 'utf8')).split('\n').filter(Boolean);
  const from = (await read()).length;
  await fn();
  return (await read())
    .slice(from)
    .map((l) => JSON.parse(l) as { type: string; method?: string; path?: string })
    .filter((e) => e.type === 'request')
    .map((e) => `${e.method} ${String(e.path).replace(/\/\d+/g, '/:id')}`);
}

test('a new droplet is first looked at one poll after its create, not at once', async () => {
  const made = await calls(async () => {
    const created = await findOrCreate(deps, {
      lookupTag: 'calls-new',
      name: 'calls-1',
      region: 'nyc3',
      size: 's-1vcpu-1gb',
      image: 'debian-12-x64',
      tags: ['calls-new'],
      userData: '#cloud-config\n',
    });
    assert.equal(created.status, 'new');
    await waitActive(deps, created);
  });
  // The memory lab's droplet is active one poll later: one look is enough.
  assert.deepEqual(made, ['GET /v2/droplets', 'POST /v2/droplets', 'GET /v2/droplets/:id']);
});

test('snapshot: the action is first looked at after a poll, and an existing tag is not created again', async () => {
  const droplet = async (n: number) => {
    const d = await findOrCreate(deps, {
      lookupTag: `calls-snap-${n}`,
      name: `calls-snap-${n}`,
      region: 'nyc3',
      size: 's-1vcpu-1gb',
      image: 'debian-12-x64',
      tags: [`calls-snap-${n}`],
      userData: '#cloud-config\n',
    });
    await waitActive(deps, d);
    return { buildId: `b-${n}`, dropletId: d.id, ipv4: '169.254.100.9' };
  };
  const snap = (n: number, ref: Awaited<ReturnType<typeof droplet>>) =>
    new MockActivityEnvironment().run(activity(snapshot(deps)), {
      droplet: ref,
      name: `calls-snap-${n}`,
      tags: ['calls-family', 'calls-vendor'],
    });
  const first = await droplet(1);
  const firstCalls = await calls(() => snap(1, first));
  assert.equal(
    firstCalls.filter((c) => c === 'POST /v2/tags').length,
    3,
    "the first build creates its two tags and its run's",
  );
  const second = await droplet(2);
  const secondCalls = await calls(() => snap(2, second));
  assert.equal(secondCalls.filter((c) => c === 'POST /v2/tags').length, 0, `no tag created again: ${secondCalls}`);
  assert.equal(secondCalls.filter((c) => c === 'POST /v2/tags/calls-family/resources').length, 1, 'tagged');
  // Posted, then looked at after a poll: the 300 ms action is done by the third look at the latest.
  const looks = secondCalls.filter((c) => c === 'GET /v2/actions/:id').length;
  assert.ok(looks >= 1 && looks <= 3, `action looked at ${looks} times: ${secondCalls}`);
});

test('transfer: a completed copy returns the regions without asking for the image again', async () => {
  const imageId = await labSnapshot(lab.origin, TOKEN, 'calls-transfer');
  let regions: string[] = [];
  const t0 = Date.now();
  const made = await calls(async () => {
    regions = await new MockActivityEnvironment().run(activity(transfer(deps)), { imageId, region: 'sfo3' });
  });
  assert.deepEqual([...regions].sort(), ['nyc3', 'sfo3']);
  console.log(`transfer of a 300 ms copy: ${Date.now() - t0} ms, ${made.length} calls`);
  assert.equal(made.filter((c) => c === 'GET /v2/images/:id').length, 1, made.join(', '));
  const lab2 = (await (
    await fetch(`${lab.endpoint}/images/${imageId}`, { headers: { authorization: `Bearer ${TOKEN}` } })
  ).json()) as { image: { regions: string[] } };
  assert.deepEqual([...lab2.image.regions].sort(), ['nyc3', 'sfo3'], 'DigitalOcean (the lab) agrees');
});

test('the waits while following an action grow: twice each, doubling, to 30 s', () => {
  assert.deepEqual(
    Array.from({ length: 14 }, (_, n) => pollDelay(2000, n)),
    [2000, 2000, 4000, 4000, 8000, 8000, 16000, 16000, 30000, 30000, 30000, 30000, 30000, 30000],
  );
  // A 5-minute snapshot: 15 looks, not 150.
  let waited = 0;
  let looks = 0;
  while (waited < 300_000) waited += pollDelay(2000, looks++);
  assert.ok(looks <= 16, `${looks} looks`);
});
