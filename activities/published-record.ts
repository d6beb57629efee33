/**
 * The last image published per family, kept in the build store (published/<family>.json), so a
 * scheduled rebuild whose packages did not change does not publish again.
 */
import type { ActivityDeps } from './deps';
import type { PublishedRecord } from '../workflows/types';

const key = (family: string) => `published/${family}.json`;

export async function readPublished(deps: ActivityDeps, family: string): Promise<PublishedRecord | null> {
  const raw = await deps.store.get(key(family));
  return raw ? (JSON.parse(raw.toString()) as PublishedRecord) : null;
}

export function lastPublished(deps: ActivityDeps) {
  return async (input: { family: string }): Promise<PublishedRecord | null> => readPublished(deps, input.family);
}

export function recordPublished(deps: ActivityDeps) {
  return async (record: PublishedRecord): Promise<void> => {
    await deps.store.put(key(record.family), Buffer.from(JSON.stringify(record, null, 2)));
  };
}
