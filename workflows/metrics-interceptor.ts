/**
 * Counts builds started and ended by outcome through the worker's metrics sink. Bundled as a
 * workflow interceptor module: it issues no command, so histories replay unchanged.
 */
import { isCancellation, proxySinks, workflowInfo } from '@temporalio/workflow';
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';
import type { MetricsSinks } from '../contract/metrics-sink';

const { buildMetrics } = proxySinks<MetricsSinks>();

/** Only the build itself (a matrix's children included), not the matrix parent. */
const BUILD_WORKFLOW = 'buildImage';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      async execute(input, next) {
        if (workflowInfo().workflowType !== BUILD_WORKFLOW) return next(input);
        buildMetrics.started();
        try {
          const result = await next(input);
          buildMetrics.ended('succeeded');
          return result;
        } catch (err) {
          // A continue-as-new is not an end; the SDK throws it as ContinueAsNew.
          if ((err as Error | undefined)?.name !== 'ContinueAsNew')
            buildMetrics.ended(isCancellation(err) ? 'cancelled' : 'failed');
          throw err;
        }
      },
    },
  ],
});
