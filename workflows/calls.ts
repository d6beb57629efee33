/** How the build calls its activities: retry policies by kind of work, and step summaries. */
import * as wf from '@temporalio/workflow';
import type { BuildActivities as Activities } from '../contract/activities';
import { FailureType, NON_RETRYABLE } from '../contract/failures';

const noRetry = NON_RETRYABLE;

/** Quick API calls and short SSH work. */
export const QUICK: wf.ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  // Activities heartbeat every few seconds even when quiet: a dead worker is noticed fast.
  heartbeatTimeout: '20 seconds',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 5,
    nonRetryableErrorTypes: noRetry,
  },
};

/** Long work on the droplet (apt, scripts, cleanup) and waits on DigitalOcean (boot, snapshot). */
export const LONG: wf.ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '20 seconds',
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    maximumAttempts: 4,
    nonRetryableErrorTypes: noRetry,
  },
};

/** Destroying a paid droplet must not give up easily. */
export const PERSISTENT: wf.ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [FailureType.PermanentApi],
  },
};

const proxies = new Map<wf.ActivityOptions, Activities>(
  [QUICK, LONG, PERSISTENT].map((o) => [o, wf.proxyActivities<Activities>(o)]),
);

/** Runs a step's activity with the step's summary, so the Web UI names it as a person would. */
export function call<K extends keyof Activities>(
  options: wf.ActivityOptions,
  name: K,
  summary: string,
  ...args: Parameters<Activities[K]>
): ReturnType<Activities[K]> {
  const fn = proxies.get(options)![name] as unknown as wf.ActivityFunctionWithOptions<Activities[K]>;
  return fn.executeWithOptions({ ...options, summary }, args) as ReturnType<Activities[K]>;
}
