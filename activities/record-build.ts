/** record-build: remember a finished image build for the next scheduled run's rebuild decision (overwrites: safe to run twice). */
import type { ActivityDeps } from './runtime/deps';
import { check, checked } from './runtime/input-checks';
import { ownBuild } from './runtime/run-identity';
import { ownedImage } from './droplets/owned';
import { lastBuildKey, planDigest } from './records/last-build';
import type { LastBuildRecord, RecordBuildInput } from '../contract/rebuild';

export function recordBuild(deps: ActivityDeps) {
  return async (input: RecordBuildInput): Promise<LastBuildRecord> => {
    checked(check.name, input.family, 'family');
    // Written only by the build that made the image: no input can stand in another build's record.
    ownBuild(input.buildId);
    await ownedImage(deps, input.snapshotId, 'snapshotId', 'use');
    const { plan, ...rest } = input;
    const record: LastBuildRecord = { ...rest, planDigest: planDigest(plan) };
    await deps.store.put(lastBuildKey(input.family), Buffer.from(JSON.stringify(record, null, 2)));
    return record;
  };
}
