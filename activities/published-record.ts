/** last-published / record-published: read and write the family's last published image. */
import type { ActivityDeps } from './runtime/deps';
import { readPublished, writePublished } from './records/published';
import type { PublishedRecord } from '../contract/marketplace';
import { check, checked } from './runtime/input-checks';
import { ownBuild } from './runtime/run-identity';
import { ownedImage } from './droplets/owned';

export function lastPublished(deps: ActivityDeps) {
  return async (input: { family: string }): Promise<PublishedRecord | null> =>
    readPublished(deps, checked(check.name, input.family, 'family'));
}

export function recordPublished(deps: ActivityDeps) {
  return async (record: PublishedRecord): Promise<void> => {
    checked(check.name, record.family, 'family');
    // Only the build that published the image records it as the family's published image.
    ownBuild(record.buildId);
    await ownedImage(deps, record.imageId, 'imageId', 'use');
    await writePublished(deps, record);
  };
}
