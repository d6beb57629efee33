/**
 * Every activity re-checks what it acts on (issue #19 §2), not only the first step: called
 * directly with a bad value — as a history edited after check-input could — each refuses it for
 * good before touching DigitalOcean, the Vendor API, the store or SSH.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { provision } from '../../activities/provision';
import { snapshot } from '../../activities/snapshot';
import { transfer } from '../../activities/transfer';
import { decideRebuild } from '../../activities/decide-rebuild';
import { publish } from '../../activities/publish';
import { reviewStatus } from '../../activities/review-status';
import { installFirstBoot } from '../../activities/install-first-boot';
import { runScript } from '../../activities/run-script';
import { planUpload } from '../../activities/upload';
import { install } from '../../activities/install';
import { shutdown } from '../../activities/shutdown';
import { deleteSnapshot } from '../../activities/snapshot';
import { verify } from '../../activities/verify';
import { pruneSnapshots } from '../../activities/prune-snapshots';
import { cleanup } from '../../activities/cleanup';
import type { ActivityDeps } from '../../activities/runtime/deps';

/** Dependencies that fail the test if anything reaches them. */
const untouchable = new Proxy({} as ActivityDeps, {
  get: (_t, prop) => {
    if (prop === 'then') return undefined;
    if (prop === 'workerSecrets') return ['ALLOWED'];
    throw new Error(`the activity reached deps.${String(prop)} before refusing its input`);
  },
});

async function refuses(run: () => Promise<unknown>, field: RegExp): Promise<void> {
  const err = await run().then(
    () => assert.fail('accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApplicationFailure, String(err));
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, field);
}

const ref = { buildId: 'b', dropletId: 1, ipv4: '10.0.0.1' };
const droplet = { image: 'debian-12-x64', region: 'nyc3', size: 's-1vcpu-1gb', tags: [] };

test('each activity refuses a bad value before acting', async () => {
  await refuses(
    () => provision(untouchable)({ buildId: 'b', name: 'x', keep: false, droplet: { ...droplet, region: 'nyc3/../' } }),
    /droplet\.region/,
  );
  await refuses(
    () => provision(untouchable)({ buildId: 'b', name: 'x', keep: false, droplet: { ...droplet, tags: ['a b'] } }),
    /droplet\.tags/,
  );
  await refuses(() => snapshot(untouchable)({ droplet: ref, name: 'a/b', tags: [] }), /refused input: name/);
  await refuses(() => snapshot(untouchable)({ droplet: ref, name: 'ok', tags: ['x y'] }), /tags/);
  await refuses(() => transfer(untouchable)({ imageId: 1, region: '../v2' }), /region/);
  // The base image goes into an API path (GET /v2/images/{slug}).
  await refuses(
    () =>
      decideRebuild(untouchable)({
        family: 'web',
        plan: { droplet: { ...droplet, image: '../account/keys' } },
        contextDigest: 'sha256-0',
        at: '2026-12-04T00:00:00Z',
      } as unknown as Parameters<ReturnType<typeof decideRebuild>>[0]),
    /plan\.droplet\.image/,
  );
  const pub = { buildId: 'b', imageId: 1, version: '1', reasonForUpdate: 'r', osVersion: 'd', softwareIncluded: [] };
  await refuses(() => publish(untouchable)({ ...pub, appId: '../../apps/x' }), /appId/);
  await refuses(() => reviewStatus(untouchable)({ appId: 'a?b=1' }), /appId/);
  await refuses(
    () =>
      installFirstBoot(untouchable)({
        droplet: ref,
        step: 'first-boot',
        contextDigest: 'sha256-0',
        vendor: '../etc',
        firstBoot: [],
      }),
    /vendor/,
  );
  const script = { kind: 'script' as const, run: 'true', label: 't' };
  const at = { droplet: ref, step: '01-script', contextDigest: 'sha256-0', script };
  await refuses(() => runScript(untouchable)({ ...at, env: { 'A;B': { value: 'x' } } }), /env/);
  await refuses(() => runScript(untouchable)({ ...at, env: { K: { value: 'a\0b' } } }), /NUL byte/);
  await refuses(() => runScript(untouchable)({ ...at, env: { K: { fromWorker: 'NOT_LISTED' } } }), /NOT_LISTED/);
  await refuses(() => runScript(untouchable)({ ...at, env: { K: { fromWorker: 'DIGITALOCEAN_TOKEN' } } }), /no build/);
  await refuses(() => planUpload('/tmp', 'x', 'relative/dest'), /dest/);
  await refuses(() => planUpload('/tmp', '../etc/passwd', '/x'), /src/);
  await refuses(() => planUpload('/tmp', 'x', '/x', '4755'), /mode/);
});

test('each activity checks the step, the droplet, the ids, retention and apt packages it acts on (issue #28)', async () => {
  const script = { kind: 'script' as const, run: 'true', label: 't' };
  const at = { droplet: ref, step: '01-script', contextDigest: 'sha256-0', script, env: {} };
  // A step id is a file name on the droplet and a word in a shell line there.
  await refuses(() => runScript(untouchable)({ ...at, step: '"$(touch /tmp/pwned)' }), /refused input: step:/);
  await refuses(() => cleanup(untouchable)({ droplet: ref, step: 'a b', contextDigest: 'sha256-0' }), /step/);
  // Every DropletRef field.
  for (const [field, bad] of [
    ['dropletId', -1],
    ['dropletId', 1.5],
    ['ipv4', '10.0.0.1; reboot'],
    ['hostKeyId', '../other'],
  ] as const) {
    const droplet = { ...ref, [field]: bad };
    await refuses(() => runScript(untouchable)({ ...at, droplet }), new RegExp(`droplet\\.${field}`));
    await refuses(() => shutdown(untouchable)(droplet), new RegExp(`droplet\\.${field}`));
    await refuses(() => snapshot(untouchable)({ droplet, name: 'ok', tags: [] }), new RegExp(`droplet\\.${field}`));
  }
  await refuses(
    () => shutdown(untouchable)({ ...ref, api: { retryMax: 1000 } }),
    /droplet\.api\.retryMax must be a whole number/,
  );
  await refuses(
    () =>
      install(untouchable)({
        droplet: ref,
        step: 'install',
        contextDigest: 'sha256-0',
        apt: { upgrade: false, packages: ['a;b'] },
      }),
    /refused input: apt\.packages\.0: must be a Debian package name/,
  );
  const prune = { family: 'web', keep: 2, protect: [] };
  await refuses(() => pruneSnapshots(untouchable)({ ...prune, keep: 0 }), /refused input: keep: must be at least 1/);
  await refuses(() => pruneSnapshots(untouchable)({ ...prune, keep: 1.5 }), /keep/);
  await refuses(() => pruneSnapshots(untouchable)({ ...prune, family: 'Web/../x' }), /family/);
  await refuses(() => pruneSnapshots(untouchable)({ ...prune, appId: 'a'.repeat(65) }), /appId/);
  await refuses(() => pruneSnapshots(untouchable)({ ...prune, protect: [0] }), /protect/);
  await refuses(() => transfer(untouchable)({ imageId: -3, region: 'nyc3' }), /imageId/);
  await refuses(() => deleteSnapshot(untouchable)({ imageId: 0 }), /imageId/);
  const pub = { buildId: 'b', appId: 'app', version: '1', reasonForUpdate: 'r', osVersion: 'd', softwareIncluded: [] };
  await refuses(() => publish(untouchable)({ ...pub, imageId: Number.NaN }), /imageId/);
  // As an activity of build "b": the body may not name another image than the one checked as the run's.
  const asB = new MockActivityEnvironment({ workflowExecution: { workflowId: 'b', runId: 'run-b' } });
  const body = { imageId: 7, version: '1' };
  await refuses(() => asB.run(publish(untouchable), { ...pub, imageId: 6, body }), /body\.imageId 7 is not the image/);
  await refuses(
    () => asB.run(publish(untouchable), { ...pub, buildId: 'a', imageId: 7, body }),
    /buildId "a" is not this build/,
  );
  const check = { buildId: 'b', step: 'verify', contextDigest: 'sha256-0', firstBoot: [], tests: [], env: {} };
  await refuses(() => verify(untouchable)({ ...check, imageId: 0, region: 'nyc3' }), /imageId/);
  await refuses(() => verify(untouchable)({ ...check, imageId: 1, region: 'NYC 3' }), /region/);
  await refuses(() => verify(untouchable)({ ...check, imageId: 1, region: 'nyc3', step: '$(x)' }), /step/);
});
