/**
 * provision: create the build droplet — or find the one an earlier attempt created, by this
 * build's tag — then wait until it is active, SSH answers with the pinned host key, and
 * cloud-init has finished (it holds the dpkg lock during first boot).
 * Its undo, destroyBuildDroplet, sits below: it deletes every droplet with the build's tag.
 */
import { beat } from './runtime/heartbeat';
import type { ActivityDeps } from './runtime/deps';
import { BUILDER_TAG, KEEP_TAG, buildTag, dropletName } from '../contract/tags';
import { deriveHostKey } from '../platform/host-key';
import { findOrCreate, waitActive } from './droplets/find-or-create';
import { destroyTagged } from './droplets/destroy-tagged';
import { cloudConfig } from './image/cloud-config';
import { runOnDroplet } from './remote/run-on-droplet';
import type { ProvisionInput, ProvisionResult } from '../contract/steps';
import { check, checked } from './runtime/check-input';

export function provision(deps: ActivityDeps) {
  return async (input: ProvisionInput): Promise<ProvisionResult> => {
    checked(check.buildId, input.buildId, 'buildId');
    checked(check.name, input.name, 'name');
    checked(check.dropletSpec, input.droplet, 'droplet');
    const t0 = Date.now();
    const tag = buildTag(input.buildId);
    const hostKey = deriveHostKey(deps.hostKeySecret, input.buildId);
    const created = await findOrCreate(deps, {
      lookupTag: tag,
      name: dropletName(input.name, input.buildId),
      ...input.droplet,
      tags: [BUILDER_TAG, tag, ...(input.keep ? [KEEP_TAG] : []), ...input.droplet.tags],
      userData: cloudConfig(hostKey),
    });
    beat({ dropletId: created.id });
    const active = await waitActive(deps, created.id);
    const ipv4 = active.networks?.v4?.find((n) => n.type === 'public')?.ip_address;
    if (!ipv4) throw new Error(`droplet ${created.id} is active but has no public IPv4`);
    const ref = { buildId: input.buildId, dropletId: active.id, ipv4 };
    // Waits for SSH (pinned key), then for first boot to finish.
    const ci = await runOnDroplet(
      deps,
      ref,
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
 * The undo of provision: delete every droplet carrying this build's tag — the one provision made,
 * any an interrupted provision left, and a test droplet verify left — and wait until none is
 * listed. Runs after success, failure, abort and cancellation alike.
 */
export function destroyBuildDroplet(deps: ActivityDeps) {
  return async (input: { buildId: string }): Promise<{ destroyed: number[] }> =>
    destroyTagged(deps, buildTag(input.buildId));
}
