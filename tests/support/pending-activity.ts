/**
 * A point in a build read from the server's record of the workflow (its pending activities and
 * the worker that took each), so a fault test strikes at a known step on a known worker instead
 * of after a timer that may land anywhere.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Client } from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RunningActivity {
  workflowId: string;
  activityType: string;
  /** The worker running it, as it named itself (`pid@host` by default). */
  identity: string;
  attempt: number;
}

/** Waits until one of the workflows runs an activity of this type on a worker `accept` takes. */
export async function untilActivityRunning(
  client: Client,
  workflowIds: string[],
  activityType: string,
  accept: (a: RunningActivity) => boolean = () => true,
  timeoutMs = 180_000,
): Promise<RunningActivity> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const workflowId of workflowIds) {
      // A build its client has not started yet is not there to describe: look again later.
      const d = await client.workflow
        .getHandle(workflowId)
        .describe()
        .catch((err: unknown) => {
          if (err instanceof WorkflowNotFoundError) return undefined;
          throw err;
        });
      if (!d) continue;
      for (const p of d.raw.pendingActivities ?? []) {
        // STARTED: a worker has taken the task (state 2 in the server's enum).
        if (p.activityType?.name !== activityType || Number(p.state) !== 2 || !p.lastWorkerIdentity) continue;
        const a = { workflowId, activityType, identity: p.lastWorkerIdentity, attempt: p.attempt ?? 1 };
        if (accept(a)) return a;
      }
    }
    if (Date.now() > deadline) throw new Error(`no ${activityType} activity ran in ${workflowIds.join(', ')}`);
    await sleep(200);
  }
}

/** The pid in a worker's default identity (`pid@host`). */
export const identityPid = (identity: string): number => Number(identity.split('@')[0]);
