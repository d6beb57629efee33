/**
 * A lab with a data dir keeps its model across restarts, as DigitalOcean keeps an account: a
 * worker resuming a build after the lab restarted still finds its droplet and snapshot. Droplets
 * whose systems stopped with the old lab come back `off`. No root needed: droplets in memory.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STATE_FILE } from '../../lab/api/persist';
import { createLabServer, type LabServer } from '../../lab/api/server';
import { labControl } from '../support/lab-control';
import { labSnapshot, memoryRuntime } from '../support/memory-runtime';

const TOKEN = 'dop_v1_restart_test';
let work = '';
const servers: LabServer[] = [];

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'lab-restart-'));
});

after(async () => {
  for (const s of servers) await s.close();
  await rm(work, { recursive: true, force: true });
});

async function startLab(dataDir: string, n: number): Promise<LabServer> {
  const s = await createLabServer({
    runtime: memoryRuntime(),
    tokens: [TOKEN],
    stateDir: join(work, 'api'),
    dataDir,
    machinePrefix: `t-restart${process.pid}x${n}-`,
    contractCheck: true,
    timing: { minActionMs: 10 },
  });
  servers.push(s);
  return s;
}

async function call<T>(
  lab: LabServer,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; data: T }> {
  const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  const r = await fetch(`${lab.origin}${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
  const text = await r.text();
  return { status: r.status, data: (text ? JSON.parse(text) : undefined) as T };
}

type Droplet = { id: number; name: string; status: string; locked: boolean; snapshot_ids: number[]; tags: string[] };

async function builtDroplet(lab: LabServer): Promise<{ droplet: Droplet; snapshotId: number; keyId: number }> {
  const key = await call<{ ssh_key: { id: number } }>(lab, 'POST', '/v2/account/keys', {
    name: 'builder',
    public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMJvZ0lbD2n8C1c8w4jDgGmQ3Xfd1nY3DeJ2P3rQ6e2A test',
  });
  assert.equal(key.status, 201, JSON.stringify(key.data));
  const snapshotId = await labSnapshot(lab.origin, TOKEN, 'forge-1.0');
  assert.equal((await call(lab, 'POST', '/v2/tags', { name: 'keepme' })).status, 201);
  const list = await call<{ droplets: Droplet[] }>(lab, 'GET', '/v2/droplets');
  const droplet = list.data.droplets.find((d) => d.snapshot_ids.includes(snapshotId))!;
  const tagged = await call(lab, 'POST', '/v2/tags/keepme/resources', {
    resources: [{ resource_id: String(droplet.id), resource_type: 'droplet' }],
  });
  assert.equal(tagged.status, 204);
  const app = await labControl(lab, '/_lab/vendor-apps', { method: 'POST', body: { id: 'app-kept', name: 'Kept' } });
  assert.equal(app.status, 201);
  return { droplet, snapshotId, keyId: key.data.ssh_key.id };
}

/** What a restarted lab must still know. */
async function assertKnown(lab: LabServer, built: Awaited<ReturnType<typeof builtDroplet>>): Promise<void> {
  const d = await call<{ droplet: Droplet }>(lab, 'GET', `/v2/droplets/${built.droplet.id}`);
  assert.equal(d.status, 200, JSON.stringify(d.data));
  assert.equal(d.data.droplet.name, built.droplet.name);
  assert.equal(d.data.droplet.status, 'off', 'its system stopped with the old lab');
  assert.equal(d.data.droplet.locked, false);
  assert.deepEqual(d.data.droplet.tags, ['keepme']);
  const img = await call<{ image: { id: number; name: string; type: string } }>(
    lab,
    'GET',
    `/v2/images/${built.snapshotId}`,
  );
  assert.equal(img.status, 200, JSON.stringify(img.data));
  assert.equal(img.data.image.name, 'forge-1.0');
  const snaps = await call<{ snapshots: Array<{ id: string }> }>(lab, 'GET', '/v2/snapshots');
  assert.deepEqual(
    snaps.data.snapshots.map((s) => s.id),
    [String(built.snapshotId)],
  );
  assert.equal((await call(lab, 'GET', `/v2/account/keys/${built.keyId}`)).status, 200);
  assert.equal((await labControl(lab, '/_lab/vendor-apps/app-kept')).status, 200);
}

test('stopped and started again on its data dir, the lab still knows droplets, snapshots, keys, tags, apps', async () => {
  const dataDir = join(work, 'data-stop');
  const first = await startLab(dataDir, 1);
  const built = await builtDroplet(first);
  await first.close();
  assert.equal((await stat(join(dataDir, STATE_FILE))).mode & 0o777, 0o600);

  const second = await startLab(dataDir, 2);
  await assertKnown(second, built);
  // A droplet from the snapshot boots on the restarted lab (its archive stayed in the data dir).
  const made = await call<{ droplet: { id: number } }>(second, 'POST', '/v2/droplets', {
    name: 'from-snapshot',
    region: 'nyc3',
    size: 's-1vcpu-512mb-10gb',
    image: built.snapshotId,
  });
  assert.equal(made.status, 202, JSON.stringify(made.data));
  // power_on has nothing to boot: the action errors, saying why.
  const on = await call<{ action: { id: number } }>(second, 'POST', `/v2/droplets/${built.droplet.id}/actions`, {
    type: 'power_on',
  });
  assert.equal(on.status, 201, JSON.stringify(on.data));
  for (let a = 'in-progress'; a === 'in-progress'; await new Promise((r) => setTimeout(r, 20))) {
    a = (await call<{ action: { status: string } }>(second, 'GET', `/v2/actions/${on.data.action.id}`)).data.action
      .status;
    if (a !== 'in-progress') assert.equal(a, 'errored');
  }
  // New ids never reuse a loaded one.
  assert.ok(made.data.droplet.id > built.droplet.id);
  assert.equal((await call(second, 'DELETE', `/v2/droplets/${built.droplet.id}`)).status, 204);
  assert.equal((await call(second, 'DELETE', `/v2/droplets/${made.data.droplet.id}`)).status, 204);
  await second.close();

  const third = await startLab(dataDir, 3);
  assert.equal((await call(third, 'GET', `/v2/droplets/${built.droplet.id}`)).status, 404, 'a delete is kept too');
  assert.equal((await call(third, 'GET', `/v2/images/${built.snapshotId}`)).status, 200);
  await third.close();
});

test('a lab that died (its state file as it was, no close) comes back with its droplets off', async () => {
  const dataDir = join(work, 'data-live');
  const live = await startLab(dataDir, 4);
  const built = await builtDroplet(live);
  const active = await call<{ droplet: Droplet }>(live, 'GET', `/v2/droplets/${built.droplet.id}`);
  assert.equal(active.data.droplet.status, 'active');
  await new Promise((r) => setTimeout(r, 100)); // the write after the last change
  // The file as a crash would leave it: copied while the lab still runs.
  const crashed = join(work, 'data-crashed');
  await cp(dataDir, crashed, { recursive: true });
  const restarted = await startLab(crashed, 5);
  await assertKnown(restarted, built);
});
