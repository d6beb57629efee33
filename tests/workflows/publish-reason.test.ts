/**
 * The build workflow with its activities stubbed (the real dev server, no lab): the sbom step runs
 * right after inventory with the plan's uploads and first-boot scripts, the manifest keeps its
 * summary, and a scheduled rebuild publishes with the package diff as its reasonForUpdate unless
 * the spec states its own; a step result's warning lands in its record. The activities are stubs: this checks the workflow's wiring; the reason
 * itself, from two real bills of materials, is tested in tests/activities/publish-reason-real.test.ts.
 */
import { after, before, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { BuildActivities } from '../../contract/activities';
import type { BuildInput, BuildManifest } from '../../contract/build';
import { approveUpdate, stateQuery } from '../../contract/operator';
import type { PublishInput, PublishedRecord } from '../../contract/marketplace';
import { STOCK_REASON_FOR_UPDATE, sbomKeys } from '../../contract/bill-of-materials';
import type { SbomInput } from '../../contract/bill-of-materials';
import { REPO, startTemporal } from '../support/temporal';

let env: TestWorkflowEnvironment;
const recorded: PublishedRecord[] = [];

before(async () => {
  env = await startTemporal();
});

after(async () => {
  await env?.teardown();
});

const OLD = { openssl: '3.0.15-1~deb12u1', libssl3: '3.0.15-1~deb12u1', curl: '7.88.1-10+deb12u8' };
const NEW = { openssl: '3.0.16-1~deb12u1', libssl3: '3.0.16-1~deb12u1', curl: '7.88.1-10+deb12u8' };

interface Last {
  packages: Record<string, string>;
  baseImageId?: number;
}

function stubs(calls: string[], published: PublishInput[], sbomInputs: SbomInput[], last: Last): BuildActivities {
  const ref = { buildId: 'x', dropletId: 7, ipv4: '10.0.0.7' };
  const cmd = { exitCode: 0, tail: [], seconds: 0 };
  const log =
    <T>(name: string, value: T) =>
    async () => {
      calls.push(name);
      return value;
    };
  return {
    checkInput: log('checkInput', { checked: true as const }),
    provision: log('provision', {
      ...ref,
      dropletName: 'd',
      hostKeyFingerprint: 'SHA256:x',
      bootSeconds: 1,
      baseImageId: 1001,
    }),
    destroy: log('destroy', { destroyed: [7] }),
    install: log('install', cmd),
    upload: log('upload', { files: 1, bytes: 1, verified: 1 }),
    // A script whose log the store refused: the step record keeps the warning.
    runScript: log('runScript', { ...cmd, warning: 'the step log could not be stored whole (disk full)' }),
    ansiblePlaybook: log('ansiblePlaybook', cmd),
    installFirstBoot: log('installFirstBoot', { files: 1, bytes: 1, verified: 1 }),
    inventory: log('inventory', { os: { id: 'debian', versionId: '12', prettyName: 'Debian 12' }, packages: NEW }),
    sbom: async (input: SbomInput) => {
      calls.push('sbom');
      sbomInputs.push(input);
      return { packages: 3, licensed: 2, files: 2, keys: sbomKeys(input.snapshotName) };
    },
    cleanup: log('cleanup', cmd),
    validate: log('validate', { passed: 1, warnings: [], failures: [] }),
    shutdown: log('shutdown', { seconds: 0 } as never),
    snapshot: log('snapshot', { id: 42, name: 'web-1', regions: ['nyc3'], sizeGigabytes: 1 }),
    deleteSnapshot: log('deleteSnapshot', { deleted: true }),
    transfer: log('transfer', []),
    verify: log('verify', {} as never),
    pruneSnapshots: log('pruneSnapshots', { kept: [], deleted: [], protected: [] }),
    publish: async (input: PublishInput) => {
      calls.push('publish');
      published.push(input);
      return { kind: 'submitted', status: { value: 'approved' } };
    },
    reviewStatus: log('reviewStatus', { value: 'approved' }),
    lastPublished: log('lastPublished', {
      family: 'web',
      appId: 'app',
      imageId: 41,
      buildId: 'web-before',
      ...last,
      review: 'approved',
      at: '2026-11-04T03:00:00Z',
    }),
    recordPublished: async (record: PublishedRecord) => {
      calls.push('recordPublished');
      recorded.push(record);
    },
    decideRebuild: log('decideRebuild', {
      build: true,
      triggers: ['periodic' as const],
      reason: 'periodic rebuild for package updates',
      baseImageId: 1001,
    }),
    recordBuild: async () => {
      calls.push('recordBuild');
      return {} as never;
    },
  };
}

function input(id: string, reasonForUpdate: string | undefined): BuildInput {
  return {
    buildId: id,
    contextDigest: 'sha256-0',
    mode: 'image',
    snapshotName: `${id}-snap`,
    verify: false,
    publish: true,
    scheduled: true,
    plan: {
      name: 'web',
      vendor: 'forge',
      droplet: { image: 'debian-12-x64', region: 'nyc3', size: 's-1vcpu-1gb', tags: [] },
      apt: { upgrade: false, packages: [] },
      steps: [
        { kind: 'upload', src: 'files/index.html', dest: '/srv/www/index.html', mode: '0644' },
        { kind: 'script', run: 'true', label: 'nothing' },
      ],
      firstBoot: ['scripts/onboot.sh'],
      firstLogin: 'scripts/welcome.sh',
      env: { SECRET: { value: 'do-not-list' } },
      snapshot: { regions: [], tags: [] },
      tests: [],
      marketplace: {
        appId: 'app',
        version: '1.0.1',
        ...(reasonForUpdate ? { reasonForUpdate } : {}),
        software: ['openssl'],
      },
    },
  };
}

async function run(
  id: string,
  reason: string | undefined,
  last: Last = { packages: OLD, baseImageId: 1001 },
  approve = true,
) {
  const calls: string[] = [];
  const published: PublishInput[] = [];
  const sbomInputs: SbomInput[] = [];
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: `stub-${id}`,
    workflowsPath: require.resolve('../../workflows'),
    activities: stubs(calls, published, sbomInputs, last),
  });
  const manifest = await worker.runUntil(async () => {
    const handle = await env.client.workflow.start('buildImage', {
      taskQueue: `stub-${id}`,
      workflowId: id,
      args: [input(id, reason)],
    });
    if (approve) {
      for (let i = 0; i < 200; i++) {
        if ((await handle.query(stateQuery)).approval) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await handle.executeUpdate(approveUpdate, { args: [{ by: 'test' }] });
    }
    return (await handle.result()) as BuildManifest;
  });
  return { calls, published, sbomInputs, manifest };
}

test('the sbom step follows inventory, and a scheduled rebuild publishes with the package diff as its reason', async () => {
  const r = await run('stub-stock-reason', STOCK_REASON_FOR_UPDATE);
  assert.equal(r.manifest.status, 'succeeded');
  assert.equal(r.calls.indexOf('sbom'), r.calls.indexOf('inventory') + 1, r.calls.join(', '));
  assert.ok(r.calls.indexOf('sbom') < r.calls.indexOf('shutdown'));
  assert.deepEqual(r.sbomInputs[0]!.uploads, [
    { kind: 'upload', src: 'files/index.html', dest: '/srv/www/index.html', mode: '0644' },
  ]);
  assert.deepEqual(r.sbomInputs[0]!.firstBoot, ['scripts/onboot.sh']);
  assert.equal(r.sbomInputs[0]!.firstLogin, 'scripts/welcome.sh');
  assert.equal(r.sbomInputs[0]!.snapshotName, 'stub-stock-reason-snap');
  const script = r.manifest.steps.find((s) => s.name === '02-script');
  assert.equal(script?.warning, 'the step log could not be stored whole (disk full)', 'the warning reaches the record');
  assert.equal(r.manifest.steps.find((s) => s.name === '01-upload')?.warning, undefined);
  assert.ok(!JSON.stringify(r.sbomInputs[0]).includes('do-not-list'), 'no env value reaches the sbom step');
  assert.deepEqual(r.manifest.sbom, {
    packages: 3,
    licensed: 2,
    files: 2,
    keys: sbomKeys('stub-stock-reason-snap'),
  });
  assert.equal(
    r.published[0]!.body?.reasonForUpdate,
    'Package updates: libssl3 3.0.15-1~deb12u1 → 3.0.16-1~deb12u1, openssl 3.0.15-1~deb12u1 → 3.0.16-1~deb12u1',
  );
});

test('a spec with no reasonForUpdate gets the package diff', async () => {
  const r = await run('stub-no-reason', undefined);
  assert.match(r.published[0]!.body?.reasonForUpdate ?? '', /^Package updates: libssl3/);
});

test("a spec's own reasonForUpdate wins over the diff", async () => {
  const r = await run('stub-own-reason', 'Monthly security rebuild');
  assert.equal(r.published[0]!.body?.reasonForUpdate, 'Monthly security rebuild');
});

test('a rebuild with the same packages publishes again only when the base image behind the slug changed', async () => {
  const same = await run('stub-same-base', STOCK_REASON_FOR_UPDATE, { packages: NEW, baseImageId: 1001 }, false);
  assert.equal(same.manifest.baseImageId, 1001);
  assert.equal(same.manifest.publish?.state, 'unchanged');
  assert.deepEqual(same.published, []);

  const rebased = await run('stub-new-base', STOCK_REASON_FOR_UPDATE, { packages: NEW, baseImageId: 999 });
  assert.equal(rebased.manifest.publish?.state, 'approved');
  assert.equal(rebased.published.length, 1);
  assert.equal(
    recorded.at(-1)?.baseImageId,
    1001,
    'the published record remembers the base image for the next rebuild',
  );
});

test('client schedule list says why each scheduled run published or not', async () => {
  const calls: string[] = [];
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: 'stub-schedule',
    workflowsPath: require.resolve('../../workflows'),
    activities: stubs(calls, [], [], { packages: NEW, baseImageId: 1001 }),
  });
  await worker.runUntil(async () => {
    const schedule = await env.client.schedule.create({
      scheduleId: 'rebuild-web',
      spec: { intervals: [{ every: '30d' }] },
      state: { paused: true },
      action: {
        type: 'startWorkflow',
        workflowType: 'buildImage',
        workflowId: 'build-web-scheduled',
        taskQueue: 'stub-schedule',
        args: [{ ...input('', STOCK_REASON_FOR_UPDATE), snapshotName: '' }],
      },
    });
    await schedule.trigger();
    let runId = '';
    for (let i = 0; i < 300 && !runId; i++) {
      const d = await schedule.describe();
      runId =
        d.info.recentActions[0] && 'workflow' in d.info.recentActions[0].action
          ? d.info.recentActions[0].action.workflow.workflowId
          : '';
      if (!runId) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(runId, 'the schedule started a run');
    await env.client.workflow.getHandle(runId).result();
  });
  const r = spawnSync(process.execPath, [path.join(REPO, 'dist/client/main.js'), 'schedule', 'list'], {
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /build-web-scheduled\S*: built — periodic rebuild for package updates; succeeded, publish unchanged — no package changed since image 41 \(build web-before\).*\(base image 1001\)/,
  );
});
