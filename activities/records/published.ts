/**
 * The last image published per family, kept in the build store (published/<family>.json): a
 * scheduled rebuild whose packages did not change does not publish again, and retention never
 * deletes it.
 */
import type { ActivityDeps } from '../runtime/deps';
import type { PublishedRecord } from '../../contract/publish';

export const publishedKey = (family: string) => `published/${family}.json`;

export async function readPublished(deps: ActivityDeps, family: string): Promise<PublishedRecord | null> {
  const raw = await deps.store.get(publishedKey(family));
  return raw ? (JSON.parse(raw.toString()) as PublishedRecord) : null;
}
