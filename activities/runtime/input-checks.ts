/**
 * The worker's second look at the plan fields a workflow input carries (bastion, network options,
 * user data, timeouts, API retries): a workflow input may come from anyone who can reach the task
 * queue, so each activity that uses them checks them first and refuses bad ones for good.
 */
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../contract/failures';
import {
  apiRetryProblems,
  bastionProblems,
  dropletProblems,
  timeoutProblems,
  TIMEOUT_MAX_MS,
} from '../../contract/plan-checks';
import type { ApiRetry } from '../../contract/steps';
import type { BastionPlan, DropletPlan } from '../../contract/plan';
import type { ActivityDeps } from './deps';

export function refuseIf(problems: string[]): void {
  if (problems.length === 0) return;
  throw ApplicationFailure.create({
    message: `refused workflow input: ${problems.join('; ')}`,
    type: FailureType.Spec,
    nonRetryable: true,
  });
}

export interface CheckedInput {
  droplet?: Partial<DropletPlan>;
  bastion?: BastionPlan | undefined;
  api?: ApiRetry | undefined;
  /** name → milliseconds */
  timeouts?: Record<string, number | undefined>;
}

/** Checks what an activity takes from its input; returns deps whose API calls retry as the build says. */
export function depsForInput(deps: ActivityDeps, input: CheckedInput): ActivityDeps {
  const problems = [
    ...(input.droplet ? dropletProblems(input.droplet) : []),
    ...bastionProblems(input.bastion),
    ...apiRetryProblems(input.api),
  ];
  for (const [name, ms] of Object.entries(input.timeouts ?? {})) {
    if (ms !== undefined)
      problems.push(...timeoutProblems({ stateMs: ms }).map((p) => p.replace('timeouts.stateMs', name)));
  }
  refuseIf(problems);
  return input.api ? { ...deps, api: deps.api.withRetry(input.api) } : deps;
}

/** A wait that ran out of its (spec) timeout: final, like Packer's timeouts. */
export function timedOut(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: 'Timeout', nonRetryable: true });
}

export function describeMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

export { TIMEOUT_MAX_MS };
