/**
 * verify: test the image as a customer gets it. A fresh droplet is made from the snapshot at the
 * smallest size the image fits; its first boot must finish without cloud-init errors and run
 * every first-boot script exactly once; then the image check and the spec's own tests run as
 * root. The test droplet is destroyed whatever happens. A leftover from a crashed attempt is
 * destroyed first, so every attempt tests a droplet that booted from the image just now.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { beat } from './runtime/heartbeat';
import type { ActivityDeps } from './runtime/deps';
import { BUILDER_TAG, buildTag } from '../contract/tags';
import { ownBuild } from './runtime/run-identity';
import { ownedImage } from './droplets/owned';
import { destroyTagged } from './droplets/destroy-tagged';
import { getImage } from './droplets/images';
import { listSizes } from './droplets/sizes';
import { deleteSshKey, deleteSshKeysNamed, registerSshKey } from './droplets/ssh-keys';
import { deriveHostKey, ed25519FromSeed } from '../platform/host-key';
import { IMAGE_CHECK_SCRIPT, parseImageCheck } from './image/check';
import { keyFields } from './image/key-fields';
import { usersBuilderKeyOpens } from './remote/builder-key-probe';
import { PER_INSTANCE_DIR } from './image/first-boot';
import { cloudConfig } from './image/cloud-config';
import { connectAddress, findOrCreate, waitActive } from './droplets/find-or-create';
import { check, checked } from './runtime/input-checks';
import { depsForInput } from './runtime/deps';
import { runOnDroplet } from './remote/run-on-droplet';
import { shq } from './remote/shell-quote';
import { runScriptOn } from './remote/script';
import type { DropletRef, VerifyInput, VerifyResult } from '../contract/steps';

export function verify(workerDeps: ActivityDeps) {
  return async (input: VerifyInput): Promise<VerifyResult> => {
    checked(check.imageId, input.imageId, 'imageId');
    checked(check.doRegion, input.region, 'region');
    checked(check.stepId, input.step, 'step');
    const deps = depsForInput(workerDeps, {
      ...(input.network ? { droplet: input.network } : {}),
      bastion: input.bastion,
      api: input.api,
      timeouts: { 'timeouts.state': input.stateTimeoutMs },
    });
    const me = ownBuild(input.buildId);
    await ownedImage(deps, input.imageId, 'imageId', 'use');
    const { connectWithPrivateIp, ...network } = input.network ?? {};
    // The run's own test droplet: another run of the same build id never finds it, nor its key.
    const tag = `${me.runTag}-verify`;
    // An earlier attempt's test droplet goes: every attempt tests a droplet booted from the image just now.
    const leftover = await destroyTagged(deps, tag);
    const notes: string[] = [];
    const size = await smallestSizeFor(deps, input.imageId, input.region, notes);
    const t0 = Date.now();
    const hostKeyId = `${me.hostKeyLabel}/verify`;
    // A one-time login key, registered for this droplet only: the builder's key must not open a
    // droplet made from the image, and verify proves it.
    const keyName = `image-forge-verify-${me.runTag}`;
    await deleteSshKeysNamed(deps, keyName);
    const oneTime = ed25519FromSeed(randomBytes(32));
    const blob = Buffer.from(oneTime.publicOpenSsh.split(/\s+/)[1] ?? '', 'base64');
    const fingerprint = createHash('md5')
      .update(blob)
      .digest('hex')
      .replace(/(..)(?!$)/g, '$1:');
    const keyId = await registerSshKey(deps, keyName, oneTime.publicOpenSsh);
    const created = await findOrCreate(deps, {
      lookupTag: tag,
      name: `verify-${input.imageId}`,
      region: input.region,
      size,
      image: input.imageId,
      // The build and run tags too: the build's final clean-up and the janitor find it like the build droplet.
      tags: [BUILDER_TAG, buildTag(me.buildId), me.runTag, tag],
      userData: cloudConfig(deriveHostKey(deps.hostKeySecret, hostKeyId)),
      sshKeys: [fingerprint],
      // destroyTagged just listed this tag and left nothing: no second look before the create.
      knownAbsent: leftover.destroyed.length === 0,
      ...network,
    });
    beat({ verifyDropletId: created.id });
    let loginRef: DropletRef | undefined;
    try {
      const active = await waitActive(deps, created, {
        ...(input.stateTimeoutMs !== undefined ? { timeoutMs: input.stateTimeoutMs } : {}),
        needPrivate: connectWithPrivateIp === true,
      });
      const ipv4 = connectAddress(active, connectWithPrivateIp, 'test droplet');
      const ref: DropletRef = {
        buildId: input.buildId,
        dropletId: created.id,
        ipv4,
        hostKeyId,
        ...(input.bastion ? { bastion: input.bastion } : {}),
      };
      deps.shells.useKey(ref, Buffer.from(oneTime.privateOpenSsh));
      loginRef = ref;
      const failures: string[] = [];

      await runOnDroplet(
        deps,
        ref,
        input.step,
        'wait for first boot',
        'cloud-init status --wait >/dev/null 2>&1; cloud-init status --long',
        { allowFailure: true },
      );
      const bootSeconds = (Date.now() - t0) / 1000;
      const ci = await runOnDroplet(deps, ref, input.step, 'cloud-init errors', CLOUD_INIT_ERRORS, {
        capture: true,
        allowFailure: true,
      });
      const ciErrors = ci.output.split('\n').filter((l) => l.trim() !== '');
      if (ci.exitCode !== 0 || ciErrors.length > 0)
        failures.push(`cloud-init reported errors: ${ciErrors.join('; ') || `exit ${ci.exitCode}`}`);

      const firstBoot: VerifyResult['firstBoot'] = [];
      for (const name of input.firstBoot) {
        // cloud-init logs "Running command ['…/per-instance/NNN_x']" once per run (newer versions
        // also log how long it took, in another line; identical lines are one run).
        const r = await runOnDroplet(
          deps,
          ref,
          input.step,
          `first-boot ${name}`,
          `grep -F 'Running command' /var/log/cloud-init.log | grep -F ${shq(`${PER_INSTANCE_DIR}/${name}'`)} | sort -u || true`,
          { capture: true },
        );
        const lines = r.output.split('\n').filter((l) => l.trim() !== '');
        firstBoot.push({ name, runs: lines.length });
        if (lines.length !== 1)
          failures.push(
            `first-boot script ${name} ran ${lines.length} times (expected once)${lines.length ? `: ${lines.map((l) => l.slice(0, 40)).join(' | ')}` : ''}`,
          );
      }

      // Only the one-time key may be there: any other, the builder's included, fails the check.
      const check = await runOnDroplet(
        deps,
        ref,
        input.step,
        'image check',
        `IMAGE_CHECK_AFTER_BOOT=1 LOGIN_KEY=${shq(keyFields(oneTime.publicOpenSsh))} bash -s`,
        { stdin: IMAGE_CHECK_SCRIPT, capture: true },
      );
      const validation = parseImageCheck(check.output);
      if (validation.passed === 0) failures.push('the image check printed no results');
      for (const f of validation.failures) failures.push(`image check: ${f}`);
      const opened = await usersBuilderKeyOpens(deps, ref, input.step);
      if (opened.length > 0)
        failures.push(
          `the builder's login key opens a droplet made from the image as ${opened.join(', ')} (the seal did not remove it)`,
        );

      const tests: VerifyResult['tests'] = [];
      for (const t of input.tests) {
        const r = await runScriptOn(deps, ref, input.step, input.contextDigest, t, input.env, { allowFailure: true });
        tests.push({ label: t.label, exitCode: r.exitCode, seconds: r.seconds });
        if (r.exitCode !== 0)
          failures.push(`test "${t.label}" exited with code ${r.exitCode}${r.tail.length ? `: ${r.tail.at(-1)}` : ''}`);
      }

      if (failures.length > 0) {
        throw ApplicationFailure.create({
          message: `the image failed on a fresh droplet: ${failures.join('; ')}`,
          type: FailureType.VerifyFailed,
          nonRetryable: true,
          details: [{ tail: failures }],
        });
      }
      return { dropletId: created.id, size, bootSeconds, firstBoot, validation, tests, notes };
    } finally {
      if (loginRef) deps.shells.releaseKey(loginRef);
      await destroyTagged(deps, tag);
      // This attempt's key, by its id (an earlier attempt's were deleted by name above).
      await deleteSshKey(deps, keyId);
    }
  };
}

/** Errors cloud-init recorded for this boot (result.json), one a line; nothing when clean. */
const CLOUD_INIT_ERRORS = `python3 - <<'EOF'
import json
try:
    r = json.load(open('/run/cloud-init/result.json'))
except Exception as e:
    print('no cloud-init result: %s' % e)
    raise SystemExit(0)
for e in (r.get('v1') or {}).get('errors') or []:
    print(e)
EOF`;
import { FailureType } from '../contract/failures';

/**
 * The cheapest size that can hold the image in its region (sizes whose disk is smaller than the
 * image's min_disk_size cannot). A note says so when cheaper sizes exist that cannot: the image
 * was built on a larger size than the smallest, and reviewers expect every size to work.
 */
async function smallestSizeFor(deps: ActivityDeps, imageId: number, region: string, notes: string[]): Promise<string> {
  const image = await getImage(deps, imageId);
  const sizes = await listSizes(deps);
  const offered = sizes
    .filter((s) => s.available && s.regions.includes(region))
    .sort((a, b) => a.price_monthly - b.price_monthly || a.memory - b.memory);
  const fits = offered.filter((s) => s.disk >= image.min_disk_size);
  const pick = fits[0];
  if (!pick)
    throw ApplicationFailure.create({
      message: `no size in ${region} has a disk of ${image.min_disk_size} GB for image ${imageId}`,
      type: FailureType.VerifyFailed,
      nonRetryable: true,
    });
  const smaller = offered.filter((s) => s.price_monthly < pick.price_monthly).map((s) => s.slug);
  if (smaller.length > 0)
    notes.push(
      `the image needs a ${image.min_disk_size} GB disk, so ${smaller.join(', ')} cannot use it: build on the smallest size`,
    );
  return pick.slug;
}
