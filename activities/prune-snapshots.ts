/**
 * prune-snapshots: retention. Keeps the newest `keep` snapshots of the image family (found by
 * its family tag) and deletes the older ones — never a protected one (the image just built, every
 * image ever submitted to the Marketplace, the images the app lists or reviews), and never an image
 * this project did not make (every snapshot a build makes carries its run's tag; a workflow input
 * cannot set such a tag). Safe to run twice: a second run finds less to delete.
 */
import { check, checked } from './runtime/check-input';
import { depsForInput } from './runtime/deps';
import type { ActivityDeps } from './runtime/deps';
import { RUN_TAG_PREFIX, familyTag } from '../contract/tags';
import { DoApiError } from '../platform/digitalocean';
import { publishedImages } from './records/published';
import type { PruneInput, PruneResult, SnapshotRef } from '../contract/steps';

interface ImageInfo {
  id: number;
  name: string;
  created_at: string;
  tags?: string[];
}

export function pruneSnapshots(workerDeps: ActivityDeps) {
  return async (input: PruneInput): Promise<PruneResult> => {
    checked(check.name, input.family, 'family');
    checked(check.keep, input.keep, 'keep');
    if (input.appId !== undefined) checked(check.appId, input.appId, 'appId');
    checked(check.imageIds, input.protect, 'protect');
    const deps = depsForInput(workerDeps, { api: input.api });
    const images: ImageInfo[] = [];
    for (let page = 1; ; page++) {
      const r = await deps.api.call('list family snapshots', (c) =>
        c.image.listImages({ tag_name: familyTag(input.family), page, per_page: 200 }),
      );
      const listed = r.data.images as unknown as ImageInfo[];
      // Only what a build of this project made: another image with the family's tag is not ours to delete.
      images.push(...listed.filter((i) => (i.tags ?? []).some((t) => t.startsWith(RUN_TAG_PREFIX))));
      if (listed.length < 200) break;
    }
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
        try {
          await deps.api.call('delete old snapshot', (c) => c.image.deleteImage({ image_id: img.id }));
        } catch (err) {
          if (!(err instanceof DoApiError && err.status === 404)) throw err;
        }
        result.deleted.push(ref(img));
      }
    }
    return result;
  };
}
