/**
 * The lab's Vendor API (Marketplace listings) against its documentation
 * (shared/reference/marketplace-publishing.md): the PATCH's 200 body, its three 400 causes, 403
 * for an invalid token or another team's app or image, 404, the null / "" / [] rules, the
 * deprecated …/versions/{v} path; the reads DigitalOcean's tools use (the team's app list, and a
 * single-app GET the lab can turn off); the camel-case review statuses; the record of every body
 * received. Runs without root: the Vendor API needs no droplets, so the lab gets a small
 * in-memory DropletRuntime, and the snapshots the updates point at are made the way a builder
 * makes one — create a droplet, snapshot it through /v2 — by a token of the team whose account
 * then holds them. Every exchange goes through the lab's self-check: /v2 against DigitalOcean's
 * OpenAPI document, the Vendor API against vendor-contract.ts (written from the documentation).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VENDOR_MESSAGES } from '../../lab/api/routes/vendor';
import { createLabServer, type LabServer, type LabServerOptions } from '../../lab/api/server';
import {
  vendorAppListSchema,
  vendorAppSchema,
  vendorErrorSchema,
  vendorListedAppSchema,
  type VendorListedApp,
} from '../../lab/api/vendor-contract';
import { controlHeaders } from '../support/lab-control';
import { memoryRuntime } from '../support/memory-runtime';

const TOKEN = `dop_v1_vendor_test_${process.pid}`;
/** A token of another team: its snapshots are in that team's account, its apps are its own. */
const OTHER_TOKEN = `dop_v1_vendor_other_${process.pid}`;
const OTHER_TEAM = 'other-team';
const PREFIX = '/api/v1/vendor-portal';

let server: LabServer;
/** Extra servers for the options (single-app GET on or 405, deprecated path 404). */
const extra: LabServer[] = [];
let work = '';
let auditFile = '';
let snapshotId = 0;
let snapshotName = '';
/** Made by OTHER_TOKEN: in the other team's account. */
let otherTeamSnapshot = 0;
/** Made by TOKEN, then moved to the other team through /_lab/images. */
let movedSnapshot = 0;
/** Requests this test sends off-contract on purpose: the only request violations allowed. */
const deliberatelyBad: Array<{ method: string; path: string }> = [];

async function call(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = TOKEN,
  on: LabServer = server,
): Promise<{ status: number; data: unknown; headers: Headers }> {
  // The lab's own endpoints take its control token; a test of /v2 or the Vendor API passes its own.
  const headers: Record<string, string> = path.startsWith('/_lab/') ? controlHeaders(on) : {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const init = { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) };
  const r = await fetch(`${on.origin}${path}`, init);
  const text = await r.text();
  return { status: r.status, data: text ? (JSON.parse(text) as unknown) : undefined, headers: r.headers };
}

const patchApp = (id: string, body: unknown, token: string | null = TOKEN) =>
  call('PATCH', `${PREFIX}/apps/${id}`, body, token);

/** The app as the documented-by-use read shows it: found in the team's list. */
async function listed(id: string, token = TOKEN): Promise<VendorListedApp> {
  const r = await call('GET', `${PREFIX}/apps`, undefined, token);
  assert.equal(r.status, 200, JSON.stringify(r.data));
  const app = vendorAppListSchema.parse(r.data).apps.find((a) => a.appId === id);
  assert.ok(app, `app ${id} is in the list`);
  return app;
}

/** The lab's own view (what it stores, and the bodies it received). */
async function labApp(id: string): Promise<VendorListedApp & { lab: { team: string; received: Received[] } }> {
  const r = await call('GET', `/_lab/vendor-apps/${id}`, undefined, null);
  assert.equal(r.status, 200, JSON.stringify(r.data));
  return r.data as VendorListedApp & { lab: { team: string; received: Received[] } };
}
interface Received {
  method: string;
  path: string;
  status: number;
  body: unknown;
}

const setStatus = async (id: string, status: string) =>
  assert.equal((await call('POST', `/_lab/vendor-apps/${id}`, { status }, null)).status, 200);

function assertError(
  r: { status: number; data: unknown },
  status: number,
  id: string,
  message?: RegExp | string,
): void {
  assert.equal(r.status, status, JSON.stringify(r.data));
  const e = vendorErrorSchema.parse(r.data);
  assert.equal(e.id, id);
  assert.match(e.request_id, /^[0-9a-f-]{36}$/);
  if (typeof message === 'string') assert.equal(e.message, message);
  else if (message) assert.match(e.message, message);
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
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A snapshot made through /v2 with `token`: it lands in the account of that token's team. */
async function makeSnapshot(token: string, name: string): Promise<{ id: number; name: string }> {
  const size = 's-1vcpu-512mb-10gb';
  const droplet = { name: `vendor-${name}`, region: 'nyc3', size, image: 'debian-12-x64' };
  const created = await call('POST', '/v2/droplets', droplet, token);
  assert.equal(created.status, 202, JSON.stringify(created.data));
  const dropletId = (created.data as { droplet: { id: number } }).droplet.id;
  await waitFor('droplet active', async () => {
    const d = (await call('GET', `/v2/droplets/${dropletId}`, undefined, token)).data as {
      droplet: { status: string; locked: boolean };
    };
    return d.droplet.status === 'active' && !d.droplet.locked ? true : undefined;
  });
  const snap = await call('POST', `/v2/droplets/${dropletId}/actions`, { type: 'snapshot', name }, token);
  assert.equal(snap.status, 201, JSON.stringify(snap.data));
  const actionId = (snap.data as { action: { id: number } }).action.id;
  await waitFor('snapshot action', async () => {
    const a = (await call('GET', `/v2/actions/${actionId}`, undefined, token)).data as { action: { status: string } };
    assert.notEqual(a.action.status, 'errored');
    return a.action.status === 'completed' ? true : undefined;
  });
  const path = `/v2/droplets/${dropletId}/snapshots`;
  const snaps = (await call('GET', path, undefined, token)).data as { snapshots: Array<{ id: number; name: string }> };
  assert.equal(snaps.snapshots[0]!.name, name);
  return snaps.snapshots[0]!;
}

async function extraServer(opts: Partial<LabServerOptions>): Promise<LabServer> {
  const s = await createLabServer({
    runtime: memoryRuntime(),
    tokens: [TOKEN],
    stateDir: join(work, `api-${extra.length}`),
    machinePrefix: `t-vendor${process.pid}x${extra.length}-`,
    contractCheck: true,
    vendorApps: [
      { id: 'app-1', name: 'One' },
      { id: 'app-foreign', name: 'Theirs', team: OTHER_TEAM },
    ],
    ...opts,
  });
  extra.push(s);
  return s;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'vendor-api-'));
  auditFile = join(work, 'audit.jsonl');
  server = await createLabServer({
    runtime: memoryRuntime(),
    tokens: [TOKEN],
    tokenTeams: { [OTHER_TOKEN]: OTHER_TEAM },
    auditFile,
    stateDir: join(work, 'api'),
    machinePrefix: `t-vendor${process.pid}-`,
    contractCheck: true,
    timing: { minActionMs: 10 },
    vendorApps: [
      {
        id: 'app-approve',
        name: 'Acme Approved',
        version: 7,
        review: { pendingMs: 300, inReviewMs: 300 },
        emergencyContacts: [{ name: 'Ops', email: 'ops@acme.test' }],
        customData: {
          version: '1.2.2',
          description: 'Acme on Debian',
          summary: 'Acme',
          imageLabel: 'Acme 1.2',
          imageId: 1234,
          imageName: 'acme-1.2.2',
        },
      },
      {
        id: 'app-reject',
        name: 'Acme Rejected',
        review: {
          pendingMs: 150,
          inReviewMs: 150,
          outcome: 'rejected',
          reason: 'Image failed validation: ufw is not enabled',
        },
      },
      {
        id: 'app-fields',
        name: 'Acme Fields',
        customData: {
          version: '1.0',
          osVersion: 'Debian 11',
          reasonForUpdate: 'first',
          softwareIncluded: [{ name: 'redis', version: '6' }],
        },
      },
      { id: 'app-k8s', name: 'Acme on Kubernetes', type: 'kubernetes' },
      { id: 'app-foreign', name: 'Not Ours', team: OTHER_TEAM },
    ],
  });
  ({ id: snapshotId, name: snapshotName } = await makeSnapshot(TOKEN, 'acme-1.2.3-20250101'));
  otherTeamSnapshot = (await makeSnapshot(OTHER_TOKEN, 'theirs-1.0')).id;
  movedSnapshot = (await makeSnapshot(TOKEN, 'acme-moved')).id;
  const moved = await call('POST', `/_lab/images/${movedSnapshot}`, { team: OTHER_TEAM }, null);
  assert.equal(moved.status, 200, JSON.stringify(moved.data));
});

after(async () => {
  await server?.close();
  for (const s of extra) await s.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('lab Vendor API', () => {
  test('401 without a token (the page is silent), 403 for an invalid one (documented); /v2 keeps its 401', async () => {
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { imageId: snapshotId }],
    ] as const) {
      const r = await call(method, `${PREFIX}/apps${method === 'PATCH' ? '/app-approve' : ''}`, body, null);
      assertError(r, 401, 'unauthorized');
      for (const h of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']) {
        assert.match(r.headers.get(h) ?? '', /^\d+$/, h);
      }
      const wrong = await call(
        method,
        `${PREFIX}/apps${method === 'PATCH' ? '/app-approve' : ''}`,
        body,
        'wrong-token',
      );
      assertError(wrong, 403, 'forbidden', VENDOR_MESSAGES.invalidToken);
    }
    assertError(await call('GET', '/v2/droplets', undefined, 'wrong-token'), 401, 'unauthorized');
    assert.equal((await listed('app-approve')).status.value, 'approved', 'nothing changed');
  });

  test("403 for another team's app, either way; 404 for an unknown app", async () => {
    const before = await labApp('app-foreign');
    assertError(
      await patchApp('app-foreign', { imageId: snapshotId }),
      403,
      'forbidden',
      'app app-foreign does not belong to your team',
    );
    const theirs = await patchApp('app-approve', { imageId: otherTeamSnapshot }, OTHER_TOKEN);
    assertError(theirs, 403, 'forbidden', 'app app-approve does not belong to your team');
    assert.equal((await labApp('app-foreign')).version, before.version);
    assertError(await patchApp('no-such-app', { imageId: snapshotId }), 404, 'not_found');
  });

  test("403 for an image not in the team's account: another team's, moved away, unknown, a distribution", async () => {
    const debian = ((await call('GET', '/v2/images/debian-12-x64')).data as { image: { id: number } }).image.id;
    for (const imageId of [otherTeamSnapshot, movedSnapshot, 999_999_999, debian]) {
      const r = await patchApp('app-approve', { imageId });
      assertError(r, 403, 'forbidden', `image ${imageId} is not a snapshot in your team's account`);
    }
    // The other team may use its own snapshot for its own app.
    const ok = await patchApp('app-foreign', { imageId: otherTeamSnapshot }, OTHER_TOKEN);
    assert.equal(ok.status, 200, JSON.stringify(ok.data));
    assert.equal(vendorAppSchema.parse(ok.data).customData.imageId, otherTeamSnapshot);
    const app = await listed('app-approve');
    assert.equal(app.status.value, 'approved');
    assert.equal(app.version, 7);
  });

  test('400, documented cause 1: imageId missing (absent, null, no body); malformed bodies also 400', async () => {
    for (const body of [{}, { imageId: null, version: '2' }, undefined]) {
      deliberatelyBad.push({ method: 'PATCH', path: `${PREFIX}/apps/app-approve` });
      assertError(await patchApp('app-approve', body), 400, 'bad_request', 'imageId is required');
    }
    const malformed: Array<[unknown, string]> = [
      [{ imageId: 'abc' }, 'imageId must be an integer'],
      [{ imageId: 1.5 }, 'imageId must be an integer'],
      [{ imageId: snapshotId, osVersion: 12 }, 'osVersion must be a string'],
      [
        { imageId: snapshotId, softwareIncluded: 'nginx' },
        'softwareIncluded must be a list of {name, version, …} with string values',
      ],
      [[1, 2], 'request body must be a JSON object'],
    ];
    for (const [body, message] of malformed) {
      deliberatelyBad.push({ method: 'PATCH', path: `${PREFIX}/apps/app-approve` });
      assertError(await patchApp('app-approve', body), 400, 'bad_request', message);
    }
    assert.equal((await listed('app-approve')).version, 7, 'nothing changed');
  });

  test('400, documented cause 2: the app is not a droplet 1-click', async () => {
    const r = await patchApp('app-k8s', { imageId: snapshotId });
    assertError(r, 400, 'bad_request', VENDOR_MESSAGES.notDroplet('kubernetes'));
    assert.match(vendorErrorSchema.parse(r.data).message, /^app is not a droplet 1-click app/);
    assert.equal((await listed('app-k8s')).type, 'kubernetes');
    assert.equal((await listed('app-k8s')).status.value, 'approved');
  });

  test('200: the documented app object, unwrapped; 400 cause 3 while pending; the list follows', async () => {
    const sent = Date.now();
    const software = [{ name: 'nginx', version: '1.27.0', licenseType: 'BSD-2-Clause', website: 'https://nginx.org' }];
    const r = await patchApp('app-approve', {
      imageId: snapshotId,
      reasonForUpdate: 'nginx 1.27, security fixes',
      version: '1.2.3',
      osVersion: 'Debian 12',
      softwareIncluded: software,
    });
    assert.equal(r.status, 200, JSON.stringify(r.data));
    const raw = r.data as Record<string, unknown>;
    assert.deepEqual(Object.keys(raw).sort(), [
      'appId',
      'customData',
      'emergencyContacts',
      'name',
      'status',
      'type',
      'version',
    ]);
    const app = vendorAppSchema.parse(r.data);
    assert.equal(app.appId, 'app-approve');
    assert.equal(app.name, 'Acme Approved');
    assert.equal(app.version, 8, "the listing's revision, a number, +1 per accepted update");
    assert.equal(app.type, 'droplet');
    assert.equal(app.status.value, 'pending');
    assert.equal(typeof app.status.lastUpdated, 'number');
    assert.ok(Math.abs(app.status.lastUpdated - sent) < 2000, 'epoch milliseconds');
    assert.equal(app.status.modifiedBy, 'Vendor API');
    assert.equal(app.status.reason, '');
    assert.deepEqual(app.emergencyContacts, [{ name: 'Ops', email: 'ops@acme.test' }]);
    assert.deepEqual(raw.customData, {
      version: '1.2.3',
      osVersion: 'Debian 12',
      description: 'Acme on Debian',
      summary: 'Acme',
      imageLabel: 'Acme 1.2',
      imageId: snapshotId,
      imageName: snapshotName,
      imageDescription: '',
      reasonForUpdate: 'nginx 1.27, security fixes',
      softwareIncluded: software,
    });

    // Pending for 300 ms: on a loaded machine the review may already be `inReview` — the same 400.
    const busy = await patchApp('app-approve', { imageId: snapshotId });
    assertError(busy, 400, 'bad_request', /^app is pending or in review \(status: (pending|inReview)\): it can be/);
    assert.ok(
      [VENDOR_MESSAGES.busy('pending'), VENDOR_MESSAGES.busy('inReview')].includes(
        vendorErrorSchema.parse(busy.data).message,
      ),
    );

    const pending = await listed('app-approve');
    assert.equal(pending.currentVersion?.version, 7, 'the live revision stays until approved');
    assert.equal(pending.currentVersion?.customData.imageId, 1234);
    assert.equal(pending.unpublishedVersion?.version, 8);
    assert.equal(pending.unpublishedVersion?.customData.imageId, snapshotId);

    const seen: Array<{ value: string; lastUpdated: number }> = [];
    const final = await waitFor('the review to end', async () => {
      const a = await listed('app-approve');
      if (seen.at(-1)?.value !== a.status.value)
        seen.push({ value: a.status.value, lastUpdated: a.status.lastUpdated });
      // (The busy 400 while `inReview` is checked on a forced status, in the lab control test: here
      // the review could end between this read and a PATCH, and the PATCH would be taken.)
      return a.status.value === 'approved' ? a : undefined;
    });
    assert.deepEqual(
      seen.map((s) => s.value),
      ['pending', 'inReview', 'approved'],
    );
    // lastUpdated is when each step happened on the review's clock, not when it was read.
    assert.equal(seen[1]!.lastUpdated - app.status.lastUpdated, 300);
    assert.equal(seen[2]!.lastUpdated - app.status.lastUpdated, 600);
    assert.equal(final.status.reason, '');
    assert.equal(final.version, 8);
    assert.equal(final.currentVersion?.version, 8, 'approved: the revision is live');
    assert.equal(final.currentVersion?.customData.imageId, snapshotId);
    assert.equal(final.unpublishedVersion, null);
  });

  test("the list holds the team's apps only, in camel case, each as documented plus its versions", async () => {
    const mine = vendorAppListSchema.parse((await call('GET', `${PREFIX}/apps`)).data).apps;
    const ids = mine.map((a) => a.appId).sort();
    assert.ok(!ids.includes('app-foreign'));
    assert.deepEqual(
      ids.filter((id) => id.startsWith('app-')),
      ['app-approve', 'app-fields', 'app-k8s', 'app-reject'],
    );
    const theirs = vendorAppListSchema.parse((await call('GET', `${PREFIX}/apps`, undefined, OTHER_TOKEN)).data).apps;
    assert.deepEqual(
      theirs.map((a) => a.appId),
      ['app-foreign'],
    );
    for (const a of mine) assert.ok(['pending', 'inReview', 'approved', 'rejected'].includes(a.status.value));
  });

  test('null or absent leaves a value, "" and [] clear it: stored, shown, bodies kept as received', async () => {
    const path = `${PREFIX}/apps/app-fields`;
    const bodies: unknown[] = [
      { imageId: snapshotId },
      { imageId: snapshotId, version: null, reasonForUpdate: null, osVersion: null, softwareIncluded: null },
      { imageId: snapshotId, version: '', reasonForUpdate: '', osVersion: '', softwareIncluded: [] },
    ];
    const shown: unknown[] = [];
    const stored: unknown[] = [];
    for (const body of bodies) {
      const r = await patchApp('app-fields', body);
      assert.equal(r.status, 200, JSON.stringify(r.data));
      const c = vendorAppSchema.parse(r.data).customData;
      shown.push([c.version, c.reasonForUpdate, c.osVersion, c.softwareIncluded]);
      const s = (await labApp('app-fields')).customData;
      stored.push([s.version, s.reasonForUpdate, s.osVersion, s.softwareIncluded]);
      await setStatus('app-fields', 'approved');
    }
    const kept = ['1.0', 'first', 'Debian 11', [{ name: 'redis', version: '6' }]];
    assert.deepEqual(shown, [kept, kept, ['', '', '', []]]);
    assert.deepEqual(stored, shown);
    assert.deepEqual((await listed('app-fields')).customData.softwareIncluded, []);
    // What the lab received, exactly: null stays null, an absent field stays absent.
    const received = (await labApp('app-fields')).lab.received;
    assert.deepEqual(
      received.map((x) => [x.method, x.path, x.status, x.body]),
      bodies.map((b) => ['PATCH', path, 200, b]),
    );
    const logged = (await audit()).filter((e) => e.type === 'vendor.request' && e.appId === 'app-fields');
    assert.deepEqual(
      logged.map((e) => e.body),
      bodies,
    );
  });

  test('a rejected review ends `rejected` with its reason, revision unpublished; updates go on', async () => {
    const first = await patchApp('app-reject', { imageId: snapshotId, version: '2.0.0' });
    assert.equal(first.status, 200, JSON.stringify(first.data));
    const rejected = await waitFor('rejection', async () => {
      const a = await listed('app-reject');
      return a.status.value === 'rejected' ? a : undefined;
    });
    assert.equal(rejected.status.reason, 'Image failed validation: ufw is not enabled');
    assert.equal(rejected.unpublishedVersion?.customData.version, '2.0.0');
    assert.equal(rejected.currentVersion?.customData.version, '', 'the live revision is the seeded one');
    const again = await patchApp('app-reject', { imageId: snapshotId, reasonForUpdate: 'ufw enabled' });
    assert.equal(again.status, 200);
    assert.equal(vendorAppSchema.parse(again.data).status.value, 'pending');
    assert.equal(vendorAppSchema.parse(again.data).status.reason, '');
    assert.equal(vendorAppSchema.parse(again.data).version, rejected.version + 1);
  });

  test('the deprecated …/apps/{id}/versions/{v} answers 410 naming the replacement (404 if configured)', async () => {
    const replacement =
      'this endpoint is deprecated and no longer available: use PATCH /api/v1/vendor-portal/apps/{app_id}';
    for (const method of ['PATCH', 'GET']) {
      const path = `${PREFIX}/apps/app-approve/versions/19`;
      deliberatelyBad.push({ method, path });
      assertError(
        await call(method, path, method === 'PATCH' ? { imageId: snapshotId } : undefined),
        410,
        'gone',
        replacement,
      );
    }
    assert.equal((await listed('app-approve')).version, 8, 'nothing changed');
    const s404 = await extraServer({ vendorDeprecatedStatus: 404 });
    const r = await call('PATCH', `${PREFIX}/apps/app-1/versions/19`, { imageId: 1 }, TOKEN, s404);
    assertError(r, 404, 'not_found', replacement);
  });

  test('the single-app GET: 404 by default, 405 or served when configured', async () => {
    assertError(await call('GET', `${PREFIX}/apps/app-approve`), 404, 'not_found');
    const s405 = await extraServer({ vendorSingleAppGet: 405 });
    const r405 = await call('GET', `${PREFIX}/apps/app-1`, undefined, TOKEN, s405);
    assertError(r405, 405, 'method_not_allowed');
    assert.equal(r405.headers.get('allow'), 'PATCH');
    const on = await extraServer({ vendorSingleAppGet: true });
    const got = await call('GET', `${PREFIX}/apps/app-1`, undefined, TOKEN, on);
    assert.equal(got.status, 200, JSON.stringify(got.data));
    const app = vendorListedAppSchema.parse(got.data);
    assert.equal(app.appId, 'app-1');
    assert.equal(app.status.value, 'approved');
    assertError(await call('GET', `${PREFIX}/apps/app-foreign`, undefined, TOKEN, on), 403, 'forbidden');
    assertError(await call('GET', `${PREFIX}/apps/nope`, undefined, TOKEN, on), 404, 'not_found');
    for (const s of extra) {
      const v = await s.contractViolations();
      assert.deepEqual(
        v.filter((x) => x.direction === 'response'),
        [],
        JSON.stringify(v, null, 2),
      );
    }
  });

  test('lab control: create, list, get, force `inReview` (PATCH → 400), move an image, bad input', async () => {
    const review = { pendingMs: 50, inReviewMs: 50, outcome: 'rejected' };
    const created = await call('POST', '/_lab/vendor-apps', { name: 'Made by the test', review }, null);
    assert.equal(created.status, 201);
    const app = created.data as VendorListedApp & { lab: { team: string; review: unknown; running: unknown } };
    assert.match(app.appId, /^[0-9a-f-]{36}$/);
    assert.equal(app.status.value, 'approved');
    assert.equal(app.lab.team, 'lab-team');
    assert.deepEqual(app.lab.review, { ...review, reason: '' });
    assert.equal(app.lab.running, null);
    // The Vendor API shows the same app, without the lab's part.
    const viaApi = await listed(app.appId);
    assert.equal(viaApi.name, 'Made by the test');
    const rawList = (await call('GET', `${PREFIX}/apps`)).data as { apps: object[] };
    assert.ok(rawList.apps.every((a) => !('lab' in a)));

    const list = (await call('GET', '/_lab/vendor-apps', undefined, null)).data as { apps: Array<{ appId: string }> };
    assert.ok(
      list.apps.some((a) => a.appId === 'app-foreign'),
      "the lab lists every team's apps",
    );
    assert.equal((await labApp(app.appId)).appId, app.appId);

    const forced = await call('POST', `/_lab/vendor-apps/${app.appId}`, { status: 'inReview' }, null);
    assert.equal((forced.data as VendorListedApp).status.value, 'inReview');
    assertError(
      await patchApp(app.appId, { imageId: snapshotId }),
      400,
      'bad_request',
      VENDOR_MESSAGES.busy('inReview'),
    );
    // A forced status stays: no review runs.
    await new Promise((r) => setTimeout(r, 150));
    assert.equal((await listed(app.appId)).status.value, 'inReview');

    // A rejection without a configured reason still says why.
    await setStatus(app.appId, 'approved');
    assert.equal((await patchApp(app.appId, { imageId: snapshotId })).status, 200);
    const done = await waitFor('rejection', async () => {
      const a = await listed(app.appId);
      return a.status.value === 'rejected' ? a : undefined;
    });
    assert.ok(done.status.reason.length > 0);

    const bad = (path: string, body: unknown) => call('POST', path, body, null);
    assertError(await bad('/_lab/vendor-apps', { name: 'dup', id: 'app-approve' }), 400, 'bad_request', /exists/);
    // The old spelling is refused: the Vendor API's statuses are camel case.
    assertError(await bad('/_lab/vendor-apps', { status: 'in review', name: 'old' }), 400, 'bad_request', /status/);
    assertError(await bad('/_lab/vendor-apps', { type: 'helm', name: 'typo' }), 400, 'bad_request', /type/);
    assertError(await bad('/_lab/vendor-apps', {}), 400, 'bad_request', /name/);
    assertError(await bad('/_lab/vendor-apps/nope', { status: 'approved' }), 404, 'not_found');
    assertError(await bad(`/_lab/images/${snapshotId}`, {}), 400, 'bad_request', /team/);
    assertError(await bad('/_lab/images/42', { team: 'x' }), 404, 'not_found');

    const state = await server.state();
    assert.ok(
      state.vendorApps.some((a) => a.id === 'app-approve' && a.status === 'approved' && a.imageId === snapshotId),
    );
  });

  test('faults and rate-limit headers apply to the Vendor API as to /v2', async () => {
    server.faults.add({ kind: 'server-error', status: 503, path: '^/api/v1/vendor-portal/', times: 1 });
    assertError(await call('GET', `${PREFIX}/apps`), 503, 'server_error');
    const ok = await call('GET', `${PREFIX}/apps`);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('ratelimit-limit'), '5000');
  });

  test('the audit log: each update with its revision, each status change once (camel case), no token', async () => {
    const text = await readFile(auditFile, 'utf8');
    assert.ok(!text.includes(TOKEN) && !text.includes(OTHER_TOKEN));
    assert.ok(!/authorization|bearer/i.test(text));
    const events = await audit();
    const updates = events.filter((e) => e.type === 'vendor.update' && e.appId === 'app-approve');
    assert.deepEqual(
      updates.map((e) => [e.revision, e.imageId, e.version]),
      [[8, snapshotId, '1.2.3']],
    );
    const transitions = events
      .filter((e) => e.type === 'vendor.review' && e.appId === 'app-approve')
      .map((e) => `${String(e.from)}→${String(e.to)} (${String(e.cause)})`);
    // The list was polled many times; each change is there once.
    assert.deepEqual(transitions, [
      'approved→pending (update)',
      'pending→inReview (review)',
      'inReview→approved (review)',
    ]);
    const rejection = events.find((e) => e.type === 'vendor.review' && e.appId === 'app-reject' && e.to === 'rejected');
    assert.equal(rejection?.reason, 'Image failed validation: ufw is not enabled');
    // Every PATCH body is kept, refused ones too (with their status).
    const refused = events.filter((e) => e.type === 'vendor.request' && e.appId === 'app-approve' && e.status === 400);
    assert.ok(refused.some((e) => JSON.stringify(e.body) === '{"imageId":"abc"}'));
    assert.ok(events.some((e) => e.type === 'vendor.app_created' && e.appId === 'app-reject'));
  });

  test('the self-check: no response off-contract, requests off-contract only where sent so on purpose', async () => {
    const violations = await server.contractViolations();
    const responses = violations.filter((v) => v.direction === 'response');
    assert.deepEqual(responses, [], JSON.stringify(responses, null, 2));
    const unexpected = violations.filter(
      (v) => v.direction === 'request' && !deliberatelyBad.some((b) => b.method === v.method && b.path === v.path),
    );
    assert.deepEqual(unexpected, [], JSON.stringify(unexpected, null, 2));
    // The bad bodies and the deprecated path were flagged (not skipped).
    assert.ok(violations.filter((v) => v.path.startsWith(PREFIX)).length >= deliberatelyBad.length);
    assert.ok(violations.some((v) => v.errors.some((e) => /versions\/\{version\} is deprecated/.test(e))));
    assert.ok(!violations.some((v) => v.errors.some((e) => /not an operation/.test(e))));
    const state = await server.state();
    assert.ok('checked' in state.contract && state.contract.checked >= 60, JSON.stringify(state.contract));
    assert.equal('loadError' in state.contract ? state.contract.loadError : undefined, undefined);
  });

  test('the self-check bites: wrapped or off-spec 200, request typo, undocumented or deprecated path', async () => {
    const check = (method: string, path: string, requestBody: unknown, status: number, responseBody: unknown) =>
      server.contract!.checkNow({
        method,
        path,
        query: '',
        requestHeaders: {},
        requestBody,
        status,
        responseHeaders: { 'content-type': 'application/json' },
        responseBody,
      });
    // A documented 200: the stored app as a PATCH would answer it (pending), the lab's extras stripped.
    const stored = await labApp('app-approve');
    const good = vendorAppSchema.parse({ ...stored, status: { ...stored.status, value: 'pending' } });
    const errorsOf = async (body: unknown, status = 200, req: unknown = { imageId: 1 }) =>
      (await check('PATCH', `${PREFIX}/apps/x`, req, status, body)).flatMap((v) => v.errors).join('\n');
    assert.equal(await errorsOf(good), '', 'a documented 200 passes');
    assert.match(await errorsOf({ app: good }), /\/appId/, 'wrapped in {app}');
    assert.match(
      await errorsOf({ ...good, status: { ...good.status, lastUpdated: '2025-01-01T00:00:00Z' } }),
      /lastUpdated/,
    );
    assert.match(await errorsOf({ ...good, status: { ...good.status, value: 'in review' } }), /\/status\/value/);
    assert.match(await errorsOf({ ...good, version: '8' }), /\/version/);
    assert.match(
      await errorsOf({ ...good, customData: { ...good.customData, imageDescription: undefined } }),
      /imageDescription/,
    );
    assert.match(await errorsOf(good, 200, { imageId: 1, osVersoin: 'typo' }), /osVersoin/);
    assert.match(await errorsOf({ message: 'no id' }, 400), /\/id/);
    assert.match(await errorsOf(undefined, 409), /status 409 is not documented/);
    const list = await check('GET', `${PREFIX}/apps`, undefined, 200, [good]);
    assert.equal(list[0]?.direction, 'response');
    const undocumented = await check('DELETE', `${PREFIX}/apps/x`, undefined, 405, {});
    assert.match(undocumented[0]?.errors[0] ?? '', /not an operation of DigitalOcean's Vendor API/);
    const deprecated = await check('PATCH', `${PREFIX}/apps/x/versions/1.0`, { imageId: 1 }, 410, {});
    assert.equal(deprecated[0]?.direction, 'request');
    assert.match(deprecated[0]?.errors[0] ?? '', /deprecated: use PATCH \/api\/v1\/vendor-portal\/apps\/\{app_id\}/);
  });
});
