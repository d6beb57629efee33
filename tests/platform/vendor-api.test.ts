/**
 * The product's Vendor API client (platform/vendor-api.ts) against the lab's Vendor API, which
 * follows DigitalOcean's documentation: the documented 200 body read into a status with an ISO
 * time, each 400 sorted into busy (wait) or final, 403 and 404 final with hints and no token, and
 * the undocumented reads: the app list, then the single app, then "unknown" when neither is served.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLabServer, type LabServer, type LabServerOptions } from '../../lab/api/server';
import { VendorApi, VendorApiError } from '../../platform/vendor-api';
import { isUnderReview, reviewState, vendorUpdateBody } from '../../contract/marketplace';
import { labSnapshot, memoryRuntime } from '../support/memory-runtime';

const TOKEN = `dop_v1_product_vendor_${process.pid}`;
const OTHER = `dop_v1_product_other_${process.pid}`;
const servers: LabServer[] = [];
let work = '';

async function lab(opts: Partial<LabServerOptions> = {}): Promise<LabServer> {
  const s = await createLabServer({
    runtime: memoryRuntime(),
    tokens: [TOKEN],
    tokenTeams: { [OTHER]: 'other-team' },
    stateDir: join(work, `api-${servers.length}`),
    machinePrefix: `t-pvendor${process.pid}x${servers.length}-`,
    contractCheck: true,
    vendorApps: [
      { id: 'app-ok', name: 'Ok' },
      { id: 'app-busy', name: 'Busy', status: 'inReview' },
      { id: 'app-k8s', name: 'Cluster', type: 'kubernetes' },
      { id: 'app-theirs', name: 'Theirs', team: 'other-team' },
    ],
    ...opts,
  });
  servers.push(s);
  return s;
}

const client = (s: LabServer, token = TOKEN) => new VendorApi(`${s.origin}/api/v1/vendor-portal`, token, 5000);

async function refusal(p: Promise<unknown>): Promise<VendorApiError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof VendorApiError, String(err));
    return err;
  }
  assert.fail('the request was accepted');
}

let s: LabServer;
let image = 0;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'product-vendor-'));
  s = await lab();
  image = await labSnapshot(s.origin, TOKEN, 'ours');
});
after(async () => {
  for (const x of servers) await x.close();
  await rm(work, { recursive: true, force: true });
});

describe('status values in any spelling are one state', () => {
  test('inReview, in review, in-review and IN_REVIEW', () => {
    for (const v of ['inReview', 'in review', 'in-review', 'IN_REVIEW']) assert.equal(reviewState(v), 'in-review', v);
    assert.equal(reviewState('Pending'), 'pending');
    assert.ok(isUnderReview('PENDING') && isUnderReview('inReview') && !isUnderReview('approved'));
    assert.equal(reviewState('approved'), 'approved');
    assert.equal(reviewState('REJECTED'), 'rejected');
    assert.equal(reviewState('archived'), 'other');
  });
});

describe('the update body carries only what the spec says', () => {
  const image_ = { os: { prettyName: 'Debian GNU/Linux 12 (bookworm)' }, packages: { nginx: '1.22.1-9', php: '8.2' } };
  test('omitted fields are left out, never "" or []', () => {
    assert.deepEqual(vendorUpdateBody({ appId: 'a' }, 7, image_), { imageId: 7 });
    // Software names the image lacks are dropped; an emptied list is left out, not sent as [].
    const none = vendorUpdateBody({ appId: 'a', software: ['not-here'], osVersion: 'detect' }, 7, { packages: {} });
    assert.deepEqual(none, { imageId: 7 });
  });
  test('detect reads the image; literals and entries pass through; [] only when the spec says []', () => {
    const body = vendorUpdateBody(
      {
        appId: 'a',
        version: '2.0',
        reasonForUpdate: 'security',
        osVersion: 'detect',
        software: ['nginx', { name: 'PHP', package: 'php', website: 'https://php.net' }, { name: 'App', version: '3' }],
      },
      7,
      image_,
    );
    assert.deepEqual(body, {
      imageId: 7,
      version: '2.0',
      reasonForUpdate: 'security',
      osVersion: 'Debian GNU/Linux 12 (bookworm)',
      softwareIncluded: [
        { name: 'nginx', version: '1.22.1-9' },
        { name: 'PHP', version: '8.2', website: 'https://php.net' },
        { name: 'App', version: '3' },
      ],
    });
    assert.deepEqual(vendorUpdateBody({ appId: 'a', software: [], osVersion: '' }, 7, image_), {
      imageId: 7,
      osVersion: '',
      softwareIncluded: [],
    });
  });
});

describe('PATCH as documented', () => {
  test('200: the app itself, read into a status with an ISO time, the revision and the image', async () => {
    const before_ = Date.now();
    const st = await client(s).update('app-ok', { imageId: image, version: '1.0' });
    assert.equal(reviewState(st.value), 'pending');
    assert.ok(st.lastUpdated && Date.parse(st.lastUpdated) >= before_ - 1000, st.lastUpdated);
    assert.equal(typeof st.version, 'number');
    assert.equal(st.imageId, image);
  });

  test('400 while the app is pending or in review is busy: waiting clears it', async () => {
    const e = await refusal(client(s).update('app-busy', { imageId: image }));
    assert.equal(e.status, 400);
    assert.equal(e.kind, 'busy');
  });

  test('400 for an app that is not a droplet 1-click is final, with a hint', async () => {
    const e = await refusal(client(s).update('app-k8s', { imageId: image }));
    assert.equal(e.status, 400);
    assert.equal(e.kind, 'permanent');
    assert.match(e.message, /droplet 1-click.*marketplace\.appId/);
  });

  test('400 for a missing image id is final', async () => {
    const e = await refusal(client(s).update('app-ok', {} as { imageId: number }));
    assert.equal(e.status, 400);
    assert.equal(e.kind, 'permanent');
    assert.match(e.message, /imageId is required/);
  });

  test("403 for another team's app or image is final, says which token to check, and never shows it", async () => {
    const app = await refusal(client(s).update('app-theirs', { imageId: image }));
    const theirs = await labSnapshot(s.origin, OTHER, 'theirs');
    const img = await refusal(client(s).update('app-ok', { imageId: theirs }));
    const token = await refusal(client(s, 'dop_v1_not_a_token').update('app-ok', { imageId: image }));
    for (const e of [app, img, token]) {
      assert.equal(e.status, 403);
      assert.equal(e.kind, 'permanent');
      assert.match(e.message, /DIGITALOCEAN_VENDOR_TOKEN/);
      assert.doesNotMatch(e.message, new RegExp(`${TOKEN}|dop_v1_not_a_token`));
    }
  });

  test('404 for an unknown app is final and points at the app id', async () => {
    const e = await refusal(client(s).update('no-such-app', { imageId: image }));
    assert.equal(e.status, 404);
    assert.equal(e.kind, 'permanent');
    assert.match(e.message, /marketplace\.appId/);
  });
});

describe('reads, none of them documented', () => {
  test('the app list: status, and every image the app lists', async () => {
    const st = await client(s).status('app-ok');
    assert.ok(st);
    assert.ok(st.imageIds?.includes(image), JSON.stringify(st));
  });

  test('no list: the single app; neither: unknown (undefined), not an error', async () => {
    const single = await lab({ vendorListRead: false, vendorSingleAppGet: true });
    assert.equal((await client(single).status('app-busy'))?.value, 'inReview');
    for (const singleAppGet of [false, 405] as const) {
      const none = await lab({ vendorListRead: false, vendorSingleAppGet: singleAppGet });
      assert.equal(await client(none).status('app-ok'), undefined);
    }
  });

  test('an unreachable Vendor API is transient, not unknown', async () => {
    const down = new VendorApi('http://127.0.0.1:9/api/v1/vendor-portal', TOKEN, 2000);
    const e = await refusal(down.status('app-ok'));
    assert.equal(e.kind, 'transient');
  });
});
