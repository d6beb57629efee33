/**
 * A droplet made exactly once: look for the one an earlier attempt made (by its tag) before
 * creating, and never retry a create blindly. Then wait until it is active with a public IPv4.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { beat } from '../runtime/heartbeat';
import type { ActivityDeps } from '../runtime/deps';
import { DoApiError } from '../../platform/digitalocean';

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
    const existing = await deps.api.call('list build droplets', (c) =>
      c.droplet.listDroplets({ tag_name: d.lookupTag }),
    );
    const found = existing.data.droplets[0];
    if (found) return found as DropletInfo;
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
            monitoring: false,
            with_droplet_agent: false,
            ipv6: false,
            backups: false,
          }),
        { retry: false },
      );
      return res.data.droplet as DropletInfo;
    } catch (err) {
      if (err instanceof DoApiError && err.transient && attempt < 6) {
        await sleep(
          err.retryAfterSeconds !== undefined
            ? Math.min(err.retryAfterSeconds * 1000, 60_000)
            : Math.min(8000, 500 * 2 ** attempt),
        );
        continue;
      }
      throw err;
    }
  }
}

export async function waitActive(deps: ActivityDeps, id: number): Promise<DropletInfo> {
  const pollMs = deps.timing?.pollMs ?? 2000;
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    const d = (await deps.api.call('get droplet', (c) => c.droplet.getDroplet({ droplet_id: id }))).data
      .droplet as DropletInfo;
    if (d.status === 'active' && d.networks?.v4?.some((n) => n.type === 'public')) return d;
    if (Date.now() > deadline) throw new Error(`droplet ${id} is still ${d.status} after 10 minutes`);
    beat({ dropletId: id, status: d.status });
    await sleep(pollMs);
  }
}
