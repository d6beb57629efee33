/**
 * How an operator steers a build whose step failed: Updates with validators (so a retry when
 * nothing failed is refused with a clear message), and a query for the build's state.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { StepRecord } from './types';

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
  status: 'running' | 'waiting-for-operator' | 'succeeded' | 'failed';
  steps: StepRecord[];
  waiting?: { step: string; skippable: boolean; since: string; error: string };
  dropletId?: number;
  snapshotId?: number;
  contextDigest: string;
}

export const retryUpdate = defineUpdate<OperatorReply, [RetryRequest]>('retry');
export const skipUpdate = defineUpdate<OperatorReply, []>('skip');
export const abortUpdate = defineUpdate<OperatorReply, [{ reason?: string }]>('abort');
export const stateQuery = defineQuery<BuildState>('state');
