/**
 * snapshot: of the powered-off droplet. Safe to run twice: a snapshot of this name on this
 * droplet means it is done; an action id in the last heartbeat is followed instead of posting a
 * new one. An `errored` action fails the attempt (retried with a new action). The snapshot
 * action does not say the image id, so it is found by name, then tagged.
 * Its undo, deleteSnapshot, sits below: it deletes only an image of this run.
 */
import { DoApiError } from '../platform/digitalocean';
import { Context } from '@temporalio/activity';
import { beat } from './runtime/heartbeat';
import type { ActivityDeps } from './runtime/deps';
import { postDropletAction, waitAction } from './droplets/actions';
import { getAction } from './droplets/actions';
import type { ApiRetry, SnapshotInput, SnapshotResult } from '../contract/steps';
import { check, checked } from './runtime/input-checks';
import { depsForInput } from './runtime/deps';
import { runIdentity } from './runtime/run-identity';
import { ownedImage } from './droplets/owned';
import { deleteImage, listDropletSnapshots, tagImage } from './droplets/images';
import type { DropletSnapshot } from './droplets/images';

export function snapshot(workerDeps: ActivityDeps) {
  return async (input: SnapshotInput): Promise<SnapshotResult> => {
    checked(check.snapshotName, input.name, 'name');
    checked(check.tags, input.tags, 'tags');
    const deps = depsForInput(workerDeps, {
      ref: input.droplet,
      api: input.api,
      timeouts: { 'timeouts.snapshot': input.timeoutMs },
    });
    const id = input.droplet.dropletId;
    let snap = await findByName(deps, id, input.name);
    if (!snap) {
      const resumed = (Context.current().info.heartbeatDetails as { actionId?: number } | undefined)?.actionId;
      let actionId = resumed;
      if (actionId !== undefined) {
        const a = await getAction(deps, actionId);
        if (a.status === 'errored') actionId = undefined;
      }
      const posted = actionId === undefined;
      if (actionId === undefined) actionId = (await postDropletAction(deps, id, 'snapshot', { name: input.name })).id;
      beat({ actionId });
      // An errored action throws here; the retry sees it errored and posts a new one.
      await waitAction(
        deps,
        () => getAction(deps, actionId),
        { step: 'snapshot' },
        input.timeoutMs ?? 4 * 60 * 60_000,
        input.timeoutMs !== undefined ? 'timeouts.snapshot' : undefined,
        posted,
      );
      snap = await findByName(deps, id, input.name);
      if (!snap)
        throw new Error(`snapshot action completed but no snapshot named ${input.name} is listed for droplet ${id}`);
    }
    const imageId = Number(snap.id);
    // The run's tag marks the image as this run's: its undo, retention, transfer and publish act only on such.
    for (const tag of [runIdentity().runTag, ...input.tags]) await tagImage(deps, tag, imageId);
    return { id: imageId, name: snap.name, regions: snap.regions, sizeGigabytes: snap.size_gigabytes };
  };
}

/** Names are not unique at DigitalOcean; the newest with our name on our droplet is ours. */
async function findByName(deps: ActivityDeps, dropletId: number, name: string): Promise<DropletSnapshot | undefined> {
  return (await listDropletSnapshots(deps, dropletId)).filter((s) => s.name === name).at(-1);
}

/** The undo of snapshot (a build that fails or is aborted before its image is verified). Gone already is done. */
export function deleteSnapshot(workerDeps: ActivityDeps) {
  return async (input: { imageId: number; api?: ApiRetry }): Promise<{ deleted: boolean }> => {
    checked(check.imageId, input.imageId, 'imageId');
    const deps = depsForInput(workerDeps, { api: input.api });
    try {
      await ownedImage(deps, input.imageId, 'imageId', 'delete');
    } catch (err) {
      if (err instanceof DoApiError && err.status === 404) return { deleted: false };
      throw err;
    }
    return { deleted: await deleteImage(deps, input.imageId, 'delete snapshot') };
  };
}
