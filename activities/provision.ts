/**
 * provision: create the build droplet — or find the one an earlier attempt of this run created,
 * by the run's tag (never an older run's, even of the same build id) — then wait until it is active, SSH answers with the pinned host key, and
 * cloud-init has finished (it holds the dpkg lock during first boot).
 * Its undo, destroyBuildDroplet, sits below: it deletes every droplet of the run.
 */
import { beat } from './runtime/heartbeat';
import type { ActivityDeps } from './runtime/deps';
import { BUILDER_TAG, KEEP_TAG, buildTag, dropletName } from '../contract/tags';
import { ownBuild } from './runtime/run-identity';
import { ownership } from './droplets/owned';
import { deriveHostKey } from '../platform/host-key';
import { connectAddress, findOrCreate, waitActive } from './droplets/find-or-create';
import { destroyTagged } from './droplets/destroy-tagged';
import { UserDataError, buildUserData, cloudConfig } from './image/cloud-config';
import { runOnDroplet } from './remote/run-on-droplet';
import { check, checked, refuseIf } from './runtime/input-checks';
import { depsForInput } from './runtime/deps';
import { readContextFile } from './runtime/context-files';
import { USER_DATA_MAX_BYTES } from '../contract/plan-checks';
import type { DropletPlan } from '../contract/plan';
import type { ApiRetry, DropletRef, ProvisionInput, ProvisionResult } from '../contract/steps';

export function provision(workerDeps: ActivityDeps) {
  return async (input: ProvisionInput): Promise<ProvisionResult> => {
    checked(check.buildId, input.buildId, 'buildId');
    checked(check.name, input.name, 'name');
    checked(check.dropletSpec, input.droplet, 'droplet');
    const deps = depsForInput(workerDeps, {
      droplet: input.droplet,
      bastion: input.bastion,
      api: input.api,
      timeouts: { 'timeouts.state': input.stateTimeoutMs },
    });
    const me = ownBuild(input.buildId);
    const t0 = Date.now();
    const hostKey = deriveHostKey(deps.hostKeySecret, me.hostKeyLabel);
    const { userData: vendorUserData, connectWithPrivateIp, ...droplet } = input.droplet;
    const userData = await combinedUserData(deps, cloudConfig(hostKey), vendorUserData, input.contextDigest);
    const created = await findOrCreate(deps, {
      lookupTag: me.runTag,
      name: dropletName(input.name, input.buildId),
      ...droplet,
      tags: [BUILDER_TAG, buildTag(me.buildId), me.runTag, ...(input.keep ? [KEEP_TAG] : []), ...input.droplet.tags],
      userData,
    });
    beat({ dropletId: created.id });
    const active = await waitActive(deps, created, {
      ...(input.stateTimeoutMs !== undefined ? { timeoutMs: input.stateTimeoutMs } : {}),
      needPrivate: connectWithPrivateIp === true,
    });
    const ipv4 = connectAddress(active, connectWithPrivateIp, 'droplet');
    const ref: DropletRef = {
      buildId: input.buildId,
      dropletId: active.id,
      ipv4,
      ...(input.bastion ? { bastion: input.bastion } : {}),
    };
    const connect = { ...ref, hostKeyId: me.hostKeyLabel };
    // Waits for SSH (pinned key), then for first boot to finish.
    const ci = await runOnDroplet(
      deps,
      connect,
      'provision',
      'wait for cloud-init',
      'cloud-init status --wait >/dev/null; cloud-init status --long',
      {
        allowFailure: true,
      },
    );
    if (!/status: done/.test(ci.tail.join('\n'))) {
      throw new Error(`cloud-init did not finish cleanly on droplet ${active.id}: ${ci.tail.slice(-3).join(' / ')}`);
    }
    return {
      ...ref,
      dropletName: dropletName(input.name, input.buildId),
      hostKeyFingerprint: hostKey.fingerprint,
      bootSeconds: (Date.now() - t0) / 1000,
      ...(typeof active.image?.id === 'number' ? { baseImageId: active.image.id } : {}),
    };
  };
}

/**
 * The undo of provision: delete every droplet of this run — the one provision made, any an
 * interrupted provision left, and a test droplet verify left — and wait until none is listed.
 * Runs after success, failure, abort and cancellation alike. A droplet of a build started before
 * run tags (no run tag, no keep tag) is found by the build's tag, as then.
 */
export function destroyBuildDroplet(workerDeps: ActivityDeps) {
  return async (input: { buildId: string; api?: ApiRetry }): Promise<{ destroyed: number[] }> => {
    const me = ownBuild(input.buildId);
    const deps = depsForInput(workerDeps, { api: input.api });
    // Listed by the build's tag, deleted only when the run's own (one list, not one per tag).
    return destroyTagged(deps, buildTag(me.buildId), (d) => ownership(d.tags ?? [], me) !== undefined);
  };
}

/** The builder's cloud-config, with the spec's user data (inline, or a file of the build context) when it has some. */
async function combinedUserData(
  deps: ActivityDeps,
  builder: string,
  vendor: DropletPlan['userData'],
  contextDigest: string | undefined,
): Promise<string> {
  if (vendor === undefined) return builder;
  let text: string;
  if ('text' in vendor) text = vendor.text;
  else {
    const rel = vendor.path;
    if (rel.startsWith('/') || rel.split('/').includes('..'))
      refuseIf([`droplet.userData.path must be a path inside the build context, not ${JSON.stringify(rel)}`]);
    if (!contextDigest) refuseIf(['droplet.userData.path needs the build context (no context digest in the input)']);
    const bytes = await readContextFile(deps, contextDigest!, rel);
    if (bytes.length > USER_DATA_MAX_BYTES)
      refuseIf([
        `droplet.userData file ${rel} is ${bytes.length} bytes: DigitalOcean takes at most 64 KiB of user data`,
      ]);
    text = bytes.toString('utf8');
  }
  let combined: string;
  try {
    combined = buildUserData(builder, text);
  } catch (err) {
    if (err instanceof UserDataError) refuseIf([err.message]);
    throw err;
  }
  const size = Buffer.byteLength(combined);
  if (size > USER_DATA_MAX_BYTES)
    refuseIf([
      `droplet.userData with the builder's own cloud-config makes ${size} bytes of user data: DigitalOcean takes at most 64 KiB`,
    ]);
  return combined;
}
