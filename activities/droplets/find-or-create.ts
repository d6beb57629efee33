/**
 * A droplet made exactly once: look for the one an earlier attempt made (by its tag) before
 * creating, and never retry a create blindly. Then wait until it is active with a public IPv4.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { beat } from '../runtime/heartbeat';
import type { ActivityDeps } from '../runtime/deps';
import { DoApiError } from '../../platform/digitalocean';
import { describeMs, timedOut } from '../runtime/failures';

export interface NewDroplet {
  /** An earlier attempt's droplet carries this tag. */
  lookupTag: string;
  name: string;
  region: string;
  size: string;
  image: string | number;
  tags: string[];
  userData: string;
  /** Keys DigitalOcean puts in root's authorized_keys (default: the worker's login key). */
  sshKeys?: (string | number)[];
  /** The caller has just listed this tag and found nothing: no need to look again before the first create. */
  knownAbsent?: boolean;
  /** The spec's network and agent options (sent only when set). */
  vpcUuid?: string;
  privateNetworking?: boolean;
  ipv6?: boolean;
  monitoring?: boolean;
}

export interface DropletInfo {
  id: number;
  status: string;
  networks?: { v4?: { ip_address: string; type: string }[] };
  /** The image it was made from (DigitalOcean returns it with every droplet). */
  image?: { id?: number };
}

export async function findOrCreate(deps: ActivityDeps, d: NewDroplet): Promise<DropletInfo> {
  // Create is the one call never retried blindly: after any failure, look again first.
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1 || !d.knownAbsent) {
      const existing = await deps.api.call('list build droplets', (c) =>
        c.droplet.listDroplets({ tag_name: d.lookupTag }),
      );
      const found = existing.data.droplets[0];
      if (found) return found as DropletInfo;
    }
    try {
      const res = await deps.api.call(
        'create droplet',
        (c) =>
          c.droplet.createDroplet({
            name: d.name,
            region: d.region,
            size: d.size,
            image: d.image,
            ssh_keys: d.sshKeys ?? [deps.login.md5Fingerprint],
            tags: d.tags,
            user_data: d.userData,
            monitoring: d.monitoring ?? false,
            with_droplet_agent: false,
            ipv6: d.ipv6 ?? false,
            backups: false,
            ...(d.privateNetworking !== undefined ? { private_networking: d.privateNetworking } : {}),
            ...(d.vpcUuid !== undefined ? { vpc_uuid: d.vpcUuid } : {}),
          }),
        { retry: false },
      );
      return res.data.droplet as DropletInfo;
    } catch (err) {
      // As many tries as the build's API retry settings allow (spec `api:`), with their waits.
      if (err instanceof DoApiError && err.transient && attempt < deps.api.attempts) {
        await sleep(
          err.retryAfterSeconds !== undefined
            ? Math.min(err.retryAfterSeconds * 1000, 60_000)
            : deps.api.backoffMs(attempt),
        );
        continue;
      }
      throw err;
    }
  }
}

export interface WaitActiveOptions {
  /** timeouts.stateMs from the spec: running out fails the step for good. Default 10 minutes. */
  timeoutMs?: number;
  /** Wait for a private IPv4 too (connectWithPrivateIp). */
  needPrivate?: boolean;
}

export async function waitActive(
  deps: ActivityDeps,
  droplet: Pick<DropletInfo, 'id' | 'status'>,
  opts: WaitActiveOptions = {},
): Promise<DropletInfo> {
  const id = droplet.id;
  const pollMs = deps.timing?.pollMs ?? 2000;
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  const deadline = Date.now() + timeoutMs;
  // A droplet just created is `new` for seconds at least: looking at once would only cost a call.
  if (droplet.status === 'new') await sleep(pollMs);
  for (;;) {
    const d = (await deps.api.call('get droplet', (c) => c.droplet.getDroplet({ droplet_id: id }))).data
      .droplet as DropletInfo;
    const v4 = d.networks?.v4 ?? [];
    if (
      d.status === 'active' &&
      v4.some((n) => n.type === 'public') &&
      (!opts.needPrivate || v4.some((n) => n.type === 'private'))
    )
      return d;
    if (Date.now() > deadline) {
      if (opts.timeoutMs !== undefined)
        throw timedOut(
          `droplet ${id} is still ${d.status} after ${describeMs(timeoutMs)}: the spec's timeouts.state ran out`,
        );
      throw new Error(`droplet ${id} is still ${d.status} after 10 minutes`);
    }
    beat({ dropletId: id, status: d.status });
    await sleep(Math.min(pollMs, Math.max(10, deadline - Date.now())));
  }
}

/** The address the worker connects to: the private IPv4 with connectWithPrivateIp, else the public one. */
export function connectAddress(d: DropletInfo, usePrivate: boolean | undefined, what: string): string {
  const type = usePrivate ? 'private' : 'public';
  const ip = d.networks?.v4?.find((n) => n.type === type)?.ip_address;
  if (!ip) throw new Error(`${what} ${d.id} is active but has no ${type} IPv4`);
  return ip;
}
