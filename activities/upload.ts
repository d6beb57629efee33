/**
 * upload: a file or a folder tree from the build context to the droplet, as one tar stream over
 * one SSH channel (not one request per file), verified where it landed (image/send-tree.ts).
 * Trailing-slash rules as in Packer/rsync: `src/` copies a folder's contents into dest, `src`
 * copies the folder itself into dest; a file goes to dest, or into dest when it ends in "/".
 * A missing, short or altered file fails the step.
 */
import type { ActivityDeps } from './runtime/deps';
import { sendTree } from './image/send-tree';
import type { UploadInput, UploadResult } from '../contract/steps';
import { planUpload } from './image/upload-plan';

export { planUpload };

export function upload(deps: ActivityDeps) {
  return async (input: UploadInput): Promise<UploadResult> =>
    sendTree(deps, input.droplet, input.step, { contextDigest: input.contextDigest, ...input.upload });
}
