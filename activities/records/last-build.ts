/**
 * What the build store remembers of a family's last image build (builds/<family>.json): the
 * scheduled run's rebuild decision compares its base image id, context and plan with it.
 */
import { createHash } from 'node:crypto';
import type { ActivityDeps } from '../runtime/deps';
import type { BuildPlan } from '../../contract/plan';
import type { LastBuildRecord } from '../../contract/rebuild';

export const lastBuildKey = (family: string) => `builds/${family}.json`;

export async function readLastBuild(deps: ActivityDeps, family: string): Promise<LastBuildRecord | null> {
  const raw = await deps.store.get(lastBuildKey(family));
  return raw ? (JSON.parse(raw.toString()) as LastBuildRecord) : null;
}

/** sha256 of the plan with its keys sorted: the same spec gives the same digest, whatever the key order. */
export function planDigest(plan: BuildPlan): string {
  return `sha256-${createHash('sha256').update(stableJson(plan)).digest('hex')}`;
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}
