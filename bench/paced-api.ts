/**
 * The baselines' DigitalOcean API client: every call of every hand-run build waits its turn, so
 * that all of them together stay under DigitalOcean's burst limit (250 requests a minute per token,
 * as the lab now enforces). A script that polled 20 droplets every second would be refused by
 * DigitalOcean (1,200 a minute): the floor is what can be done within the limit, not beyond it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DoApi } from '../platform/digitalocean';
import type { DoClient } from '../platform/digitalocean';
import { LAB_TOKEN } from '../tests/support/stack';

/** 240 a minute: 250 with a margin (a refused call's retry inside DoApi is not paced again). */
const SPACING_MS = 60_000 / 240;
let nextSlot = 0;

/** Waits until this call's slot: one call every SPACING_MS across all the baselines' builds. */
async function turn(): Promise<void> {
  const now = Date.now();
  const at = Math.max(now, nextSlot);
  nextSlot = at + SPACING_MS;
  if (at > now) await sleep(at - now);
}

class PacedDoApi extends DoApi {
  override async call<T>(what: string, fn: (c: DoClient) => Promise<T>, opts: { retry?: boolean } = {}): Promise<T> {
    await turn();
    return super.call(what, fn, opts);
  }
}

export function pacedApi(endpoint: string): DoApi {
  return new PacedDoApi({ token: LAB_TOKEN, endpoint });
}
