/**
 * The lab's Vendor API (Marketplace listings): PATCH an app's image, follow its review with GET,
 * set apps up through /_lab/vendor-apps. Runs without root: the Vendor API needs no droplets, so
 * the lab gets a small in-memory DropletRuntime, and the snapshot the updates point at is made the
 * way a builder makes one — create a droplet, snapshot it through /v2 — so it is a real snapshot
 * of the lab's state, not a record slipped in. Every exchange goes through the lab's self-check:
 * /v2 against DigitalOcean's OpenAPI document, the Vendor API against vendor-contract.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLabServer, type LabServer } from '../../lab/api/server';
import { vendorAppSchema, vendorErrorSchema, type VendorApp } from '../../lab/api/vendor-contract';
import type { DropletExit, DropletRuntime, RunningDroplet } from '../../lab/droplets/runtime';
import { setTimeout as sleep } from 'node:timers/promises';

const TOKEN = `dop_v1_vendor_test_${process.pid}`;
const PREFIX = '/api/v1/vendor-portal';

let server: LabServer;
let work = '';
let auditFile = '';
let snapshotId = 0;
let snapshotName = '';
/** Requests this test sends off-contract on purpose: the only request violations allowed. */
const deliberatelyBad: Array<{ method: string; path: string }> = [];

/** Boots at once, snapshots to a small file: enough for /v2 to create a droplet and snapshot it. */
function memoryRuntime(): DropletRuntime {
  let n = 0;
  return {
    availableDistributions: () => Promise.resolve(['debian-12-x64']),
    create: (spec) => {
      n++;
      let exit: (e: DropletExit) => void = () => undefined;
      const boot = () => {
        const exited = new Promise<DropletExit>((r) => (exit = r));
        return { booted: Promise.resolve(), exited };
      };
      let current = boot();
      const m: RunningDroplet = {
        machineName: spec.machineName,
        ipv4: `169.254.100.${n}`,
        get booted() {
          return current.booted;
        },
        get exited() {
          return current.exited;
        },
        shutdown: () => Promise.resolve(exit({ reason: 'poweroff', code: 0 })),
        powerOff: () => Promise.resolve(exit({ reason: 'killed', code: null })),
        powerOn: () => {
          current = boot();
          return Promise.resolve();
        },
        snapshot: async (archivePath) => {
          await writeFile(archivePath, 'not a real root filesystem');
          return { sizeBytes: 26 };
        },
        destroy: () => Promise.resolve(exit({ reason: 'killed', code: null })),
      };
      return Promise.resolve(m);
    },
  };
}

async function call(method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<{ status: number; data: unknown; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${server.origin}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await r.text();
  return { status: r.status, data: text ? (JSON.parse(text) as unknown) : undefined, headers: r.headers };
}

const patchApp = (id: string, body: unknown) => call('PATCH', `${PREFIX}/apps/${id}`, body);
const getApp = async (id: string) => {
  const r = await call('GET', `${PREFIX}/apps/${id}`);
  assert.equal(r.status, 200, JSON.stringify(r.data));
  return vendorAppSchema.parse(r.data);
};

function assertError(r: { status: number; data: unknown }, status: number, id: string, message?: RegExp): void {
  assert.equal(r.status, status, JSON.stringify(r.data));
  const e = vendorErrorSchema.parse(r.data);
  assert.equal(e.id, id);
  assert.match(e.request_id, /^[0-9a-f-]{36}$/);
  if (message) assert.match(e.message, message);
}

async function audit(): Promise<Array<Record<string, unknown> & { type: string }>> {
  return (await readFile(auditFile, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown> & { type: string });
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'vendor-api-'));
  auditFile = join(work, 'audit.jsonl');
  server = await createLabServer({
    runtime: memoryRuntime(),
    tokens: [TOKEN],
    auditFile,
    stateDir: join(work, 'api'),
    machinePrefix: `t-vendor${process.pid}-`,
    contractCheck: true,
    timing: { minActionMs: 10 },
    vendorApps: [
      { id: 'app-approve', name: 'Acme Approved', review: { pendingMs: 300, inReviewMs: 300 } },
      { id: 'app-reject', name: 'Acme Rejected', review: { pendingMs: 150, inReviewMs: 150, outcome: 'rejected', reason: 'Image failed validation: ufw is not enabled' } },
    ],
  });

  // A snapshot in "the team's account", made through /v2 like any build does.
  const created = await call('POST', '/v2/droplets', { name: 'vendor-build', region: 'nyc3', size: 's-1vcpu-512mb-10gb', image: 'debian-12-x64' });
  assert.equal(created.status, 202, JSON.stringify(created.data));
  const dropletId = (created.data as { droplet: { id: number } }).droplet.id;
  await waitFor('droplet active', async () => {
    const d = (await call('GET', `/v2/droplets/${dropletId}`)).data as { droplet: { status: string; locked: boolean } };
    return d.droplet.status === 'active' && !d.droplet.locked ? true : undefined;
  });
  const snap = await call('POST', `/v2/droplets/${dropletId}/actions`, { type: 'snapshot', name: 'acme-1.2.3-20250101' });
  assert.equal(snap.status, 201, JSON.stringify(snap.data));
  const actionId = (snap.data as { action: { id: number } }).action.id;
  await waitFor('snapshot action', async () => {
    const a = (await call('GET', `/v2/actions/${actionId}`)).data as { action: { status: string } };
    assert.notEqual(a.action.status, 'errored');
    return a.action.status === 'completed' ? true : undefined;
  });
  const snaps = (await call('GET', `/v2/droplets/${dropletId}/snapshots`)).data as { snapshots: Array<{ id: number; name: string }> };
  snapshotId = snaps.snapshots[0]!.id;
  snapshotName = snaps.snapshots[0]!.name;
  assert.equal(snapshotName, 'acme-1.2.3-20250101');
});

after(async () => {
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('lab Vendor API', () => {
  test('401 without or with a wrong token, with DigitalOcean\'s error body and rate-limit headers', async () => {
    for (const token of [null, 'wrong-token']) {
      const r = await call('GET', `${PREFIX}/apps/app-approve`, undefined, token);
      assertError(r, 401, 'unauthorized');
      for (const h of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']) assert.match(r.headers.get(h) ?? '', /^\d+$/, h);
    }
    const p = await call('PATCH', `${PREFIX}/apps/app-approve`, { imageId: snapshotId }, null);
    assertError(p, 401, 'unauthorized');
  });

  test('404 for an unknown app, on GET and PATCH', async () => {
    assertError(await call('GET', `${PREFIX}/apps/no-such-app`), 404, 'not_found');
    assertError(await patchApp('no-such-app', { imageId: snapshotId }), 404, 'not_found');
  });

  test('400 for a bad body: imageId missing, not an integer, a list that is not one', async () => {
    const bad: unknown[] = [{}, { imageId: 'abc' }, { imageId: 1.5 }, { imageId: snapshotId, softwareIncluded: 'nginx' }, [1, 2]];
    for (const body of bad) {
      deliberatelyBad.push({ method: 'PATCH', path: `${PREFIX}/apps/app-approve` });
      const r = await patchApp('app-approve', body);
      assertError(r, 400, 'bad_request');
    }
    assertError(await patchApp('app-approve', { imageId: 'abc' }), 400, 'bad_request', /imageId must be an integer/);
    // Nothing changed.
    assert.equal((await getApp('app-approve')).status.value, 'approved');
  });

  test('400 for an image that is not a snapshot of the account, naming it', async () => {
    assertError(await patchApp('app-approve', { imageId: 999_999_999 }), 400, 'bad_request', /999999999/);
    // A distribution image exists, but it is not the team's snapshot.
    const debian = ((await call('GET', '/v2/images/debian-12-x64')).data as { image: { id: number } }).image.id;
    assertError(await patchApp('app-approve', { imageId: debian }), 400, 'bad_request', new RegExp(String(debian)));
  });

  test('update → 200 pending; 400 while pending; GET follows pending → in review → approved', async () => {
    const before = await getApp('app-approve');
    assert.equal(before.status.value, 'approved');
    const sent = Date.now();
    const r = await patchApp('app-approve', {
      imageId: snapshotId,
      reasonForUpdate: 'nginx 1.27, security fixes',
      version: '1.2.3',
      osVersion: 'Debian 12',
      softwareIncluded: [{ name: 'nginx', version: '1.27.0', licenseType: 'BSD-2-Clause', website: 'https://nginx.org' }],
    });
    assert.equal(r.status, 200, JSON.stringify(r.data));
    const app = vendorAppSchema.parse(r.data);
    assert.equal(app.id, 'app-approve');
    assert.equal(app.name, 'Acme Approved');
    assert.equal(app.status.value, 'pending');
    assert.ok(Math.abs(Date.parse(app.status.lastUpdated) - sent) < 2000);
    assert.equal(typeof app.status.modifiedBy, 'string');
    assert.deepEqual(app.customData, {
      version: '1.2.3',
      osVersion: 'Debian 12',
      imageId: snapshotId,
      imageName: snapshotName,
      reasonForUpdate: 'nginx 1.27, security fixes',
      softwareIncluded: [{ name: 'nginx', version: '1.27.0', licenseType: 'BSD-2-Clause', website: 'https://nginx.org' }],
    });

    assertError(await patchApp('app-approve', { imageId: snapshotId }), 400, 'bad_request', /pending.*cannot be updated now/);

    const seen: Array<{ value: string; lastUpdated: string }> = [];
    const final = await waitFor('the review to end', async () => {
      const a = await getApp('app-approve');
      if (seen.at(-1)?.value !== a.status.value) seen.push({ value: a.status.value, lastUpdated: a.status.lastUpdated });
      return a.status.value === 'approved' ? a : undefined;
    });
    assert.deepEqual(
      seen.map((s) => s.value),
      ['pending', 'in review', 'approved'],
    );
    // lastUpdated is when each step happened on the review's clock, not when it was read.
    const pendingAt = Date.parse(app.status.lastUpdated);
    assert.equal(Date.parse(seen[1]!.lastUpdated) - pendingAt, 300);
    assert.equal(Date.parse(seen[2]!.lastUpdated) - pendingAt, 600);
    assert.equal(final.status.reason, '');
    assert.equal(final.customData.imageId, snapshotId);
  });

  test('null leaves osVersion and softwareIncluded, "" and [] clear them', async () => {
    const keep = vendorAppSchema.parse((await patchApp('app-reject', { imageId: snapshotId, version: '2.0.0', osVersion: 'Debian 12', softwareIncluded: [{ name: 'redis', version: '7' }] })).data);
    assert.equal(keep.customData.osVersion, 'Debian 12');
    // Forced to the end of its review so it can be updated again at once.
    assert.equal((await call('POST', '/_lab/vendor-apps/app-reject', { status: 'approved' })).status, 200);
    const kept = vendorAppSchema.parse((await patchApp('app-reject', { imageId: snapshotId, osVersion: null, softwareIncluded: null })).data);
    assert.equal(kept.customData.osVersion, 'Debian 12');
    assert.deepEqual(kept.customData.softwareIncluded, [{ name: 'redis', version: '7' }]);
    assert.equal(kept.customData.version, '2.0.0');
    await call('POST', '/_lab/vendor-apps/app-reject', { status: 'approved' });
    const cleared = vendorAppSchema.parse((await patchApp('app-reject', { imageId: snapshotId, osVersion: '', softwareIncluded: [] })).data);
    assert.equal(cleared.customData.osVersion, '');
    assert.deepEqual(cleared.customData.softwareIncluded, []);
  });

  test('a rejected review ends `rejected` with its reason, and the app can be updated again', async () => {
    const rejected = await waitFor('rejection', async () => {
      const a = await getApp('app-reject');
      return a.status.value === 'rejected' ? a : undefined;
    });
    assert.equal(rejected.status.reason, 'Image failed validation: ufw is not enabled');
    const again = await patchApp('app-reject', { imageId: snapshotId, reasonForUpdate: 'ufw enabled' });
    assert.equal(again.status, 200);
    assert.equal(vendorAppSchema.parse(again.data).status.value, 'pending');
    assert.equal(vendorAppSchema.parse(again.data).status.reason, '');
  });

  test('lab control: create, list, get, force `in review` (PATCH → 400), bad input', async () => {
    const created = await call('POST', '/_lab/vendor-apps', { name: 'Made by the test', review: { pendingMs: 50, inReviewMs: 50, outcome: 'rejected' } });
    assert.equal(created.status, 201);
    const app = created.data as VendorApp & { lab: { review: { pendingMs: number; outcome: string }; running: unknown } };
    assert.match(app.id, /^[0-9a-f-]{36}$/);
    assert.equal(app.status.value, 'approved');
    assert.deepEqual(app.lab.review, { pendingMs: 50, inReviewMs: 50, outcome: 'rejected', reason: '' });
    assert.equal(app.lab.running, null);
    // The Vendor API shows the same app, without the lab's part.
    const viaApi = await getApp(app.id);
    assert.equal(viaApi.name, 'Made by the test');
    assert.ok(!('lab' in ((await call('GET', `${PREFIX}/apps/${app.id}`)).data as object)));

    const list = (await call('GET', '/_lab/vendor-apps')).data as { apps: Array<{ id: string }> };
    assert.deepEqual(list.apps.map((a) => a.id).sort(), ['app-approve', 'app-reject', app.id].sort());
    assert.equal(((await call('GET', `/_lab/vendor-apps/${app.id}`)).data as { id: string }).id, app.id);

    const forced = await call('POST', `/_lab/vendor-apps/${app.id}`, { status: 'in review' });
    assert.equal((forced.data as VendorApp).status.value, 'in review');
    assertError(await patchApp(app.id, { imageId: snapshotId }), 400, 'bad_request', /in review.*cannot be updated now/);
    // A forced status stays: no review runs.
    await sleep(150);
    assert.equal((await getApp(app.id)).status.value, 'in review');

    // A rejection without a configured reason still says why.
    await call('POST', `/_lab/vendor-apps/${app.id}`, { status: 'approved' });
    assert.equal((await patchApp(app.id, { imageId: snapshotId })).status, 200);
    const done = await waitFor('rejection', async () => {
      const a = await getApp(app.id);
      return a.status.value === 'rejected' ? a : undefined;
    });
    assert.ok(done.status.reason.length > 0);

    assertError(await call('POST', '/_lab/vendor-apps', { name: 'dup', id: 'app-approve' }), 400, 'bad_request', /exists/);
    assertError(await call('POST', '/_lab/vendor-apps', { status: 'in-review', name: 'typo' }), 400, 'bad_request', /status/);
    assertError(await call('POST', '/_lab/vendor-apps', {}), 400, 'bad_request', /name/);
    assertError(await call('POST', '/_lab/vendor-apps/nope', { status: 'approved' }), 404, 'not_found');

    const state = await server.state();
    assert.ok(state.vendorApps.some((a) => a.id === 'app-approve' && a.status === 'approved' && a.imageId === snapshotId));
  });

  test('faults and rate-limit headers apply to the Vendor API as to /v2', async () => {
    server.faults.add({ kind: 'server-error', status: 503, path: '^/api/v1/vendor-portal/', times: 1 });
    assertError(await call('GET', `${PREFIX}/apps/app-approve`), 503, 'server_error');
    const ok = await call('GET', `${PREFIX}/apps/app-approve`);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('ratelimit-limit'), '5000');
  });

  test('the audit log: each update, each status change once, and no token', async () => {
    const text = await readFile(auditFile, 'utf8');
    assert.ok(!text.includes(TOKEN));
    assert.ok(!/authorization|bearer/i.test(text));
    const events = await audit();
    const updates = events.filter((e) => e.type === 'vendor.update' && e.appId === 'app-approve');
    assert.deepEqual(
      updates.map((e) => [e.imageId, e.version]),
      [[snapshotId, '1.2.3']],
    );
    const transitions = events.filter((e) => e.type === 'vendor.review' && e.appId === 'app-approve').map((e) => `${String(e.from)}→${String(e.to)} (${String(e.cause)})`);
    // GET was polled many times; each change is there once.
    assert.deepEqual(transitions, ['approved→pending (update)', 'pending→in review (review)', 'in review→approved (review)']);
    const rejection = events.find((e) => e.type === 'vendor.review' && e.appId === 'app-reject' && e.to === 'rejected');
    assert.equal(rejection?.reason, 'Image failed validation: ufw is not enabled');
    assert.ok(events.some((e) => e.type === 'request' && e.method === 'PATCH' && e.path === `${PREFIX}/apps/app-approve` && e.status === 200));
    assert.ok(events.some((e) => e.type === 'vendor.app_created' && e.appId === 'app-reject'));
  });

  test('the self-check: no response off-contract, requests off-contract only where sent so on purpose', async () => {
    const violations = await server.contractViolations();
    const responses = violations.filter((v) => v.direction === 'response');
    assert.deepEqual(responses, [], JSON.stringify(responses, null, 2));
    const unexpected = violations.filter((v) => v.direction === 'request' && !deliberatelyBad.some((b) => b.method === v.method && b.path === v.path));
    assert.deepEqual(unexpected, [], JSON.stringify(unexpected, null, 2));
    // The bad bodies were flagged (not skipped), and none as "not an operation of DigitalOcean's API".
    assert.ok(violations.filter((v) => v.path.startsWith(PREFIX)).length >= 5);
    assert.ok(!violations.some((v) => v.errors.some((e) => /not an operation/.test(e))));
    const state = await server.state();
    assert.ok('checked' in state.contract && state.contract.checked >= 40, JSON.stringify(state.contract));
    assert.equal('loadError' in state.contract ? state.contract.loadError : undefined, undefined);
  });

  test('the self-check bites: an app without status, an unknown field, an undocumented operation', async () => {
    const base = { query: '', requestHeaders: {}, responseHeaders: { 'content-type': 'application/json' } };
    const badResponse = await server.contract!.checkNow({
      ...base,
      method: 'PATCH',
      path: `${PREFIX}/apps/x`,
      requestBody: { imageId: 1, osVersoin: 'typo' },
      status: 200,
      responseBody: { id: 'x', name: 'x', customData: {} },
    });
    const req = badResponse.find((v) => v.direction === 'request');
    const res = badResponse.find((v) => v.direction === 'response');
    assert.match(req?.errors.join('\n') ?? '', /osVersoin/);
    assert.match(res?.errors.join('\n') ?? '', /\/status/);
    const undocumented = await server.contract!.checkNow({ ...base, method: 'DELETE', path: `${PREFIX}/apps/x`, requestBody: undefined, status: 405, responseBody: {} });
    assert.match(undocumented[0]?.errors[0] ?? '', /not an operation of DigitalOcean's Vendor API/);
    const deprecated = await server.contract!.checkNow({ ...base, method: 'PATCH', path: `${PREFIX}/apps/x/versions/1.0`, requestBody: {}, status: 404, responseBody: {} });
    assert.equal(deprecated[0]?.direction, 'request');
  });
});
