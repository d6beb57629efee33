/**
 * A droplet's whole life through the lab's API, as a builder lives it: register a key, create,
 * wait for active, SSH in (activities/ssh), install a package, shut down, snapshot, create a new
 * droplet from the snapshot — where cloud-init sees a new instance (per-instance scripts run
 * again, new host keys) — delete everything, and find nothing left on the machine.
 */
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Client } from 'ssh2';
import { connectSsh, exec, HostKeyMismatchError } from '../../platform/ssh';
import { createLabServer } from '../../lab/api/server';
import { createNspawnRuntime, findLeftovers, isEmpty } from '../../lab/droplets/nspawn-runtime';
import { skipUnlessRoot, startTestLab, waitFor, type TestLab } from '../support/lab-api';
import { randomEd25519 } from '../../platform/host-key';

const execFileP = promisify(execFile);
const skip = skipUnlessRoot;

/** A per-instance script, as a builder's user-data would install one. */
const USER_DATA = `#cloud-config
write_files:
  - path: /var/lib/cloud/scripts/per-instance/010-record
    permissions: '0755'
    content: |
      #!/bin/sh
      cat /var/lib/cloud/data/instance-id >> /root/instances.log
`;

let lab: TestLab;
const keys = randomEd25519('lifecycle-test');
const open: Client[] = [];

before(async () => {
  if (skip) return;
  lab = await startTestLab('lifecycle');
});

after(async () => {
  if (skip) return;
  for (const c of open) c.end();
  await lab.dispose();
});

interface Droplet {
  id: number;
  status: string;
  locked: boolean;
  networks: { v4: Array<{ ip_address: string; type: string }> };
}

async function waitDroplet(id: number, status: string): Promise<Droplet> {
  return waitFor(`droplet ${id} to be ${status}`, async () => {
    const d = (await lab.client.droplet.getDroplet({ droplet_id: id })).data.droplet as unknown as Droplet;
    return d.status === status && !d.locked ? d : undefined;
  });
}

async function waitAction(id: number): Promise<string> {
  return waitFor(
    `action ${id}`,
    async () => {
      const a = (await lab.client.action.getAction({ action_id: id })).data.action;
      return a.status === 'in-progress' ? undefined : a.status;
    },
    600_000,
  );
}

/** Connects as root, recording the host key the droplet presents. */
async function ssh(d: Droplet, pinned?: string): Promise<{ conn: Client; hostKey: string }> {
  let hostKey = '';
  const conn = await connectSsh({
    host: d.networks.v4[0]!.ip_address,
    username: 'root',
    privateKey: keys.privateOpenSsh,
    readyTimeoutMs: 60_000,
    onHostKey: (fp) => (hostKey = fp),
    ...(pinned ? { hostKeySha256: pinned } : {}),
  });
  open.push(conn);
  return { conn, hostKey };
}

async function run(conn: Client, command: string): Promise<string> {
  let out = '';
  let err = '';
  const r = await exec(conn, command, {
    onStdout: (c) => (out += c.toString()),
    onStderr: (c) => (err += c.toString()),
  });
  assert.equal(r.exitCode, 0, `${command} failed (${r.exitCode ?? r.signal}): ${err.slice(-2000)}`);
  return out;
}

test(
  'droplet lifecycle through the API: create, SSH, apt, shutdown, snapshot, new instance from it, delete, nothing left',
  { skip },
  async (t) => {
    const c = lab.client;
    const key = (await c.sshKey.createSshKey({ name: 'lifecycle', public_key: keys.publicOpenSsh })).data.ssh_key;

    const created = await c.droplet.createDroplet({
      name: 'lifecycle-1',
      region: 'nyc3',
      size: 's-1vcpu-1gb',
      image: 'debian-12-x64',
      ssh_keys: [key.fingerprint!],
      tags: ['lifecycle'],
      user_data: USER_DATA,
    });
    const first = await waitDroplet(created.data.droplet.id, 'active');
    const s1 = await ssh(first);
    let firstInstance = '';

    await t.test('first boot: cloud-init done, per-instance script ran once; apt works', async () => {
      assert.match(await run(s1.conn, 'cloud-init status --wait >/dev/null; cloud-init status'), /status: done/);
      const log = (await run(s1.conn, 'cat /root/instances.log')).trim().split('\n');
      assert.equal(log.length, 1);
      firstInstance = log[0]!;
      await run(
        s1.conn,
        'DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends hello >/dev/null',
      );
      assert.match(await run(s1.conn, 'hello'), /Hello, world!/);
      // stdin, stderr and exit codes come through.
      let err = '';
      const r = await exec(s1.conn, 'tr a-z A-Z; echo oops >&2; exit 3', {
        stdin: 'piped\n',
        onStdout: (b) => (err += `out:${b.toString()}`),
        onStderr: (b) => (err += `err:${b.toString()}`),
      });
      assert.equal(r.exitCode, 3);
      assert.equal(err, 'out:PIPED\nerr:oops\n');
    });

    await t.test('a pinned host key that does not match is refused', async () => {
      await assert.rejects(ssh(first, 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), HostKeyMismatchError);
      const pinnedOk = await ssh(first, s1.hostKey);
      assert.equal(pinnedOk.hostKey, s1.hostKey);
      pinnedOk.conn.end();
    });

    s1.conn.end();
    const sh = (await c.droplet.shutdownDroplet({ droplet_id: first.id })).data.action;
    assert.equal(await waitAction(sh.id), 'completed');
    await waitDroplet(first.id, 'off');
    const snap = (await c.droplet.snapshotDroplet({ droplet_id: first.id, name: 'lifecycle-snap' })).data.action;
    assert.equal(await waitAction(snap.id), 'completed');
    const image = (await c.droplet.listDropletSnapshots({ droplet_id: first.id })).data.snapshots.find(
      (s) => s.name === 'lifecycle-snap',
    );
    assert.ok(image, 'the snapshot is listed for the droplet');

    // No user_data this time: the script installed by the first boot is in the snapshot.
    const again = await c.droplet.createDroplet({
      name: 'lifecycle-2',
      region: 'nyc3',
      size: 's-1vcpu-1gb',
      image: Number(image.id),
      ssh_keys: [key.id!],
      tags: ['lifecycle'],
    });
    const second = await waitDroplet(again.data.droplet.id, 'active');
    const s2 = await ssh(second);

    await t.test(
      'the droplet from the snapshot is a new instance: script ran again, new host key, package still there',
      async () => {
        await run(s2.conn, 'cloud-init status --wait >/dev/null || true');
        const log = (await run(s2.conn, 'cat /root/instances.log')).trim().split('\n');
        assert.equal(log.length, 2, log.join(' / '));
        assert.equal(log[0], firstInstance);
        assert.notEqual(log[1], firstInstance);
        assert.notEqual(s2.hostKey, s1.hostKey);
        assert.match(await run(s2.conn, 'hello'), /Hello, world!/);
      },
    );
    s2.conn.end();

    await t.test('delete everything: nothing left on the machine or in the API', async () => {
      await c.droplet.deleteDropletsByTag({ tag_name: 'lifecycle' });
      await c.snapshot.deleteSnapshot({ snapshot_id: Number(image.id) });
      await c.sshKey.destroySshKey({ ssh_key_id: key.id! });
      await lab.server.idle();
      assert.equal((await c.droplet.listDroplets({ tag_name: 'lifecycle' })).data.droplets.length, 0);
      const left = await lab.leftovers();
      assert.ok(isEmpty(left), JSON.stringify(left));
      const netns = (await execFileP('ip', ['netns', 'list'])).stdout;
      assert.ok(!netns.includes(lab.machinePrefix), netns);
      const mounts = (await execFileP('cat', ['/proc/mounts'])).stdout;
      assert.ok(!mounts.includes(lab.machinePrefix));
      const audit = await lab.audit();
      const count = (type: string) => audit.filter((e) => e.type === type).length;
      assert.equal(count('droplet.created'), 2);
      assert.equal(count('droplet.destroyed'), 2);
      assert.equal(count('key.created'), count('key.deleted'));
      assert.equal(count('image.created'), count('image.deleted'));
      const violations = await lab.server.contractViolations();
      assert.deepEqual(violations, [], JSON.stringify(violations, null, 2));
    });
  },
);

test('closing the lab destroys the droplets it still has', { skip }, async () => {
  const prefix = `t-close${process.pid}-`;
  const server = await createLabServer({
    runtime: createNspawnRuntime(),
    tokens: ['t'],
    machinePrefix: prefix,
    stateDir: join(lab.work, 'close'),
  });
  try {
    const post = (body: unknown) =>
      fetch(`${server.endpoint}/droplets`, {
        method: 'POST',
        headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    assert.equal(
      (await post({ name: 'left-running', size: 's-1vcpu-512mb-10gb', image: 'debian-12-x64' })).status,
      202,
    );
    await waitFor('the droplet to be active', async () =>
      (await server.state()).droplets.byStatus.active === 1 ? true : undefined,
    );
    // And one still booting: close must wait for its creation and destroy it too.
    assert.equal(
      (await post({ name: 'still-booting', size: 's-1vcpu-512mb-10gb', image: 'debian-12-x64' })).status,
      202,
    );
    assert.ok((await findLeftovers(prefix)).machines.length >= 1);
  } finally {
    await server.close();
  }
  const left = await findLeftovers(prefix);
  assert.ok(isEmpty(left), JSON.stringify(left));
  assert.equal((await server.state()).leaks.length, 0);
});
