/** What every route handler works with. */
import type { DropletRuntime } from '../droplets/runtime';
import { DISTRIBUTIONS } from './catalogue';
import type { Faults } from './faults';
import type { Machines } from './machines';
import type { ImageRecord } from './model';
import type { LabState } from './state';
import { distributionImage } from './views';

export interface LabContext {
  state: LabState;
  machines: Machines;
  faults: Faults;
  runtime: DropletRuntime;
  /** Machine names are <machinePrefix><serverTag>-<droplet id>: sweepable by prefix. */
  machinePrefix: string;
  /** Short random tag of this server: keeps machine names unique among lab servers on this machine. */
  serverTag: string;
  dropletLimit: number;
  /** Offered even before their base tree is ready: the runtime builds it on first use. */
  extraDistributions: string[];
}

/** Distribution images whose base tree the runtime has (or is preparing), as image records. */
export async function distributionImages(ctx: LabContext): Promise<ImageRecord[]> {
  const ready = new Set([...(await ctx.runtime.availableDistributions()), ...ctx.extraDistributions]);
  return DISTRIBUTIONS.filter((d) => ready.has(d.slug)).map(
    (d) => ctx.state.baseImages.get(d.slug) ?? distributionImage(d),
  );
}

/** An image by numeric id or slug: snapshots first, then the distributions. */
export async function findImage(ctx: LabContext, idOrSlug: string | number): Promise<ImageRecord | undefined> {
  const s = String(idOrSlug);
  if (/^\d+$/.test(s)) {
    const snap = ctx.state.images.get(Number(s));
    if (snap) return snap;
    const base = (await distributionImages(ctx)).find((d) => d.id === Number(s));
    return base ?? ctx.state.retiredBaseImages.get(Number(s));
  }
  return (await distributionImages(ctx)).find((d) => d.slug === s);
}

/** Parses a numeric path id; anything else finds nothing (404), as at DigitalOcean. */
export function numericId(s: string | undefined): number | undefined {
  return s !== undefined && /^\d{1,15}$/.test(s) ? Number(s) : undefined;
}
