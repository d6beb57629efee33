/** Deletes the droplets with a tag and waits until none is listed (a build's, or verify's test droplet). */
import { setTimeout as sleep } from 'node:timers/promises';
import { beat } from '../runtime/heartbeat';
import type { ActivityDeps } from '../runtime/deps';
import { DoApiError } from '../../platform/digitalocean';

export interface TaggedDroplet {
  id: number;
  tags?: string[];
  networks?: { v4?: { ip_address: string }[] };
}

/**
 * Deletes every droplet with this tag — or, with `select`, only those it picks (one by one; the
 * tag may be shared with droplets that are not ours) — and waits until none of them is listed.
 */
export async function destroyTagged(
  deps: ActivityDeps,
  tag: string,
  select?: (d: TaggedDroplet) => boolean,
): Promise<{ destroyed: number[] }> {
  const list = async () =>
    (
      (await deps.api.call('list build droplets', (c) => c.droplet.listDroplets({ tag_name: tag }))).data
        .droplets as TaggedDroplet[]
    ).filter((d) => !select || select(d));
  const found = await list();
  for (const d of found)
    for (const n of d.networks?.v4 ?? []) deps.shells.forget({ dropletId: d.id, ipv4: n.ip_address });
  if (found.length === 0) return { destroyed: [] };
  if (select) {
    for (const d of found) {
      try {
        await deps.api.call('delete build droplet', (c) => c.droplet.deleteDroplet({ droplet_id: d.id }));
      } catch (err) {
        // Gone already (an earlier attempt's delete went through): what we wanted.
        if (!(err instanceof DoApiError && err.status === 404)) throw err;
      }
    }
  } else {
    await deps.api.call('delete build droplets', (c) => c.droplet.deleteDropletsByTag({ tag_name: tag }));
  }
  const deadline = Date.now() + 5 * 60_000;
  while ((await list()).length > 0) {
    if (Date.now() > deadline) throw new Error(`droplets tagged ${tag} are still listed 5 minutes after deletion`);
    beat({ waiting: 'droplets to disappear' });
    await sleep(deps.timing?.pollMs ?? 2000);
  }
  return { destroyed: found.map((d) => d.id) };
}
