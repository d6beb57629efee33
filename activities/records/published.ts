/**
 * What the build store remembers of publishing, per image family: the last image published
 * (published/<family>.json), so a scheduled rebuild whose packages did not change does not publish
 * again; and every image ever submitted (published/<family>.images.json), which retention never
 * deletes — a listing may still use one, and without a status read nobody can tell which.
 */
import type { ActivityDeps } from '../runtime/deps';
import type { PublishedRecord } from '../../contract/marketplace';

export const publishedKey = (family: string) => `published/${family}.json`;
const imagesKey = (family: string) => `published/${family}.images.json`;

export async function readPublished(deps: ActivityDeps, family: string): Promise<PublishedRecord | null> {
  const raw = await deps.store.get(publishedKey(family));
  return raw ? (JSON.parse(raw.toString()) as PublishedRecord) : null;
}

/** Writes the family's published record (the record-published step does, after its checks). */
export async function writePublished(deps: ActivityDeps, record: PublishedRecord): Promise<void> {
  await deps.store.put(publishedKey(record.family), Buffer.from(JSON.stringify(record, null, 2)));
}

/** Every image of the family ever submitted to the Marketplace (and the last published one). */
export async function publishedImages(deps: ActivityDeps, family: string): Promise<number[]> {
  const raw = await deps.store.get(imagesKey(family));
  const ids = raw ? (JSON.parse(raw.toString()) as number[]) : [];
  const last = await readPublished(deps, family);
  return [...new Set([...ids, ...(last ? [last.imageId] : [])])];
}

/** Adds an image to the family's submitted images (idempotent). */
export async function rememberPublished(deps: ActivityDeps, family: string, imageId: number): Promise<void> {
  const ids = await publishedImages(deps, family);
  if (ids.includes(imageId)) return;
  await deps.store.put(imagesKey(family), Buffer.from(JSON.stringify([...ids, imageId].sort((a, b) => a - b))));
}
