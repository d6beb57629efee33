/** Deletes every droplet with a tag and waits until none is listed (a build's, or verify's test droplet). */
import { setTimeout as sleep } from 'node:timers/promises';
import { beat } from '../runtime/heartbeat';
import type { ActivityDeps } from '../runtime/deps';

/** Deletes every droplet with this tag and waits until none is listed. */
export async function destroyTagged(deps: ActivityDeps, tag: string): Promise<{ destroyed: number[] }> {
  const list = async () =>
    (await deps.api.call('list build droplets', (c) => c.droplet.listDroplets({ tag_name: tag }))).data.droplets as {
      id: number;
      networks?: { v4?: { ip_address: string }[] };
    }[];
  const found = await list();
  for (const d of found)
    for (const n of d.networks?.v4 ?? []) deps.shells.forget({ dropletId: d.id, ipv4: n.ip_address });
  if (found.length === 0) return { destroyed: [] };
  await deps.api.call('delete build droplets', (c) => c.droplet.deleteDropletsByTag({ tag_name: tag }));
  const deadline = Date.now() + 5 * 60_000;
  while ((await list()).length > 0) {
    if (Date.now() > deadline) throw new Error(`droplets tagged ${tag} are still listed 5 minutes after deletion`);
    beat({ waiting: 'droplets to disappear' });
    await sleep(deps.timing?.pollMs ?? 2000);
  }
  return { destroyed: found.map((d) => d.id) };
}
