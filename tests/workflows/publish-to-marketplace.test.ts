/**
 * workflows/publish-to-marketplace.ts against the lab's documented Vendor API, on the real Temporal dev server
 * with the real activities: what `client publish --dry-run` shows is exactly what is sent and
 * carries no "" or [] the spec did not ask for; a build whose app cannot be read ends "submitted,
 * review status unknown" instead of polling forever; an app that stays busy past the ceiling
 * fails the build with a message; a 403 fails the step with DigitalOcean's message and a hint.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import type { BuildInput } from '../../contract/build';
import { approveUpdate, publishPreviewQuery, stateQuery } from '../../contract/operator';
import type { PublishOutcome } from '../../contract/marketplace';
import { createLabServer, type LabServer } from '../../lab/api/server';
import { labSnapshot, memoryRuntime } from '../support/memory-runtime';
import { REPO, startTemporal } from '../support/temporal';
import type { PublishOnlyInput } from '../support/workflows/publish-only';
import { labControl } from '../support/lab-control';
import { labActivityDeps } from '../support/lab-deps';

const TOKEN = `dop_v1_publish_wf_${process.pid}`;
const QUEUE = 'publish-test';
let env: TestWorkflowEnvironment;
let work = '';
const labs: LabServer[] = [];
const workers: { worker: Worker; running: Promise<void> }[] = [];

async function stackWith(opts: { listRead: boolean }): Promise<{ lab: LabServer; image: number; queue: string }> {
  const n = labs.length;
  const lab = await createLabServer({
    runtime: memoryRuntime(),
    tokens: [TOKEN],
    tokenTeams: { [`${TOKEN}-other`]: 'other-team' },
    stateDir: join(work, `lab-${n}`),
    machinePrefix: `t-pubwf${process.pid}x${n}-`,
    contractCheck: true,
    vendorListRead: opts.listRead,
    vendorApps: [
      { id: 'app-ok', name: 'Ok' },
      { id: 'app-busy', name: 'Busy', status: 'inReview' },
    ],
  });
  labs.push(lab);
  const { deps } = labActivityDeps(lab, TOKEN, join(work, `worker-${n}`));
  const queue = `${QUEUE}-${n}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: queue,
    workflowsPath: require.resolve('../support/workflows/publish-only'),
    activities: createActivities(deps),
  });
  workers.push({ worker, running: worker.run() });
  return { lab, image: await labSnapshot(lab.origin, TOKEN, `img-${n}`), queue };
}

function input(appId: string, timing: BuildInput['publishTiming'] = {}): BuildInput {
  return {
    buildId: `publish-${appId}-${randomBytes(3).toString('hex')}`,
    contextDigest: 'sha256:none',
    mode: 'image',
    snapshotName: 'x',
    publish: true,
    operatorTimeoutMs: 60_000,
    publishTiming: { reviewPollMs: 200, busyRetryMs: 200, ...timing },
    plan: {
      name: 'webcheck',
      vendor: 'acme',
      droplet: { image: 'debian-12-x64', region: 'nyc3', size: 's-1vcpu-1gb', tags: [] },
      apt: { upgrade: false, packages: [] },
      steps: [],
      firstBoot: [],
      env: {},
      snapshot: { regions: [], tags: [] },
      tests: [],
      marketplace: { appId, version: '1.0.0', software: ['nginx', 'not-on-the-image'] },
    },
  };
}

async function start(queue: string, req: PublishOnlyInput) {
  return env.client.workflow.start('publishOnly', { taskQueue: queue, workflowId: req.input.buildId, args: [req] });
}

async function waitStatus(h: Awaited<ReturnType<typeof start>>, status: string): Promise<void> {
  for (const deadline = Date.now() + 30_000; ; await sleep(100)) {
    const s = await h.query(stateQuery).catch(() => undefined);
    if (s?.status === status) return;
    if (Date.now() > deadline) throw new Error(`build never reached ${status}: ${JSON.stringify(s)}`);
  }
}

function client(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO, 'dist/client/main.js'), ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'publish-wf-'));
  env = await startTemporal();
});
after(async () => {
  for (const w of workers) w.worker.shutdown();
  await Promise.all(workers.map((w) => w.running));
  for (const l of labs) await l.close();
  await env?.teardown();
  await rm(work, { recursive: true, force: true });
});

test('the dry run shows exactly what is sent; no read of the app: submitted, review status unknown', async () => {
  const { lab, image, queue } = await stackWith({ listRead: false });
  const h = await start(queue, { input: input('app-ok'), imageId: image, packages: { nginx: '1.22.1-9' } });
  await waitStatus(h, 'waiting-for-approval');

  const dry = await client(['publish', h.workflowId, '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  const shown = JSON.parse(dry.stdout) as { method: string; path: string; body: Record<string, unknown> };
  // Only what the spec says: no osVersion (not in the spec), no "" or [], the missing package dropped.
  const expected = { imageId: image, version: '1.0.0', softwareIncluded: [{ name: 'nginx', version: '1.22.1-9' }] };
  assert.deepEqual(shown, { method: 'PATCH', path: '/api/v1/vendor-portal/apps/app-ok', body: expected });
  assert.deepEqual(await h.query(publishPreviewQuery), { appId: 'app-ok', body: expected });

  await h.executeUpdate(approveUpdate, { args: [{ by: 'test' }] });
  const out = (await h.result()) as PublishOutcome;
  assert.equal(out.state, 'submitted');
  assert.match(out.reason ?? '', /review status unknown.*Vendor Portal/);
  assert.equal(out.submitted?.imageId, image, 'the manifest records what DigitalOcean answered');
  assert.match(out.submitted?.lastUpdated ?? '', /^\d{4}-\d\d-\d\dT/);
  assert.equal(typeof out.submitted?.version, 'number');

  const app = (await (await labControl(lab, '/_lab/vendor-apps/app-ok')).json()) as {
    lab: { received: { method: string; body: unknown }[] };
  };
  const patches = app.lab.received.filter((r) => r.method === 'PATCH');
  assert.deepEqual(
    patches.map((p) => p.body),
    [expected],
    'the body sent is the body shown',
  );
});

test('an app that stays in review past the ceiling fails the build with a clear message', async () => {
  const { lab, image, queue } = await stackWith({ listRead: true });
  const req = { input: input('app-busy', { busyTimeoutMs: 1500 }), imageId: image, packages: {} };
  const h = await start(queue, req);
  await waitStatus(h, 'waiting-for-approval');
  await h.executeUpdate(approveUpdate, { args: [{ by: 'test' }] });
  const err = await h.result().then(
    () => assert.fail('the build should fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError);
  assert.match(err.cause?.message ?? '', /app-busy stayed pending or in review for 2 s.*publish it again/);
  const app = (await (await labControl(lab, '/_lab/vendor-apps/app-busy')).json()) as {
    lab: { received: { body: Record<string, unknown> }[] };
  };
  assert.ok(app.lab.received.length >= 2, 'it tried again while the app was busy');
  for (const r of app.lab.received) assert.deepEqual(r.body, { imageId: image, version: '1.0.0' });
});

test("a 403 (another team's image) fails the step with DigitalOcean's message and a hint, at once", async () => {
  const { lab, queue } = await stackWith({ listRead: true });
  const theirs = await labSnapshot(lab.origin, `${TOKEN}-other`, 'theirs');
  const h = await start(queue, { input: input('app-ok'), imageId: theirs, packages: {} });
  await waitStatus(h, 'waiting-for-approval');
  await h.executeUpdate(approveUpdate, { args: [{ by: 'test' }] });
  await waitStatus(h, 'waiting-for-operator');
  const s = await h.query(stateQuery);
  const step = s.steps.find((x) => x.name === 'publish');
  assert.equal(step?.attempts, 1);
  assert.match(
    s.waiting?.error ?? '',
    /HTTP 403 image \d+ is not a snapshot in your team's account.*DIGITALOCEAN_VENDOR_TOKEN/,
  );
  await h.terminate('test over');
});
