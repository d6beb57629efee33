/** Search attributes a build keeps up to date, so a list filtered by status shows what needs attention. */
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';

export const BuildName = defineSearchAttributeKey('BuildName', SearchAttributeType.KEYWORD);
export const BuildStatus = defineSearchAttributeKey('BuildStatus', SearchAttributeType.KEYWORD);
export const FailedStep = defineSearchAttributeKey('FailedStep', SearchAttributeType.KEYWORD);
export const DropletId = defineSearchAttributeKey('DropletId', SearchAttributeType.INT);
export const SnapshotId = defineSearchAttributeKey('SnapshotId', SearchAttributeType.INT);

export const allSearchAttributes = [BuildName, BuildStatus, FailedStep, DropletId, SnapshotId];

export type BuildStatusValue =
  'running' | 'waiting-for-operator' | 'waiting-for-approval' | 'waiting-for-review' | 'succeeded' | 'failed';
