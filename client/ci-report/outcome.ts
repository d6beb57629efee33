/** What a CI report is made of: a build's end (or its wait for approval), its steps and its manifest. */
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { BuildManifest, StepRecord } from '../../contract/build';
import { stateQuery } from '../../contract/operator';
import type { VerifyResult } from '../../contract/steps';

export interface BuildOutcome {
  buildId: string;
  name: string;
  status: 'succeeded' | 'failed' | 'waiting-for-approval';
  steps: StepRecord[];
  /** Absent when the build failed (its workflow ends with an error, not a manifest) or still waits. */
  manifest?: BuildManifest;
  /** The image tests, from the manifest, or (a build waiting for approval) from verify's own result. */
  verify?: VerifyResult;
  /** The snapshot's id while the build waits for approval (the manifest has the whole snapshot). */
  snapshotId?: number;
  error?: string;
}

/**
 * The outcome of a build that --wait stopped following. A failed build returns no manifest, nor
 * does one that waits for approval: its steps come from the build's state (Temporal answers it
 * for an ended build too).
 */
export async function outcomeOf(
  handle: WorkflowHandle,
  name: string,
  ended: { manifest?: BuildManifest; error?: string; waitingForApproval?: boolean },
): Promise<BuildOutcome> {
  const { manifest } = ended;
  if (manifest && !ended.waitingForApproval) {
    const verify = manifest.verify?.result;
    return {
      buildId: manifest.buildId,
      name: manifest.name,
      status: manifest.status,
      steps: manifest.steps,
      manifest,
      ...(verify ? { verify } : {}),
      ...(manifest.error ? { error: manifest.error } : {}),
    };
  }
  const state = await handle.query(stateQuery).catch(() => undefined);
  const verify = ended.waitingForApproval ? await verifyResultOf(handle) : undefined;
  return {
    buildId: handle.workflowId,
    name,
    status: ended.waitingForApproval ? 'waiting-for-approval' : 'failed',
    steps: state?.steps ?? [],
    ...(verify ? { verify } : {}),
    ...(state?.snapshotId !== undefined ? { snapshotId: state.snapshotId } : {}),
    ...(ended.error ? { error: ended.error } : {}),
  };
}

/** The verify activity's last completed result in the build's history (the build has not ended yet). */
async function verifyResultOf(handle: WorkflowHandle): Promise<VerifyResult | undefined> {
  const history = await handle.fetchHistory();
  const verifyEvents = new Set<string>();
  let result: VerifyResult | undefined;
  for (const e of history.events ?? []) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'verify') verifyEvents.add(String(e.eventId));
    const completed = e.activityTaskCompletedEventAttributes;
    const payload = completed?.result?.payloads?.[0];
    if (completed && payload && verifyEvents.has(String(completed.scheduledEventId)))
      result = defaultPayloadConverter.fromPayload<VerifyResult>(payload);
  }
  return result;
}
