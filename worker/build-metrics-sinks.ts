/** The worker's side of the workflow's metrics sink (contract/metrics-sink.ts). */
import type { InjectedSinks } from '@temporalio/worker';
import type { BuildOutcome, MetricsSinks } from '../contract/metrics-sink';
import { buildsEnded, buildsStarted } from '../platform/metrics';

const OUTCOMES: readonly BuildOutcome[] = ['succeeded', 'failed', 'cancelled'];

export function buildMetricsSinks(): InjectedSinks<MetricsSinks> {
  return {
    buildMetrics: {
      started: { fn: () => buildsStarted.inc() },
      ended: {
        // The outcome comes from workflow code: kept to the known values (a label stays bounded).
        fn: (_info, outcome) => buildsEnded.inc({ outcome: OUTCOMES.includes(outcome) ? outcome : 'failed' }),
      },
    },
  };
}
