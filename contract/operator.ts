/**
 * How an operator steers a build whose step failed: Updates with validators (so a retry when
 * nothing failed is refused with a clear message), and a query for the build's state.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { StepRecord } from './build';
import type { VendorUpdateBody } from './marketplace';
import type { BuildStatusValue } from './search-attributes';

export interface RetryRequest {
  /** A new build context, packed by the client after the operator edited files. */
  contextDigest?: string;
}

export interface OperatorReply {
  step: string;
  message: string;
}

export interface BuildState {
  buildId: string;
  status: BuildStatusValue;
  steps: StepRecord[];
  waiting?: { step: string; skippable: boolean; acceptable?: boolean; since: string; error: string };
  /** Set while the build waits for a person to approve publishing. */
  approval?: { appId: string; imageId: number; since: string };
  dropletId?: number;
  snapshotId?: number;
  contextDigest: string;
}

export const retryUpdate = defineUpdate<OperatorReply, [RetryRequest]>('retry');
export const skipUpdate = defineUpdate<OperatorReply, []>('skip');
export const abortUpdate = defineUpdate<OperatorReply, [{ reason?: string }]>('abort');
/** A failed verify: continue with the image recorded as unverified. */
export const acceptUpdate = defineUpdate<OperatorReply, []>('accept');

export interface ApprovalRequest {
  /** Who decided (shown in the manifest). */
  by?: string;
  reason?: string;
}
export const approveUpdate = defineUpdate<OperatorReply, [ApprovalRequest]>('approve');
export const rejectUpdate = defineUpdate<OperatorReply, [ApprovalRequest]>('reject');

export const stateQuery = defineQuery<BuildState>('state');

/** The exact Vendor API body the build sends (or would send, once approved); null before it is known. */
export const publishPreviewQuery = defineQuery<PublishPreview | null>('publish-preview');

export interface PublishPreview {
  appId: string;
  body: VendorUpdateBody;
}
