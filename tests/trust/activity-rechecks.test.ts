/**
 * Every activity re-checks what it acts on (issue #19 §2), not only the first step: called
 * directly with a bad value — as a history edited after check-input could — each refuses it for
 * good before touching DigitalOcean, the Vendor API, the store or SSH.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { provision } from '../../activities/provision';
import { snapshot } from '../../activities/snapshot';
import { transfer } from '../../activities/transfer';
import { decideRebuild } from '../../activities/decide-rebuild';
import { publish } from '../../activities/publish';
import { reviewStatus } from '../../activities/review-status';
import { installFirstBoot } from '../../activities/install-first-boot';
import { runScript } from '../../activities/run-script';
import { planUpload } from '../../activities/upload';
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
