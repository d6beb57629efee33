/**
 * transfer: copy the snapshot to one more region (one activity per region, run in parallel).
 * `wait: false` (snapshot.waitForTransfer: false) starts the copy and returns the regions the
 * image is in now; the copy goes on at DigitalOcean.
 */
import { Context } from '@temporalio/activity';
import { beat } from './runtime/heartbeat';
import type { ActivityDeps } from './runtime/deps';
import { waitAction } from './droplets/actions';
import { check, checked } from './runtime/input-checks';
import { depsForInput } from './runtime/deps';
import { checkImageTags } from './droplets/owned';
import { getImage, getImageAction, postImageTransfer } from './droplets/images';
import type { TransferInput } from '../contract/steps';

export function transfer(workerDeps: ActivityDeps) {
  return async (input: TransferInput): Promise<string[]> => {
    checked(check.doRegion, input.region, 'region');
    checked(check.imageId, input.imageId, 'imageId');
    const deps = depsForInput(workerDeps, { api: input.api, timeouts: { 'timeouts.transfer': input.timeoutMs } });
    const image = () => getImage(deps, input.imageId);
    const before = await image();
    checkImageTags(before.tags, input.imageId, 'imageId', 'use');
    if (before.regions.includes(input.region)) return before.regions;
    const getIt = (id: number) => getImageAction(deps, input.imageId, id);
    let actionId = (Context.current().info.heartbeatDetails as { actionId?: number } | undefined)?.actionId;
    if (actionId !== undefined && (await getIt(actionId)).status === 'errored') actionId = undefined;
    const posted = actionId === undefined;
    if (actionId === undefined) {
      actionId = (await postImageTransfer(deps, input.imageId, input.region)).id;
    }
    beat({ actionId });
    if (input.wait === false) return before.regions;
    const id = actionId;
    await waitAction(
      deps,
      () => getIt(id),
      { region: input.region },
      input.timeoutMs ?? 12 * 60 * 60_000,
      input.timeoutMs !== undefined ? 'timeouts.transfer' : undefined,
      posted,
    );
    // The copy completed: the image is in that region too (no need to ask again).
    return [...new Set([...before.regions, input.region])];
  };
}
