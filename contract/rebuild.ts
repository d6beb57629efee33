/**
 * Rebuild triggers: before a scheduled run creates anything, it decides whether to build at all —
 * when the base image behind the spec's slug changed, when the spec or its files changed, or when
 * a periodic rebuild is due (to pick up package updates); otherwise it skips, saying why.
 * Plain data and one pure function; the activity (activities/decide-rebuild.ts) gathers the facts.
 */
import type { BuildPlan } from './plan';
import type { ApiRetry } from './steps';

/** What the build store remembers of a family's last image build (builds/<family>.json). */
export interface LastBuildRecord {
  family: string;
  buildId: string;
  /** The spec's droplet.image (a slug, usually) and the image id it resolved to for this build. */
  image: string;
  baseImageId?: number;
  contextDigest: string;
  /** sha256 of the plan (the spec as the workflow got it). */
  planDigest: string;
  snapshotId: number;
  /** When the build started (workflow time): the periodic rebuild counts from here. */
  startedAt: string;
}

export interface RecordBuildInput {
  family: string;
  buildId: string;
  image: string;
  baseImageId?: number;
  contextDigest: string;
  plan: BuildPlan;
  snapshotId: number;
  startedAt: string;
}

export interface RebuildInput {
  family: string;
  plan: BuildPlan;
  contextDigest: string;
  /** The run's start (workflow time): the same answer however often the activity runs. */
  at: string;
  /** Build anyway once the last build is this old; absent: every run rebuilds (package updates). */
  rebuildAfterMs?: number;
  api?: ApiRetry;
}

export interface RebuildDecision {
  build: boolean;
  /** Every trigger that fired (empty when skipping). */
  triggers: ('first-build' | 'base-image' | 'spec' | 'periodic')[];
  /** One line, what `client schedule list` shows: "base image debian-12-x64 changed: 1001 → 1002". */
  reason: string;
  /** The image id the spec's slug resolves to now. */
  baseImageId?: number;
  lastBuildId?: string;
}

/** The facts the activity gathered: what the slug resolves to now, the family's last build, this run's spec. */
export interface RebuildFacts {
  image: string;
  baseImageId: number;
  contextDigest: string;
  planDigest: string;
  at: string;
  rebuildAfterMs?: number;
  last: LastBuildRecord | null;
}

export function decideRebuild(f: RebuildFacts): RebuildDecision {
  const base = { baseImageId: f.baseImageId };
  const last = f.last;
  if (!last) return { build: true, triggers: ['first-build'], reason: `no earlier build of this family`, ...base };
  const triggers: RebuildDecision['triggers'] = [];
  const reasons: string[] = [];
  if (last.image !== f.image) {
    triggers.push('base-image');
    reasons.push(`base image changed: ${last.image} → ${f.image}`);
  } else if (last.baseImageId !== f.baseImageId) {
    triggers.push('base-image');
    reasons.push(`base image ${f.image} changed: ${last.baseImageId ?? 'unknown'} → ${f.baseImageId}`);
  }
  if (last.contextDigest !== f.contextDigest || last.planDigest !== f.planDigest) {
    triggers.push('spec');
    reasons.push('spec changed');
  }
  const age = Date.parse(f.at) - Date.parse(last.startedAt);
  if (f.rebuildAfterMs === undefined) {
    triggers.push('periodic');
    reasons.push('periodic rebuild for package updates');
  } else if (age >= f.rebuildAfterMs) {
    triggers.push('periodic');
    reasons.push(`periodic rebuild for package updates: the last build is ${days(age)} old`);
  }
  const lastBuildId = { lastBuildId: last.buildId };
  if (triggers.length > 0) return { build: true, triggers, reason: reasons.join('; '), ...base, ...lastBuildId };
  return { build: false, triggers, reason: `nothing changed since build ${last.buildId}`, ...base, ...lastBuildId };
}

function days(ms: number): string {
  const d = ms / 86_400_000;
  return d >= 1 ? `${Math.round(d * 10) / 10} d` : `${Math.round(ms / 3_600_000)} h`;
}
