/**
 * What the workflow tells the worker's metrics (a Temporal sink: not recorded in the history, not
 * called on replay). Only the build's outcome crosses, never its input.
 */
import type { Sinks } from '@temporalio/workflow';

export type BuildOutcome = 'succeeded' | 'failed' | 'cancelled';

export interface MetricsSinks extends Sinks {
  buildMetrics: {
    started(): void;
    ended(outcome: BuildOutcome): void;
  };
}
