/**
 * Times every build step (activity) by kind and outcome, and keeps the droplet and upload counts,
 * from outside the steps: an activity interceptor, so no step carries metrics code.
 */
import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { bytesUploaded, dropletSeconds, dropletsAlive, stepDuration } from '../platform/metrics';

/** Build droplets this worker has seen made and not yet destroyed: id → when first seen (ms). */
const alive = new Map<number, number>();

function droplets(step: string, result: unknown): void {
  if (step === 'provision') {
    const id = (result as { dropletId?: unknown }).dropletId;
    // A retried provision finds its own droplet: first seen is when the clock started.
    if (typeof id === 'number' && !alive.has(id)) alive.set(id, Date.now());
  } else if (step === 'destroy') {
    for (const id of ((result as { destroyed?: unknown }).destroyed as number[] | undefined) ?? []) {
      const since = alive.get(id);
      if (since === undefined) continue;
      dropletSeconds.inc((Date.now() - since) / 1000);
      alive.delete(id);
    }
  }
  dropletsAlive.set(alive.size);
}

function uploaded(step: string, result: unknown): void {
  if (step !== 'upload' && step !== 'installFirstBoot') return;
  const bytes = (result as { bytes?: unknown }).bytes;
  if (typeof bytes === 'number' && bytes > 0) bytesUploaded.inc(bytes);
}

/** `knownSteps`: the worker's activity names; anything else is labelled "other" (labels stay bounded). */
export function activityMetrics(knownSteps: readonly string[]): ActivityInterceptorsFactory {
  const known = new Set(knownSteps);
  return (ctx: Context) => ({
    inbound: {
      async execute(input, next) {
        const step = known.has(ctx.info.activityType) ? ctx.info.activityType : 'other';
        const end = stepDuration.startTimer({ step });
        try {
          const result = await next(input);
          end({ outcome: 'succeeded' });
          if (result && typeof result === 'object') {
            droplets(step, result);
            uploaded(step, result);
          }
          return result;
        } catch (err) {
          end({ outcome: ctx.cancellationSignal.aborted ? 'cancelled' : 'failed' });
          throw err;
        }
      },
    },
  });
}
