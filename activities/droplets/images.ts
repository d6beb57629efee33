/**
 * What the steps ask DigitalOcean about images (snapshots): find, list, tag, copy and delete.
 * Each call is named as the API-call counts and logs name it. Deleting an image that is gone
 * already counts as done.
 */
import { DoApiError } from '../../platform/digitalocean';
import type { ActivityDeps } from '../runtime/deps';

/** An image as the steps read it (the fields they use). */
export interface ImageInfo {
  id: number;
  name: string;
  regions: string[];
  created_at: string;
  min_disk_size: number;
  size_gigabytes: number;
  tags?: string[];
}

/** A snapshot as a droplet's snapshot list shows it. */
export interface DropletSnapshot {
  id: number | string;
  name: string;
  regions: string[];
  size_gigabytes: number;
}

export interface ImageAction {
  id: number;
  status: 'in-progress' | 'completed' | 'errored';
  type: string;
}

const PAGE = 200;

/** An image by id, or a public image by its slug (a number means an id). */
export async function getImage(deps: ActivityDeps, image: number | string, what = 'get image'): Promise<ImageInfo> {
  const byId = typeof image === 'number' || /^\d+$/.test(image);
  const r = await deps.api.call(what, (c) =>
    c.image.getImage(byId ? { image_id: Number(image) } : { slug: String(image) }),
  );
  return r.data.image as unknown as ImageInfo;
}

/** The snapshots of one droplet, oldest first. */
export async function listDropletSnapshots(deps: ActivityDeps, dropletId: number): Promise<DropletSnapshot[]> {
  const r = await deps.api.call('list droplet snapshots', (c) =>
    c.droplet.listDropletSnapshots({ droplet_id: dropletId, per_page: PAGE }),
  );
  return r.data.snapshots as unknown as DropletSnapshot[];
}

/** Every image with a tag, all pages. */
export async function listTaggedImages(deps: ActivityDeps, tag: string, what: string): Promise<ImageInfo[]> {
  const images: ImageInfo[] = [];
  for (let page = 1; ; page++) {
    const r = await deps.api.call(what, (c) => c.image.listImages({ tag_name: tag, page, per_page: PAGE }));
    const listed = r.data.images as unknown as ImageInfo[];
    images.push(...listed);
    if (listed.length < PAGE) return images;
  }
}

/** Deletes an image; false when it was gone already. */
export async function deleteImage(deps: ActivityDeps, imageId: number, what: string): Promise<boolean> {
  try {
    await deps.api.call(what, (c) => c.image.deleteImage({ image_id: imageId }));
    return true;
  } catch (err) {
    if (err instanceof DoApiError && err.status === 404) return false;
    throw err;
  }
}

/** Tags the image; the tag is created only when it does not exist yet (after the first build, it does). */
export async function tagImage(deps: ActivityDeps, tag: string, imageId: number): Promise<void> {
  const tagIt = () =>
    deps.api.call('tag snapshot', (c) =>
      c.tag.tagResources({ tag_name: tag, resources: [{ resource_id: String(imageId), resource_type: 'image' }] }),
    );
  try {
    await tagIt();
  } catch (err) {
    if (!(err instanceof DoApiError && err.status === 404)) throw err;
    await deps.api.call('create tag', (c) => c.tag.createTag({ name: tag }));
    await tagIt();
  }
}

/** Starts copying an image to a region; the action follows the copy. */
export async function postImageTransfer(deps: ActivityDeps, imageId: number, region: string): Promise<ImageAction> {
  const r = await deps.api.call('transfer image', (c) => c.image.transferImage({ image_id: imageId, region }));
  return r.data.action as unknown as ImageAction;
}

export async function getImageAction(deps: ActivityDeps, imageId: number, actionId: number): Promise<ImageAction> {
  const r = await deps.api.call('get image action', (c) =>
    c.image.getImageAction({ image_id: imageId, action_id: actionId }),
  );
  return r.data.action as unknown as ImageAction;
}
