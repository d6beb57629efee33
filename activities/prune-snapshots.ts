/**
 * prune-snapshots: retention. Keeps the newest `keep` snapshots of the image family (found by
 * its family tag) and deletes the older ones — never a protected one (the image just built, every
 * image ever submitted to the Marketplace, the images the app lists or reviews), and never an image
 * this project did not make (every snapshot a build makes carries its run's tag; a workflow input
 * cannot set such a tag). Safe to run twice: a second run finds less to delete.
 */
import { check, checked } from './runtime/input-checks';
import { depsForInput } from './runtime/deps';
import type { ActivityDeps } from './runtime/deps';
import { RUN_TAG_PREFIX, familyTag } from '../contract/tags';
import { publishedImages } from './records/published';
import { deleteImage, listTaggedImages } from './droplets/images';
import type { ImageInfo } from './droplets/images';
import type { PruneInput, PruneResult, SnapshotRef } from '../contract/steps';

export function pruneSnapshots(workerDeps: ActivityDeps) {
  return async (input: PruneInput): Promise<PruneResult> => {
    checked(check.name, input.family, 'family');
    checked(check.keep, input.keep, 'keep');
    if (input.appId !== undefined) checked(check.appId, input.appId, 'appId');
    checked(check.imageIds, input.protect, 'protect');
    const deps = depsForInput(workerDeps, { api: input.api });
    // Only what a build of this project made: another image with the family's tag is not ours to delete.
    const images = (await listTaggedImages(deps, familyTag(input.family), 'list family snapshots')).filter((i) =>
      (i.tags ?? []).some((t) => t.startsWith(RUN_TAG_PREFIX)),
    );
    const protect = new Set(input.protect);
    // Every image this project ever submitted for the family: a listing may use it.
    for (const id of await publishedImages(deps, input.family)) protect.add(id);
    // The app's live and in-review images, when the Vendor API lets us read them (transient
    // failures fail the step rather than guess; a read it does not serve leaves our own records).
    if (input.appId) {
      const app = await deps.vendor.status(input.appId);
      for (const id of app?.imageIds ?? []) protect.add(id);
      if (app?.imageId !== undefined) protect.add(app.imageId);
    }
    // Newest first; ties (same second) by id, which grows.
    images.sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id);
    const ref = (i: ImageInfo): SnapshotRef => ({ id: i.id, name: i.name });
    const result: PruneResult = { kept: [], deleted: [], protected: [] };
    for (const [n, img] of images.entries()) {
      if (n < input.keep) result.kept.push(ref(img));
      else if (protect.has(img.id)) result.protected.push(ref(img));
      else {
        await deleteImage(deps, img.id, 'delete old snapshot');
        result.deleted.push(ref(img));
      }
    }
    return result;
  };
}
