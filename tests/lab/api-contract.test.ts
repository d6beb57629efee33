/**
 * The lab's DigitalOcean API, driven the way a builder drives DigitalOcean: through dots-wrapper
 * where it has the call, raw fetch elsewhere, against real nspawn droplets. Every exchange is
 * validated against DigitalOcean's OpenAPI document; the test ends by requiring zero response
 * violations (and request violations only for the requests it sent malformed on purpose).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DoApi } from '../../platform/digitalocean';
import { connectSsh, exec } from '../../platform/ssh';
import { createLabServer } from '../../lab/api/server';
import { createNspawnRuntime, isEmpty } from '../../lab/droplets/nspawn-runtime';
import { labControl } from '../support/lab-control';
import { failure, skipUnlessRoot, startTestLab, waitFor, type TestLab } from '../support/lab-api';

const execFileP = promisify(execFile);
const skip = skipUnlessRoot;

let lab: TestLab;
let c: TestLab['client'];
let privateKey = '';
let publicKey = '';
let md5FromSshKeygen = '';
/** Requests this test sends malformed on purpose: the only request violations allowed. */
const deliberatelyBad: Array<{ method: string; path: RegExp }> = [];

interface Droplet {
  id: number;
  status: string;
  locked: boolean;
  networks: { v4: Array<{ ip_address: string; type: string }> };
  tags: string[];
  snapshot_ids: number[];
}
interface Action {
  id: number;
  status: string;
  type: string;
}

before(async () => {
  if (skip) return;
  lab = await startTestLab('apicontract');
  c = lab.client;
  const keyFile = join(lab.work, 'id_ed25519');
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'contract-test', '-f', keyFile]);
  privateKey = await readFile(keyFile, 'utf8');
  publicKey = (await readFile(`${keyFile}.pub`, 'utf8')).trim();
  // Computed by OpenSSH, not by the lab's own code.
  md5FromSshKeygen = (await execFileP('ssh-keygen', ['-l', '-E', 'md5', '-f', `${keyFile}.pub`])).stdout
    .split(' ')[1]!
    .replace(/^MD5:/, '');
});

after(async () => {
  if (skip) return;
  await lab.dispose();
});

function raw(path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.token !== null) headers.set('authorization', `Bearer ${init.token ?? lab.token}`);
  if (init.body) headers.set('content-type', 'application/json');
  return fetch(`${lab.server.origin}${path}`, { ...init, headers });
}

async function getDroplet(id: number): Promise<Droplet> {
  return (await c.droplet.getDroplet({ droplet_id: id })).data.droplet as unknown as Droplet;
}

async function waitAction(get: () => Promise<Action>): Promise<Action> {
  return waitFor('action to end', async () => {
    const a = await get();
    return a.status === 'in-progress' ? undefined : a;
  });
}

async function waitStatus(id: number, status: string): Promise<Droplet> {
  return waitFor(`droplet ${id} ${status}`, async () => {
    const d = await getDroplet(id);
    return d.status === status && !d.locked ? d : undefined;
  });
}

function assertError(data: unknown, id: string, message?: string | RegExp): void {
  const e = data as { id: string; message: string; request_id: string };
  assert.equal(e.id, id);
  assert.equal(typeof e.message, 'string');
  assert.match(e.request_id, /^[0-9a-f-]{36}$/);
  if (typeof message === 'string') assert.equal(e.message, message);
  else if (message) assert.match(e.message, message);
}

describe('lab DigitalOcean API', { skip }, () => {
  test('authentication: 401 without or with a wrong token, rate-limit headers on every response', async () => {
    for (const token of [null, 'wrong-token']) {
      const r = await raw('/v2/account/keys', { token });
      assert.equal(r.status, 401);
      assertError(await r.json(), 'unauthorized');
      for (const h of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'])
        assert.match(r.headers.get(h) ?? '', /^\d+$/, h);
    }
    const bad = (await import('dots-wrapper')).createApiClient({ token: 'nope', endpoint: lab.server.endpoint });
    const f = await failure(bad.region.listRegions({}));
    assert.equal(f.status, 401);
    const ok = (await c.region.listRegions({})).headers as Record<string, string>;
    assert.equal(ok['ratelimit-limit'], '5000');
    assert.ok(Number(ok['ratelimit-reset']) > Date.now() / 1000);
  });

  test('catalogue: regions, sizes, distribution images by slug and id', async () => {
    const regions = (await c.region.listRegions({})).data.regions.map((r) => r.slug);
    assert.deepEqual(regions, ['nyc3', 'sfo3', 'ams3', 'fra1']);
    const sizes = (await c.size.listSizes({})).data.sizes;
    assert.ok(sizes.some((s) => s.slug === 's-1vcpu-512mb-10gb' && s.disk === 10));
    const images = (await c.image.listImages({ type: 'distribution' })).data.images;
    const deb = images.find((i) => i.slug === 'debian-12-x64');
    assert.ok(deb, 'debian-12-x64 is offered');
    assert.equal((await c.image.getImage({ slug: 'debian-12-x64' })).data.image.id, deb.id);
    assert.equal((await c.image.getImage({ image_id: deb.id })).data.image.slug, 'debian-12-x64');
    assert.equal((await failure(c.image.getImage({ slug: 'windows-11' }))).status, 404);
  });

  test('SSH keys: create, list, get by id and fingerprint, duplicate 422, delete, 404 shape', async () => {
    const created = await c.sshKey.createSshKey({ name: 'contract', public_key: publicKey });
    assert.equal(created.status, 201);
    const key = created.data.ssh_key;
    assert.equal(key.fingerprint, md5FromSshKeygen);
    assert.equal((await c.sshKey.getSshKey({ ssh_key_id: key.id })).data.ssh_key.fingerprint, key.fingerprint);
    assert.equal((await c.sshKey.getSshKey({ ssh_key_id: key.fingerprint })).data.ssh_key.id, key.id);
    assert.ok((await c.sshKey.listSshKeys({})).data.ssh_keys.some((k) => k.id === key.id));

    const dup = await failure(c.sshKey.createSshKey({ name: 'again', public_key: publicKey }));
    assert.equal(dup.status, 422);
    assertError(dup.data, 'unprocessable_entity', 'SSH Key is already in use on your account');

    const invalid = await failure(c.sshKey.createSshKey({ name: 'bad', public_key: 'ssh-ed25519 not-a-key' }));
    assert.equal(invalid.status, 422);

    // A second key, deleted by fingerprint.
    const other = (
      await execFileP('sh', [
        '-c',
        `ssh-keygen -q -t ed25519 -N '' -C other -f ${lab.work}/other && cat ${lab.work}/other.pub`,
      ])
    ).stdout.trim();
    const k2 = (await c.sshKey.createSshKey({ name: 'other', public_key: other })).data.ssh_key;
    assert.equal((await c.sshKey.destroySshKey({ ssh_key_id: k2.fingerprint! })).status, 204);
    const gone = await failure(c.sshKey.getSshKey({ ssh_key_id: k2.id! }));
    assert.equal(gone.status, 404);
    assertError(gone.data, 'not_found');
  });

  test('pagination: per_page, links.pages, meta.total, following next', async () => {
    for (let i = 0; i < 3; i++) {
      const pub = (
        await execFileP('sh', [
          '-c',
          `ssh-keygen -q -t ed25519 -N '' -C p${i} -f ${lab.work}/page${i} && cat ${lab.work}/page${i}.pub`,
        ])
      ).stdout.trim();
      await c.sshKey.createSshKey({ name: `page-${i}`, public_key: pub });
    }
    const first = (await c.sshKey.listSshKeys({ per_page: 2 })).data;
    assert.equal(first.meta?.total, 4);
    assert.equal(first.ssh_keys.length, 2);
    assert.ok(first.links?.pages?.next && first.links.pages.last);
    assert.equal(first.links.pages.prev, undefined);
    const next = await raw(new URL(first.links.pages.next).pathname + new URL(first.links.pages.next).search);
    const second = (await next.json()) as {
      ssh_keys: unknown[];
      links: { pages: Record<string, string> };
      meta: { total: number };
    };
    assert.equal(second.ssh_keys.length, 2);
    assert.ok(second.links.pages.first && second.links.pages.prev);
    assert.equal(second.links.pages.next, undefined);
    const beyond = (await c.sshKey.listSshKeys({ page: 9, per_page: 2 })).data;
    assert.equal(beyond.ssh_keys.length, 0);
  });

  describe('droplets', () => {
    let a: Droplet;
    let b: Droplet;
    let snapshotId = 0;
    let keyId = 0;

    before(async () => {
      keyId = (await c.sshKey.getSshKey({ ssh_key_id: md5FromSshKeygen })).data.ssh_key.id!;
    });

    test('create: 202, status new, no networks, create action; locked → 422 pending event; then active with a public IPv4', async () => {
      await c.tag.createTag({ name: 'contract-test' });
      const res = await c.droplet.createDroplet({
        name: 'contract-a',
        region: 'nyc3',
        size: 's-1vcpu-512mb-10gb',
        image: 'debian-12-x64',
        ssh_keys: [keyId],
        tags: ['contract-test', 'contract-a'],
        monitoring: true,
        with_droplet_agent: false,
      });
      assert.equal(res.status, 202);
      const d = res.data.droplet as unknown as Droplet;
      assert.equal(d.status, 'new');
      assert.equal(d.locked, true);
      assert.deepEqual(d.networks.v4, []);
      const links = (res.data as unknown as { links: { actions: Array<{ id: number; rel: string; href: string }> } })
        .links;
      assert.equal(links.actions[0]?.rel, 'create');
      assert.equal((await c.action.getAction({ action_id: links.actions[0]!.id })).data.action.status, 'in-progress');

      const pending = await failure(c.droplet.shutdownDroplet({ droplet_id: d.id }));
      assert.equal(pending.status, 422);
      assertError(pending.data, 'unprocessable_entity', /pending event/);

      const resB = await c.droplet.createDroplet({
        name: 'contract-b',
        region: 'nyc3',
        size: 's-1vcpu-1gb',
        image: 'debian-12-x64',
        ssh_keys: [md5FromSshKeygen],
        tags: ['contract-test'],
      });
      a = await waitStatus(d.id, 'active');
      b = await waitStatus(resB.data.droplet.id, 'active');
      assert.equal(a.networks.v4[0]?.type, 'public');
      assert.match(a.networks.v4[0]!.ip_address, /^\d+\.\d+\.\d+\.\d+$/);
      assert.deepEqual([...a.tags].sort(), ['contract-a', 'contract-test']);
      assert.equal((await c.action.getAction({ action_id: links.actions[0]!.id })).data.action.status, 'completed');
    });

    test('create: 422 for an unknown region, size, image or key, and a bad name', async () => {
      const base = { name: 'x', region: 'nyc3', size: 's-1vcpu-1gb', image: 'debian-12-x64' as string | number };
      const cases: Array<[Partial<typeof base> & { ssh_keys?: string[] }, RegExp]> = [
        [{ region: 'mars1' }, /region/],
        [{ size: 's-64vcpu' }, /size/],
        [{ image: 'debian-7-x64' }, /image/],
        [{ image: 999 }, /image/],
        [{ ssh_keys: ['00:11'] }, /SSH key/],
        [{ name: 'bad_name!' }, /hostname/],
      ];
      for (const [over, msg] of cases) {
        const f = await failure(c.droplet.createDroplet({ ...base, ...over }));
        assert.equal(f.status, 422, JSON.stringify(over));
        assertError(f.data, 'unprocessable_entity', msg);
      }
      deliberatelyBad.push({ method: 'POST', path: /^\/v2\/droplets$/ });
      const noSize = await raw('/v2/droplets', {
        method: 'POST',
        body: JSON.stringify({ name: 'x', image: 'debian-12-x64' }),
      });
      assert.equal(noSize.status, 422);
    });

    test('list: tag_name and name filters, pagination', async () => {
      const tagged = (await c.droplet.listDroplets({ tag_name: 'contract-test' })).data;
      assert.deepEqual(tagged.droplets.map((d) => d.id).sort(), [a.id, b.id].sort());
      assert.equal(tagged.meta?.total, 2);
      assert.deepEqual(
        (await c.droplet.listDroplets({ tag_name: 'contract-a' })).data.droplets.map((d) => d.id),
        [a.id],
      );
      await c.tag.createTag({ name: 'contract-b' });
      assert.equal(
        (
          await c.tag.tagResources({
            tag_name: 'contract-b',
            resources: [{ resource_id: String(b.id), resource_type: 'droplet' }],
          })
        ).status,
        204,
      );
      assert.deepEqual(
        (await c.droplet.listDroplets({ tag_name: 'contract-b' })).data.droplets.map((d) => d.id),
        [b.id],
      );
      assert.equal(
        (
          await failure(
            c.tag.tagResources({
              tag_name: 'no-such-tag',
              resources: [{ resource_id: String(b.id), resource_type: 'droplet' }],
            }),
          )
        ).status,
        404,
      );
      const byName = (await (await raw('/v2/droplets?name=contract-b')).json()) as { droplets: Droplet[] };
      assert.deepEqual(
        byName.droplets.map((d) => d.id),
        [b.id],
      );
      const page = (await c.droplet.listDroplets({ per_page: 1, page: 2 })).data;
      assert.equal(page.droplets.length, 1);
      assert.equal(page.meta?.total, 2);
      assert.ok(page.links?.pages?.first);
      assert.equal((await failure(c.droplet.getDroplet({ droplet_id: 1 }))).status, 404);
    });

    test('actions: shutdown (locked → 422), off; power_on → active; power_off → off; droplet and global action lookups', async () => {
      const sh = (await c.droplet.shutdownDroplet({ droplet_id: a.id })).data.action as Action;
      assert.equal(sh.status, 'in-progress');
      assert.equal((await getDroplet(a.id)).locked, true);
      const busy = await failure(c.droplet.powerOffDroplet({ droplet_id: a.id }));
      assert.equal(busy.status, 422);
      assertError(busy.data, 'unprocessable_entity', /pending event/);
      assert.equal(
        (
          await waitAction(
            async () =>
              (await c.droplet.getDropletAction({ droplet_id: a.id, action_id: sh.id })).data.action as Action,
          )
        ).status,
        'completed',
      );
      assert.equal((await getDroplet(a.id)).status, 'off');

      const on = (await c.droplet.powerOnDroplet({ droplet_id: a.id })).data.action as Action;
      assert.equal(
        (await waitAction(async () => (await c.action.getAction({ action_id: on.id })).data.action as Action)).status,
        'completed',
      );
      assert.equal((await getDroplet(a.id)).status, 'active');

      const off = (await c.droplet.powerOffDroplet({ droplet_id: a.id })).data.action as Action;
      assert.equal(
        (await waitAction(async () => (await c.action.getAction({ action_id: off.id })).data.action as Action)).status,
        'completed',
      );
      assert.equal((await getDroplet(a.id)).status, 'off');

      const listed = (await c.droplet.listDropletActions({ droplet_id: a.id })).data.actions.map((x) => x.type);
      assert.deepEqual(listed, ['create', 'shutdown', 'power_on', 'power_off']);
      assert.equal((await failure(c.droplet.getDropletAction({ droplet_id: b.id, action_id: sh.id }))).status, 404);
    });

    test('a system that powers itself off goes off', async () => {
      const conn = await connectSsh({
        host: b.networks.v4[0]!.ip_address,
        username: 'root',
        privateKey,
        readyTimeoutMs: 60_000,
      });
      try {
        await exec(conn, 'systemctl poweroff').catch(() => undefined); // the connection may drop first
      } finally {
        conn.end();
      }
      await waitStatus(b.id, 'off');
      const reasons = (await lab.audit())
        .filter((e) => e.type === 'droplet.off' && e.dropletId === b.id)
        .map((e) => e.reason);
      assert.equal(reasons.length, 1);
      assert.match(String(reasons[0]), /by itself/);
    });

    test('snapshot: an image in /v2/snapshots, /v2/images/{id}, /v2/droplets/{id}/snapshots; tag it; transfer', async () => {
      const act = (await c.droplet.snapshotDroplet({ droplet_id: a.id, name: 'contract-snap' })).data.action as Action;
      assert.equal(act.type, 'snapshot');
      assert.equal(
        (await waitAction(async () => (await c.action.getAction({ action_id: act.id })).data.action as Action)).status,
        'completed',
      );

      const mine = (await c.droplet.listDropletSnapshots({ droplet_id: a.id })).data.snapshots;
      assert.equal(mine.length, 1);
      snapshotId = Number(mine[0]!.id);
      assert.equal(mine[0]!.name, 'contract-snap');
      const snaps = (await c.snapshot.listSnapshots({ resource_type: 'droplet' })).data.snapshots;
      assert.ok(snaps.some((s) => s.id === String(snapshotId) && s.resource_id === String(a.id)));
      const snap = (await c.snapshot.getSnapshot({ snapshot_id: snapshotId })).data.snapshot;
      assert.deepEqual(snap.regions, ['nyc3']);
      assert.equal(snap.min_disk_size, 10);
      assert.ok(snap.size_gigabytes > 0);
      const img = (await c.image.getImage({ image_id: snapshotId })).data.image;
      assert.equal(img.type, 'snapshot');
      assert.deepEqual((await getDroplet(a.id)).snapshot_ids, [snapshotId]);

      await c.tag.createTag({ name: 'contract-image' });
      assert.equal(
        (
          await c.tag.tagResources({
            tag_name: 'contract-image',
            resources: [{ resource_id: String(snapshotId), resource_type: 'image' }],
          })
        ).status,
        204,
      );
      assert.deepEqual((await c.image.getImage({ image_id: snapshotId })).data.image.tags, ['contract-image']);
      assert.equal((await c.tag.getTag({ tag_name: 'contract-image' })).data.tag.resources.count, 1);

      // Not in ams3 yet: creating there fails; transfer adds the region after a delay.
      assert.equal(
        (await failure(c.droplet.createDroplet({ name: 'x', region: 'ams3', size: 's-1vcpu-1gb', image: snapshotId })))
          .status,
        422,
      );
      assert.equal(
        (
          await failure(
            c.droplet.createDroplet({ name: 'x', region: 'nyc3', size: 's-1vcpu-512mb-10gb', image: snapshotId + 1 }),
          )
        ).status,
        422,
      );
      const tr = (await c.image.transferImage({ image_id: snapshotId, region: 'ams3' })).data.action as Action;
      assert.equal(tr.status, 'in-progress');
      const done = await waitAction(
        async () => (await c.image.getImageAction({ image_id: snapshotId, action_id: tr.id })).data.action as Action,
      );
      assert.equal(done.status, 'completed');
      assert.deepEqual((await c.image.getImage({ image_id: snapshotId })).data.image.regions, ['nyc3', 'ams3']);
    });

    test('fault: the next snapshot action ends errored, the droplet unlocks, no image appears', async () => {
      lab.server.faults.add({ kind: 'errored-action', actionType: 'snapshot', times: 1 });
      const act = (await c.droplet.snapshotDroplet({ droplet_id: a.id, name: 'doomed' })).data.action as Action;
      assert.equal(
        (await waitAction(async () => (await c.action.getAction({ action_id: act.id })).data.action as Action)).status,
        'errored',
      );
      await waitStatus(a.id, 'off');
      assert.equal((await c.droplet.listDropletSnapshots({ droplet_id: a.id })).data.snapshots.length, 1);
    });

    test('fault: a spurious 422 pending event, then the action goes through', async () => {
      lab.server.faults.add({ kind: 'pending-event', times: 1 });
      const f = await failure(c.droplet.powerOnDroplet({ droplet_id: b.id }));
      assert.equal(f.status, 422);
      assertError(f.data, 'unprocessable_entity', /pending event/);
      const on = (await c.droplet.powerOnDroplet({ droplet_id: b.id })).data.action as Action;
      assert.equal(
        (await waitAction(async () => (await c.action.getAction({ action_id: on.id })).data.action as Action)).status,
        'completed',
      );
    });

    test('delete: by id (204, then 404), by tag; snapshot delete; nothing left on the machine', async () => {
      assert.equal((await c.droplet.deleteDroplet({ droplet_id: a.id })).status, 204);
      assert.equal((await failure(c.droplet.getDroplet({ droplet_id: a.id }))).status, 404);
      assert.equal((await c.droplet.deleteDropletsByTag({ tag_name: 'contract-test' })).status, 204);
      assert.equal((await c.droplet.listDroplets({})).data.droplets.length, 0);
      assert.equal((await c.snapshot.deleteSnapshot({ snapshot_id: snapshotId })).status, 204);
      assert.equal((await failure(c.snapshot.getSnapshot({ snapshot_id: snapshotId }))).status, 404);
      assert.equal((await failure(c.image.getImage({ image_id: snapshotId }))).status, 404);
      await lab.server.idle();
      assert.ok(isEmpty(await lab.leftovers()), JSON.stringify(await lab.leftovers()));
      const state = await lab.server.state();
      assert.equal(state.droplets.total, 0);
      assert.equal(state.snapshots, 0);
      const audit = await lab.audit();
      const count = (t: string) => audit.filter((e) => e.type === t).length;
      assert.equal(count('droplet.created'), 2);
      assert.equal(count('droplet.deleted'), 2);
      assert.equal(count('droplet.destroyed'), 2);
      assert.equal(count('image.created'), 1);
      assert.equal(count('image.deleted'), 1);
    });
  });

  describe('faults', () => {
    test('429 with retry-after (set through the control endpoint), then normal again', async () => {
      const r = await labControl(lab.server, '/_lab/faults', {
        method: 'POST',
        body: { kind: 'rate-limit', path: '^/v2/regions$', times: 1, retryAfterSeconds: 7 },
      });
      assert.equal(r.status, 201);
      const f = await failure(c.region.listRegions({}));
      assert.equal(f.status, 429);
      assert.equal(f.headers['retry-after'], '7');
      assertError(f.data, 'too_many_requests');
      assert.equal((await c.region.listRegions({})).status, 200);
    });

    test('5xx with an HTML body and with JSON; the product client retries through both', async () => {
      lab.server.faults.add({ kind: 'server-error', status: 502, html: true, path: '^/v2/sizes$', times: 1 });
      const html = await failure(c.size.listSizes({}));
      assert.equal(html.status, 502);
      assert.match(String(html.headers['content-type']), /text\/html/);
      assert.match(String(html.data), /<html>/);

      lab.server.faults.add({ kind: 'server-error', status: 503, path: '^/v2/sizes$', times: 1 });
      const json = await failure(c.size.listSizes({}));
      assert.equal(json.status, 503);
      assertError(json.data, 'server_error');

      lab.server.faults.add({ kind: 'server-error', status: 502, html: true, path: '^/v2/sizes$', times: 2 });
      const api = new DoApi({ token: lab.token, endpoint: lab.server.endpoint });
      assert.equal((await api.call('list sizes', (x) => x.size.listSizes({}))).status, 200);
    });

    test('slow responses', async () => {
      lab.server.faults.add({ kind: 'delay', delayMs: 400, path: '^/v2/regions$', times: 1 });
      const t = Date.now();
      await c.region.listRegions({});
      assert.ok(Date.now() - t >= 390);
    });

    test('a probability with a seed fires the same way every time', async () => {
      const pattern = async () => {
        await labControl(lab.server, '/_lab/faults', {
          method: 'POST',
          body: { replace: true, seed: 7, rules: [{ kind: 'server-error', path: '^/v2/regions$', probability: 0.5 }] },
        });
        const statuses: number[] = [];
        for (let i = 0; i < 16; i++) statuses.push((await raw('/v2/regions')).status);
        return statuses;
      };
      const first = await pattern();
      assert.ok(first.includes(500) && first.includes(200), first.join(','));
      assert.deepEqual(await pattern(), first);
      assert.equal((await labControl(lab.server, '/_lab/faults', { method: 'DELETE' })).status, 204);
      assert.equal(lab.server.faults.list().length, 0);
    });

    test('the hourly budget per token runs out: 429 with retry-after', async () => {
      const small = await createLabServer({
        runtime: createNspawnRuntime(),
        tokens: ['t'],
        rateLimitPerHour: 3,
        stateDir: join(lab.work, 'small'),
      });
      try {
        const get = () => fetch(`${small.endpoint}/regions`, { headers: { authorization: 'Bearer t' } });
        const remaining: string[] = [];
        for (let i = 0; i < 3; i++) remaining.push((await get()).headers.get('ratelimit-remaining')!);
        assert.deepEqual(remaining, ['2', '1', '0']);
        const r = await get();
        assert.equal(r.status, 429);
        assert.ok(Number(r.headers.get('retry-after')) > 3500);
        assertError(await r.json(), 'too_many_requests');
        assert.deepEqual(await small.contractViolations(), []);
      } finally {
        await small.close();
      }
    });
    test('the burst limit and the SSH key list limit answer 429 as documented', async () => {
      const small = await createLabServer({
        runtime: createNspawnRuntime(),
        tokens: ['t'],
        rateLimitPerMinute: 12,
        stateDir: join(lab.work, 'burst'),
      });
      try {
        const get = (p: string) => fetch(`${small.endpoint}${p}`, { headers: { authorization: 'Bearer t' } });
        // 10 listings of the SSH keys a minute; the 11th is refused, other paths are not.
        for (let i = 0; i < 10; i++) assert.equal((await get('/account/keys')).status, 200);
        const keys = await get('/account/keys');
        assert.equal(keys.status, 429);
        assert.ok(Number(keys.headers.get('retry-after')) >= 1);
        assert.equal((await get('/regions')).status, 200);
        // 11 counted so far (the refused one is not); the 12th passes, the 13th meets the burst limit.
        assert.equal((await get('/regions')).status, 200);
        const r = await get('/regions');
        assert.equal(r.status, 429);
        assert.equal(r.headers.get('ratelimit-remaining'), '0');
        assert.equal(r.headers.get('ratelimit-limit'), '5000');
        assert.ok(Number(r.headers.get('retry-after')) >= 55, r.headers.get('retry-after') ?? 'no retry-after');
        assertError(await r.json(), 'too_many_requests');
        assert.deepEqual(await small.contractViolations(), []);
      } finally {
        await small.close();
      }
    });
  });

  describe('contract self-check', () => {
    test('catches a droplet without its required fields and missing rate-limit headers', async () => {
      const found = await lab.server.contract!.checkNow({
        method: 'GET',
        path: '/v2/droplets/123',
        query: '',
        requestHeaders: {},
        requestBody: undefined,
        status: 200,
        responseHeaders: { 'content-type': 'application/json' },
        responseBody: { droplet: { id: 123, status: 'running' } },
      });
      const errors = found
        .filter((v) => v.direction === 'response')
        .flatMap((v) => v.errors)
        .join('\n');
      assert.match(errors, /required property 'name'/);
      assert.match(errors, /must be equal to one of the allowed values/);
      assert.match(errors, /ratelimit-limit is missing/);
    });

    test('catches a malformed request', async () => {
      const found = await lab.server.contract!.checkNow({
        method: 'POST',
        path: '/v2/account/keys',
        query: '',
        requestHeaders: { 'content-type': 'application/json' },
        requestBody: { name: 'no key' },
        status: 422,
        responseHeaders: { 'ratelimit-limit': '1', 'ratelimit-remaining': '1', 'ratelimit-reset': '1' },
        responseBody: { id: 'unprocessable_entity', message: 'x' },
      });
      assert.deepEqual(
        found.map((v) => v.direction),
        ['request'],
      );
    });

    test("every exchange of this test matched DigitalOcean's OpenAPI document", async () => {
      const violations = await lab.server.contractViolations();
      const responses = violations.filter((v) => v.direction === 'response');
      assert.deepEqual(responses, [], JSON.stringify(responses, null, 2));
      const unexpected = violations.filter(
        (v) => v.direction === 'request' && !deliberatelyBad.some((b) => b.method === v.method && b.path.test(v.path)),
      );
      assert.deepEqual(unexpected, [], JSON.stringify(unexpected, null, 2));
      const state = await lab.server.state();
      const viaHttp = (await (await labControl(lab.server, '/_lab/state')).json()) as typeof state;
      assert.equal(viaHttp.contract.enabled, true);
      assert.ok('violations' in viaHttp.contract && viaHttp.contract.violations === violations.length);
      assert.equal(state.contract.enabled, true);
      assert.ok('checked' in state.contract && state.contract.checked > 50);
      console.log(
        `contract: ${state.contract.checked} exchanges checked; flagged on purpose: ${violations.map((v) => `${v.method} ${v.path}: ${v.errors[0]}`).join(' | ')}`,
      );
    });

    test('the audit log holds no token', async () => {
      const text = await readFile(lab.auditFile, 'utf8');
      assert.ok(!text.includes(lab.token));
      assert.ok(!/authorization|bearer/i.test(text));
      assert.ok((await lab.audit()).some((e) => e.type === 'request' && e.status === 429));
    });
  });
});
