/**
 * Droplet and image actions the way DigitalOcean needs them handled: a 422 "pending event" means
 * wait until the droplet is unlocked and post again; an action is followed until `completed`,
 * and `errored` is a failure (Packer polls an errored action until its timeout).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { beat } from '../runtime/heartbeat';
import type { ActivityDeps } from '../runtime/deps';
import { DoApiError } from '../../platform/digitalocean';
import { describeMs, timedOut } from '../runtime/failures';

export interface ActionInfo {
  id: number;
  status: 'in-progress' | 'completed' | 'errored';
  type: string;
}

export class ActionErrored extends Error {
  override name = 'ActionErrored';
}

export async function getDroplet(
  deps: ActivityDeps,
  id: number,
): Promise<{ id: number; status: string; locked: boolean } | undefined> {
  try {
    return (await deps.api.call('get droplet', (c) => c.droplet.getDroplet({ droplet_id: id }))).data.droplet as {
      id: number;
      status: string;
      locked: boolean;
    };
  } catch (err) {
    if (err instanceof DoApiError && err.status === 404) return undefined;
    throw err;
  }
}

/** Posts a droplet action, waiting out pending events. */
export async function postDropletAction(
  deps: ActivityDeps,
  dropletId: number,
  type: 'shutdown' | 'power_off' | 'snapshot',
  extra: { name?: string } = {},
): Promise<ActionInfo> {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      const res = await deps.api.call(`post ${type} action`, (c) => {
        if (type === 'shutdown') return c.droplet.shutdownDroplet({ droplet_id: dropletId });
        if (type === 'power_off') return c.droplet.powerOffDroplet({ droplet_id: dropletId });
        return c.droplet.snapshotDroplet({ droplet_id: dropletId, ...(extra.name ? { name: extra.name } : {}) });
      });
      return res.data.action as ActionInfo;
    } catch (err) {
      if (!(err instanceof DoApiError && err.isPendingEvent) || Date.now() > deadline) throw err;
      beat({ waiting: `droplet ${dropletId} has a pending event` });
      await sleep(deps.timing?.pollMs ?? 2000);
    }
  }
}

/** Follows an action until it ends; heartbeats so a retried activity can resume from `resumeKey`. */
export async function waitAction(
  deps: ActivityDeps,
  get: () => Promise<ActionInfo>,
  heartbeat: Record<string, unknown>,
  timeoutMs = 60 * 60_000,
  /** The spec's timeout this is (e.g. "timeouts.snapshot"): running out fails the step for good. */
  specTimeout?: string,
  /** The action was posted just now: it is in progress, so the first look waits one poll. */
  justPosted = false,
): Promise<ActionInfo> {
  const deadline = Date.now() + timeoutMs;
  const pollMs = deps.timing?.pollMs ?? 2000;
  const pause = (n: number) => sleep(Math.min(pollDelay(pollMs, n), Math.max(10, deadline - Date.now())));
  if (justPosted) await pause(0);
  for (let n = 0; ; n++) {
    const a = await get();
    if (a.status === 'completed') return a;
    if (a.status === 'errored') throw new ActionErrored(`${a.type} action ${a.id} errored at DigitalOcean`);
    if (Date.now() > deadline) {
      if (specTimeout)
        throw timedOut(
          `${a.type} action ${a.id} still in progress after ${describeMs(timeoutMs)}: the spec's ${specTimeout} ran out`,
        );
      throw new Error(`${a.type} action ${a.id} still in progress after ${Math.round(timeoutMs / 60000)} minutes`);
    }
    beat({ ...heartbeat, actionId: a.id });
    await pause(n);
  }
}

/**
 * The n-th wait while following an action: one poll interval twice, then twice as long every two
 * looks, up to 30 s. A snapshot of a real droplet takes minutes: polling it every 2 s would spend
 * a hundred API calls (DigitalOcean allows 5,000 an hour per token, shared by every build).
 */
export function pollDelay(pollMs: number, n: number): number {
  return Math.min(pollMs * 2 ** Math.floor(n / 2), Math.max(pollMs, 30_000));
}

export async function getAction(deps: ActivityDeps, id: number): Promise<ActionInfo> {
  const r = await deps.api.call('get action', (c) => c.action.getAction({ action_id: id }));
  return r.data.action as ActionInfo;
}
