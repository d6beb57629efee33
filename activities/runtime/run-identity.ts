/**
 * Who is asking: the workflow run an activity was scheduled by, as Temporal's server tells the
 * worker — never a name from the input. A build's id is its workflow id (a matrix child's is its
 * own), and what a run makes carries its run tag, so a build acts only on what its own run made.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../contract/failures';
import { runTag } from '../../contract/tags';

export interface RunIdentity {
  /** The workflow id: the build's id. */
  buildId: string;
  runId: string;
  /** The tag every droplet and image of this run carries. */
  runTag: string;
  /** What the host key of this run's build droplet is derived from. */
  hostKeyLabel: string;
}

/** The run this activity works for; outside an activity (never in a worker) there is none to trust. */
export function runIdentity(): RunIdentity {
  let execution: { workflowId: string; runId: string } | undefined;
  try {
    execution = Context.current().info.workflowExecution;
  } catch {
    execution = undefined;
  }
  if (!execution)
    throw ApplicationFailure.create({
      message: 'this step runs only as an activity of a build workflow (no workflow run to act for)',
      type: FailureType.Spec,
      nonRetryable: true,
    });
  const { workflowId, runId } = execution;
  return {
    buildId: workflowId,
    runId,
    runTag: runTag(workflowId, runId),
    hostKeyLabel: `${workflowId}/run/${runId}`,
  };
}

/** The run's identity, after refusing an input that claims to be another build. */
export function ownBuild(claimed: string | undefined, field = 'buildId'): RunIdentity {
  const me = runIdentity();
  if (claimed !== undefined && claimed !== me.buildId)
    throw ApplicationFailure.create({
      message: `refused workflow input: ${field} ${JSON.stringify(claimed)} is not this build (workflow ${JSON.stringify(me.buildId)}): a build acts only on itself`,
      type: FailureType.Spec,
      nonRetryable: true,
    });
  return me;
}
