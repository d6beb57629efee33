/**
 * A build plan: the spec normalised into what the workflow runs. It holds no secrets and no host
 * paths — files are named by their path inside the build context (the packed spec folder).
 */
export interface UploadStep {
  kind: 'upload';
  /** Path inside the build context; a trailing slash copies a folder's contents. */
  src: string;
  dest: string;
  mode?: string;
}

export interface ScriptStep {
  kind: 'script';
  /** Path inside the build context, or undefined for an inline command. */
  path?: string;
  run?: string;
  label: string;
  /** Ends the script (and fails its step) after this long; DEFAULT_SCRIPT_TIMEOUT_MS when absent. */
  timeoutMs?: number;
}

/** A script runs at most this long unless its spec entry says `timeout:` (the step's own limit is 2 h). */
export const DEFAULT_SCRIPT_TIMEOUT_MS = 60 * 60_000;
export const MAX_SCRIPT_TIMEOUT_MS = 115 * 60_000;

/** "90s", "45m", "2h" → milliseconds. */
export function durationMs(text: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3600_000 }[m[2] as 's' | 'm' | 'h'];
}

export function formatDuration(ms: number): string {
  if (ms % 3600_000 === 0) return `${ms / 3600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

export type ProvisionStep = UploadStep | ScriptStep;

export type EnvSource = { value: string } | { fromWorker: string };

export interface BuildPlan {
  name: string;
  vendor: string;
  droplet: { image: string; region: string; size: string; tags: string[] };
  apt: { upgrade: boolean; packages: string[] };
  steps: ProvisionStep[];
  firstBoot: string[];
  firstLogin?: string;
  env: Record<string, EnvSource>;
  snapshot: { name?: string; regions: string[]; tags: string[]; keep?: number };
  /** Run on a fresh droplet made from the snapshot (the verify step). */
  tests: ScriptStep[];
  marketplace?: MarketplacePlan;
}

export interface MarketplacePlan {
  appId: string;
  version: string;
  reasonForUpdate: string;
  /** Packages listed in softwareIncluded, with versions from the manifest. */
  software: string[];
}

/** One variant of a matrix build: what it changes in the droplet. */
export interface MatrixVariant {
  /** e.g. "debian-13-x64-s-1vcpu-1gb": part of the child build's id and image name. */
  key: string;
  droplet: BuildPlan['droplet'];
}
