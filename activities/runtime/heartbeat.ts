/**
 * Heartbeats that keep flowing while a step is quiet (a long `dd`, a silent script), so a short
 * heartbeat timeout can tell a dead worker from a slow command. Activities call `beat(details)`
 * with their latest progress; a ticker repeats the last details every few seconds.
 */
import { Context } from '@temporalio/activity';

const last = new WeakMap<Context, unknown>();

export function beat(details: unknown): void {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return; // not in an activity (unit tests)
  }
  last.set(ctx, details);
  ctx.heartbeat(details);
}

/** Runs fn while a ticker heartbeats the last details every intervalMs. */
export async function withHeartbeats<T>(fn: () => Promise<T>, intervalMs = 3000): Promise<T> {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    return fn();
  }
  const c = ctx;
  const timer = setInterval(() => c.heartbeat(last.get(c)), intervalMs);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
