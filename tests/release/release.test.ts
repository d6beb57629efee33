/**
 * From snapshot to Marketplace, in the lab: verify tests the image on a fresh droplet made from
 * the snapshot (a failed test waits for the operator: retry with the fixed test on a new droplet,
 * accept, or abort — which deletes the snapshot); publishing waits for a person's approval, waits
 * on a durable timer while the app is in review, then follows the review to its end; a scheduled
 * rebuild with the same packages does not publish again; retention keeps the newest N snapshots
 * but never the published one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { BuildManifest } from '../../contract/build';
import { waitForBuild } from '../support/build-state';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { toFailure } from '../../activities/runtime/failures';
import { VendorApi } from '../../platform/vendor-api';
import { vendorApiUrl } from '../../worker/config';
import { LAB_TOKEN, assertNoLeftovers, startStack } from '../support/stack';
import type { Stack } from '../support/stack';
import { labControl } from '../support/lab-control';
import { REPO } from '../support/temporal';
import { setTimeout as sleep } from 'node:timers/promises';

const APP = 'lab-webcheck';
let stack: Stack;
let spec: string;
let checkScript: string;
const snapshots: Record<string, number> = {};

// Fast waits for the tests: review looks every ~1 s, a busy app is tried again after ~2 s.
const FAST = ['--review-poll', '0.015', '--busy-retry', '0.03'];

before(async () => {
  stack = await startStack({
    lab: {
      timing: { transferDelayMs: 200, maxDiskGiB: 1 },
      // The app starts in review (of an earlier version): the first update is refused with a 400.
      vendorApps: [
        {
          id: APP,
          name: 'Webcheck',
          status: 'inReview',
          review: { pendingMs: 800, inReviewMs: 800, outcome: 'approved' },
        },
      ],
    },
  });
  const dir = path.join(stack.dir, 'web');
  await fs.cp(path.join(REPO, 'tests/release/fixtures/web'), dir, { recursive: true });
  spec = path.join(dir, 'build.yaml');
  checkScript = path.join(dir, 'tests/check.sh');
});

after(async () => {
  await stack?.stop();
  if (stack) await assertNoLeftovers(stack.machinePrefix);
});

async function breakCheck(): Promise<string> {
  const good = await fs.readFile(checkScript, 'utf8');
  await fs.writeFile(checkScript, '#!/bin/bash\necho "the page is missing its footer"\nexit 4\n', { mode: 0o755 });
  return good;
}

async function start(...args: string[]): Promise<string> {
  const r = await stack.client(['start-build', spec, '--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { buildId: string }).buildId;
}

async function client(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return stack.client(args);
}

function result(id: string): Promise<BuildManifest> {
  return stack.temporal.client.workflow.getHandle(id).result() as Promise<BuildManifest>;
}

async function liveDroplets(): Promise<number> {
  return (await stack.lab.state()).droplets.list.filter((d) => d.status !== 'archive').length;
}

async function labImages(): Promise<number[]> {
  return (await stack.lab.state()).archives.map((a) => a.id);
}

async function app(): Promise<{
  status: { value: string };
  customData: {
    imageId: number | null;
    osVersion: string;
    version: string;
    softwareIncluded: { name: string; version: string }[];
  };
}> {
  const r = await labControl(stack.lab, `/_lab/vendor-apps/${APP}`);
  const body = (await r.json()) as Record<string, unknown>;
  return (body.app ?? body) as Awaited<ReturnType<typeof app>>;
}

test('--publish needs a marketplace section', async () => {
  const r = await client('start-build', path.join(REPO, 'tests/build/fixtures/tiny/build.yaml'), '--publish');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--publish needs a marketplace section/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

test('verify fails, waits, and a retry with the fixed test passes on a new droplet; publishing waits for approval, a busy app and the review', async () => {
  const good = await breakCheck();
  const id = await start('--publish', ...FAST);
  const waiting = await waitForBuild(stack, id, (s) => s.status === 'waiting-for-operator', 'verify to fail', 300_000);
  assert.equal(waiting.waiting?.step, 'verify');
  assert.equal(waiting.waiting?.acceptable, true);
  assert.match(waiting.waiting?.error ?? '', /test "tests\/check.sh" exited with code 4/);
  assert.equal(await liveDroplets(), 0, 'the build droplet and the test droplet are both gone while the build waits');
  const skip = await client('skip', id);
  assert.notEqual(skip.code, 0);
  assert.match(skip.stderr, /cannot be skipped: accept it/);
  const logs = await client('logs', id, '--step', 'verify');
  assert.match(logs.stdout, /the page is missing its footer/, 'the test output is in the step log');

  await fs.writeFile(checkScript, good, { mode: 0o755 });
  const retry = await client('retry', id);
  assert.equal(retry.code, 0, retry.stderr);
  assert.match(retry.stdout, /retrying verify with the edited files/);

  const approval = await waitForBuild(stack, id, (s) => s.status === 'waiting-for-approval', 'approval', 300_000);
  assert.equal(approval.approval?.appId, APP);
  const meta = (await stack.temporal.client.workflow.getHandle(id).query('__temporal_workflow_metadata')) as {
    currentDetails?: string;
  };
  assert.match(
    meta.currentDetails ?? '',
    /\*\*Waiting for approval\*\*: publish image \d+ to Marketplace app `lab-webcheck`/,
    'the Web UI says what the build waits for',
  );
  const listed = await client('list', '--status', 'waiting-for-approval', '--json');
  assert.ok(
    (JSON.parse(listed.stdout) as { buildId: string }[]).some((b) => b.buildId === id),
    'client list shows the build waiting for approval',
  );
  const early = await client('approve', 'build-nope');
  assert.notEqual(early.code, 0);
  assert.equal((await app()).customData.imageId, null, 'nothing sent before approval');

  const ok = await client('approve', id);
  assert.equal(ok.code, 0, ok.stderr);
  // The app is in review: the update is refused and tried again after a durable timer.
  await waitForBuild(
    stack,
    id,
    (s) => s.steps.some((x) => x.name === 'publish-wait'),
    'a busy app to be waited for',
    60_000,
  );
  const again = await client('approve', id);
  assert.notEqual(again.code, 0, 'a second approval is refused');
  await labControl(stack.lab, `/_lab/vendor-apps/${APP}`, { method: 'POST', body: { status: 'approved' } });

  const m = await result(id);
  assert.equal(m.status, 'succeeded');
  snapshots.first = m.snapshot!.id;
  assert.equal(m.verify?.state, 'verified');
  assert.deepEqual(m.verify?.result?.firstBoot, [{ name: '001_onboot', runs: 1 }]);
  assert.deepEqual(
    m.verify?.result?.tests.map((t) => [t.label, t.exitCode]),
    [
      ['the page is served', 0],
      ['tests/check.sh', 0],
    ],
  );
  assert.deepEqual(m.verify?.result?.validation.failures, []);
  assert.equal(m.steps.find((s) => s.name === 'verify')?.attempts, 2);
  assert.equal(m.publish?.state, 'approved');
  assert.ok((m.publish?.busyRetries ?? 0) >= 1, 'the busy app was waited for');
  assert.equal(m.publish?.review?.value, 'approved');

  const listing = await app();
  assert.equal(listing.customData.imageId, m.snapshot!.id);
  assert.equal(listing.customData.version, '1.0.0');
  assert.match(listing.customData.osVersion, /Debian GNU\/Linux 12/);
  assert.deepEqual(
    listing.customData.softwareIncluded.map((s) => [s.name, s.version]),
    [
      ['python3', m.packages!.python3],
      ['openssh-server', m.packages!['openssh-server']],
    ],
    'software versions come from the manifest; packages not installed are left out',
  );
  const audit = await stack.audit();
  const created = audit.filter((e) => e.type === 'droplet.created');
  assert.equal(created.length, 3, 'one build droplet, and a new test droplet for each verify attempt');
  assert.equal(audit.filter((e) => e.type === 'vendor.update').length, 1, 'one accepted update');
  // The Vendor API token is the worker's: not in the workflow's history, nor in what the client prints.
  const history = historyToJSON(await stack.temporal.client.workflow.getHandle(id).fetchHistory());
  assert.ok(!history.includes(LAB_TOKEN), 'no token in the history');
  assert.ok(!(await client('status', id, '--json')).stdout.includes(LAB_TOKEN));
  assert.equal(await liveDroplets(), 0);
});

test('a scheduled rebuild with the same packages is not published again; retention keeps the published image', async () => {
  const created = await client('schedule', 'create', spec, '--every', '30d', '--publish', '--paused', ...FAST);
  assert.equal(created.code, 0, created.stderr);
  assert.match(
    created.stdout,
    /created schedule rebuild-webcheck: rebuild webcheck every 30d, publishing after approval \(paused\)/,
  );
  const dup = await client('schedule', 'create', spec, '--every', '30d');
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /already exists/);
  const trig = await client('schedule', 'trigger', 'rebuild-webcheck');
  assert.equal(trig.code, 0, trig.stderr);

  let runId = '';
  for (let i = 0; i < 60 && !runId; i++) {
    const l = JSON.parse((await client('schedule', 'list', '--json')).stdout) as {
      scheduleId: string;
      paused: boolean;
      recent: { buildId: string }[];
    }[];
    const mine = l.find((s) => s.scheduleId === 'rebuild-webcheck');
    assert.equal(mine?.paused, true);
    runId = mine?.recent[0]?.buildId ?? '';
    if (!runId) await sleep(500);
  }
  assert.match(runId, /^build-webcheck-scheduled-/);
  const m = await result(runId);
  assert.equal(m.status, 'succeeded');
  assert.equal(m.buildId, runId, 'the run is a build with its own id');
  assert.notEqual(m.snapshot?.id, snapshots.first);
  assert.match(m.snapshot?.name ?? '', /^webcheck-\d{8}T\d{6}Z$/, "named like a manual build's snapshot");
  snapshots.scheduled = m.snapshot!.id;
  assert.equal(m.publish?.state, 'unchanged');
  assert.match(m.publish?.reason ?? '', /no package changed since image \d+/);
  assert.ok(!m.steps.some((s) => s.name === 'approval'), 'nobody was asked to approve');
  assert.deepEqual(
    m.retention?.kept.map((s) => s.id),
    [snapshots.scheduled],
  );
  assert.deepEqual(
    m.retention?.protected.map((s) => s.id),
    [snapshots.first],
    'the published image is never deleted',
  );
  assert.deepEqual(m.retention?.deleted, []);

  for (const [cmd, out] of [
    ['unpause', /active/],
    ['pause', /paused/],
    ['delete', /deleted/],
  ] as const) {
    const r = await client('schedule', cmd, 'rebuild-webcheck');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, out);
  }
  const gone = await client('schedule', 'trigger', 'rebuild-webcheck');
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /no schedule rebuild-webcheck/);
});

test('an accepted verify is recorded as such; a rejected publication keeps the image; retention deletes the old unpublished one', async () => {
  const good = await breakCheck();
  const id = await start('--publish', ...FAST);
  await waitForBuild(stack, id, (s) => s.status === 'waiting-for-operator', 'verify to fail', 300_000);
  await fs.writeFile(checkScript, good, { mode: 0o755 });
  const acc = await client('accept', id);
  assert.equal(acc.code, 0, acc.stderr);
  await waitForBuild(stack, id, (s) => s.status === 'waiting-for-approval', 'approval', 120_000);
  const watching = client('watch', id);
  await sleep(3000);
  const rej = await client('reject', id, '--reason', 'not this month');
  assert.equal(rej.code, 0, rej.stderr);
  const watched = await watching;
  assert.equal(watched.code, 0, 'watch ends with the build, which succeeded');
  assert.match(
    watched.stderr,
    /waiting for approval to publish image \d+ to app lab-webcheck: client approve .* \| client reject .* --reason/,
  );
  const m = await result(id);
  assert.equal(m.status, 'succeeded');
  assert.equal(m.verify?.state, 'accepted');
  assert.match(m.verify?.error ?? '', /exited with code 4/);
  assert.equal(m.steps.find((s) => s.name === 'verify')?.state, 'accepted');
  assert.equal(m.publish?.state, 'rejected-by-operator');
  assert.equal(m.publish?.reason, 'not this month');
  assert.deepEqual(
    m.retention?.kept.map((s) => s.id),
    [m.snapshot!.id],
  );
  assert.deepEqual(
    m.retention?.deleted.map((s) => s.id),
    [snapshots.scheduled],
  );
  assert.deepEqual(
    m.retention?.protected.map((s) => s.id),
    [snapshots.first],
  );
  const images = await labImages();
  assert.ok(
    images.includes(m.snapshot!.id) && images.includes(snapshots.first!),
    'the new and the published image remain',
  );
  assert.ok(!images.includes(snapshots.scheduled!), 'the older unpublished image is deleted');
  assert.equal((await app()).customData.imageId, snapshots.first, 'the listing still has the published image');
});

test('a first-boot script that fails on the new droplet fails verify; abort deletes the snapshot and fails the build', async () => {
  const onboot = path.join(path.dirname(spec), 'scripts/onboot.sh');
  await fs.writeFile(
    onboot,
    `${await fs.readFile(onboot, 'utf8')}echo "cannot reach the license server" >&2\nexit 7\n`,
    { mode: 0o755 },
  );
  const id = await start();
  const w = await waitForBuild(stack, id, (s) => s.status === 'waiting-for-operator', 'verify to fail', 300_000);
  assert.equal(w.waiting?.step, 'verify');
  assert.match(
    w.waiting?.error ?? '',
    /cloud-init reported errors: .*per.instance/,
    "cloud-init's own error list names the failed first-boot scripts",
  );
  const snap = w.snapshotId!;
  assert.ok((await labImages()).includes(snap));
  const r = await client('abort', id, '--reason', 'image is broken');
  assert.equal(r.code, 0, r.stderr);
  await assert.rejects(result(id), (err: Error & { cause?: Error }) =>
    /build aborted: image is broken/.test(err.cause?.message ?? ''),
  );
  assert.ok(!(await labImages()).includes(snap), 'the snapshot of the aborted build is deleted');
  assert.equal(await liveDroplets(), 0);
});

test('the Vendor API client: an unknown app or a wrong token is final, with a hint and no token', async () => {
  const url = vendorApiUrl({ apiUrl: stack.lab.endpoint });
  assert.equal(url, `${stack.lab.origin}/api/v1/vendor-portal`, 'the Vendor API is found next to the API');
  const update = { imageId: snapshots.first!, reasonForUpdate: 'x', version: '1', osVersion: '', softwareIncluded: [] };
  const cases: [VendorApi, string, RegExp][] = [
    [new VendorApi(url, LAB_TOKEN), 'no-such-app', /HTTP 404 .*check marketplace\.appId/],
    // The Vendor API answers 403 for an invalid token (documented), not /v2's 401.
    [new VendorApi(url, 'wrong-token-value'), APP, /HTTP 403 .*DIGITALOCEAN_VENDOR_TOKEN/],
  ];
  for (const [api, appId, message] of cases) {
    const err = await api.update(appId, update).then(
      () => assert.fail('the update was accepted'),
      (e: unknown) => e,
    );
    const failure = toFailure(err);
    assert.equal(failure.nonRetryable, true, `${appId}: not retried`);
    assert.equal(failure.type, 'PermanentApiError');
    assert.match(failure.message, message);
    assert.ok(
      !failure.message.includes(LAB_TOKEN) && !failure.message.includes('wrong-token-value'),
      'no token in the message',
    );
  }
  const down = toFailure(
    await new VendorApi('http://127.0.0.1:9/api/v1/vendor-portal', LAB_TOKEN).status(APP).catch((e: unknown) => e),
  );
  assert.equal(down.nonRetryable, false, 'an unreachable Vendor API is retried');
  assert.match(down.message, /Vendor API unreachable/);
});
