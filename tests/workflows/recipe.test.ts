/**
 * The recipe as a table (workflows/build.ts RECIPE) and its pure input builders
 * (workflows/recipe/inputs.ts): checked without Temporal, as plain data and functions.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { RECIPE } from '../../workflows/build';
import type { RecipeEntry, StepEntry } from '../../workflows/recipe/entry';
import { dropletOf, inputs, specStepName } from '../../workflows/recipe/inputs';
import type { SoFar } from '../../workflows/recipe/inputs';
import { createActivities } from '../../activities';
import type { ActivityDeps } from '../../activities/runtime/deps';
import type { BuildInput } from '../../contract/build';
import type { BuildPlan } from '../../contract/plan';
import { familyTag } from '../../contract/names';

function plan(extra: Partial<BuildPlan> = {}): BuildPlan {
  return {
    name: 'web',
    vendor: 'acme',
    droplet: { image: 'debian-12-x64', region: 'nyc3', size: 's-1vcpu-1gb', tags: [] },
    apt: { upgrade: false, packages: ['nginx'] },
    steps: [
      { kind: 'upload', src: 'files/', dest: '/opt/web/' },
      { kind: 'script', path: 'setup.sh', label: 'setup.sh' },
    ],
    firstBoot: [],
    env: {},
    snapshot: { regions: ['sfo3'], tags: ['web'] },
    ...extra,
  } as BuildPlan;
}

function soFar(p: BuildPlan, more: Partial<SoFar> = {}): SoFar {
  const input: BuildInput = {
    buildId: 'web-20261208T000000Z',
    plan: p,
    contextDigest: 'sha256:ctx',
    mode: 'image',
    snapshotName: 'web-20261208T000000Z',
  };
  return {
    input,
    manifest: { buildId: input.buildId, status: 'failed', mode: 'image', name: p.name, steps: [] } as never,
    release: true,
    ...more,
  };
}

const droplet = { buildId: 'web-20261208T000000Z', dropletId: 7, ipv4: '10.0.0.7' };
const snapshot = { id: 42, name: 'web-20261208T000000Z', regions: ['nyc3'], sizeGigabytes: 1 };

function stepEntries(entries: readonly RecipeEntry[]): StepEntry[] {
  return entries.filter((e): e is StepEntry => e.kind === 'step');
}

test('the recipe lists each step once, in the order a build runs them, with an activity the worker has', () => {
  const names = RECIPE.map((e) => e.name);
  const order = [
    'check-input',
    'decide',
    'provision',
    'install',
    "the spec's steps",
    'first-boot',
    'cleanup',
    'validate',
    'shutdown',
    'snapshot',
    'transfers',
    'verify',
    'record-build',
    'retention',
  ];
  const positions = order.map((n) => names.indexOf(n));
  assert.ok(
    positions.every((p) => p >= 0),
    `every step is in the recipe: ${JSON.stringify(positions)}`,
  );
  assert.deepEqual(
    [...positions].sort((a, b) => a - b),
    positions,
    'in build order',
  );
  const activities = createActivities({} as ActivityDeps);
  for (const e of stepEntries(RECIPE)) {
    assert.equal(typeof activities[e.activity], 'function', `${e.name}: the worker registers ${e.activity}`);
    if (e.undo) assert.equal(typeof activities[e.undo.activity], 'function', `${e.name}'s undo`);
  }
  // Only the checks that come before any droplet may end the build without the operator.
  const finals = stepEntries(RECIPE)
    .filter((e) => e.leeway === 'final')
    .map((e) => e.name);
  assert.deepEqual(finals, ['check-input', 'decide']);
  assert.deepEqual(
    RECIPE.slice(0, 2).map((e) => e.name),
    finals,
  );
});

test('each undo sits on the step that makes what it undoes', () => {
  const provision = stepEntries(RECIPE).find((e) => e.name === 'provision')!;
  assert.equal(provision.undo?.activity, 'destroy');
  assert.equal(provision.undo?.registered, 'before', 'a half-done provision may have made the droplet');
  const snap = stepEntries(RECIPE).find((e) => e.name === 'snapshot')!;
  assert.equal(snap.undo?.activity, 'deleteSnapshot');
  assert.equal(snap.undo?.registered, 'after');
});

test("the spec's steps are named by their place and kind", () => {
  const p = plan();
  assert.equal(specStepName(0, p.steps[0]!), '01-upload');
  assert.equal(specStepName(1, p.steps[1]!), '02-script');
  assert.equal(specStepName(11, p.steps[1]!), '12-script');
});

test('provision: the context digest only for user data, and only the options the spec sets', () => {
  const b = soFar(plan());
  const bare = inputs.provision(b, 'sha256:d');
  assert.deepEqual(bare, {
    buildId: b.input.buildId,
    name: 'web',
    keep: false,
    droplet: b.input.plan.droplet,
  });
  const p = plan({
    droplet: { ...plan().droplet, userData: { path: 'cloud-init.yaml' } },
    api: { maxAttempts: 3 } as BuildPlan['api'],
    timeouts: { stateMs: 60_000 },
  });
  const full = inputs.provision(soFar(p, { input: { ...soFar(p).input, mode: 'base' } }), 'sha256:d');
  assert.equal(full.contextDigest, 'sha256:d');
  assert.equal(full.keep, true, 'a base build keeps its droplet');
  assert.equal(full.stateTimeoutMs, 60_000);
  assert.deepEqual(full.api, { maxAttempts: 3 });
});

test('a step on the droplet needs provision first, and names itself', () => {
  const before = soFar(plan());
  assert.throws(() => inputs.install(before, 'd'), /before provision made it/);
  const b = soFar(plan(), { droplet });
  assert.deepEqual(inputs.install(b, 'd'), { droplet, step: 'install', contextDigest: 'd', apt: b.input.plan.apt });
  const script = b.input.plan.steps[1]!;
  assert.ok(script.kind === 'script');
  assert.deepEqual(inputs.runScript(b, 'd', '02-script', script), {
    droplet,
    step: '02-script',
    contextDigest: 'd',
    script,
    env: {},
  });
  assert.deepEqual(inputs.shutdown(b), droplet);
});

test('snapshot: the family tag only once the release is in; transfers wait unless told not to', () => {
  const b = soFar(plan(), { droplet });
  assert.deepEqual(inputs.snapshot(b).tags, ['web', familyTag('web')]);
  assert.deepEqual(inputs.snapshot({ ...b, release: false }).tags, ['web']);
  assert.throws(() => inputs.transfer(b, 'sfo3', false), /before the snapshot step/);
  const s = { ...b, snapshot };
  assert.deepEqual(inputs.transfer(s, 'sfo3', false), { imageId: 42, region: 'sfo3' });
  assert.deepEqual(inputs.transfer(s, 'sfo3', true), { imageId: 42, region: 'sfo3', wait: false });
  assert.deepEqual(inputs.deleteSnapshot(s), { imageId: 42 });
});

test("verify: the image, the first-boot scripts' names and the build droplet's network", () => {
  const p = plan({
    firstBoot: ['boot/one.sh'],
    droplet: { ...plan().droplet, vpcUuid: 'vpc-1', privateNetworking: true },
  });
  const v = inputs.verify({ ...soFar(p), droplet, snapshot }, 'd');
  assert.equal(v.imageId, 42);
  assert.equal(v.buildId, 'web-20261208T000000Z');
  assert.equal(v.firstBoot.length, 1);
  assert.deepEqual(v.network, { vpcUuid: 'vpc-1', privateNetworking: true });
  const plain = inputs.verify({ ...soFar(plan()), droplet, snapshot }, 'd');
  assert.equal('network' in plain, false, 'no network options: the input stays as before');
});

test('retention protects the new image; record-build carries the base image id when known', () => {
  const b = { ...soFar(plan({ marketplace: { appId: 'app-1' } as BuildPlan['marketplace'] }), { droplet, snapshot }) };
  assert.deepEqual(inputs.pruneSnapshots(b, 3), { family: 'web', keep: 3, protect: [42], appId: 'app-1' });
  const r = inputs.recordBuild({ ...b, manifest: { ...b.manifest, baseImageId: 9 } }, 'd', '2026-12-08T00:00:00.000Z');
  assert.equal(r.baseImageId, 9);
  assert.equal(r.snapshotId, 42);
  assert.equal('baseImageId' in inputs.recordBuild(b, 'd', 'x'), false);
});

test('dropletOf refuses before provision', () => {
  assert.throws(() => dropletOf(soFar(plan())), /before provision/);
});
