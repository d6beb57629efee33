/** last-published / record-published: read and write the family's last published image. */
import type { ActivityDeps } from './runtime/deps';
import { publishedKey, readPublished } from './records/published';
import type { PublishedRecord } from '../contract/publish';

export function lastPublished(deps: ActivityDeps) {
  return async (input: { family: string }): Promise<PublishedRecord | null> => readPublished(deps, input.family);
}

export function recordPublished(deps: ActivityDeps) {
  return async (record: PublishedRecord): Promise<void> => {
    await deps.store.put(publishedKey(record.family), Buffer.from(JSON.stringify(record, null, 2)));
  };
}
