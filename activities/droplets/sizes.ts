/** DigitalOcean's droplet sizes, as verify picks the cheapest that holds an image. */
import type { ActivityDeps } from '../runtime/deps';

export interface SizeInfo {
  slug: string;
  disk: number;
  memory: number;
  price_monthly: number;
  available: boolean;
  regions: string[];
}

/** Sizes change a few times a year: a worker asks once an hour, not once a build. */
let sizesSeen: { at: number; client: ActivityDeps['api']['client']; sizes: Promise<SizeInfo[]> } | undefined;

export function listSizes(deps: ActivityDeps): Promise<SizeInfo[]> {
  if (sizesSeen && sizesSeen.client === deps.api.client && Date.now() - sizesSeen.at < 60 * 60_000)
    return sizesSeen.sizes;
  const sizes = deps.api
    .call('list sizes', (c) => c.size.listSizes({ per_page: 200 }))
    .then((r) => r.data.sizes as unknown as SizeInfo[]);
  sizesSeen = { at: Date.now(), client: deps.api.client, sizes };
  sizes.catch(() => (sizesSeen = undefined));
  return sizes;
}
