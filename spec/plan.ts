/**
 * A build plan: the spec normalised into what the workflow runs. It holds no secrets and no host
 * paths — files are named by their path inside the build context (the packed spec folder).
 */
import type { BuildSpec } from './schema';

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
}

export type ProvisionStep = UploadStep | ScriptStep;

export type EnvSource = { value: string } | { fromWorker: string };

export interface BuildPlan {
  name: string;
  vendor: string;
  droplet: DropletPlan;
  /** Reach droplets through this jump host (build and verify). */
  ssh?: { bastion: { host: string; port: number; user: string; privateKey?: { fromWorker: string } } };
  /** Packer-style timeouts, in milliseconds. */
  timeouts?: { stateMs?: number; snapshotMs?: number; transferMs?: number };
  /** How DigitalOcean API calls are retried (waits in seconds). */
  api?: { retryMax?: number; retryWaitMin?: number; retryWaitMax?: number };
  apt: { upgrade: boolean; packages: string[] };
  steps: ProvisionStep[];
  firstBoot: string[];
  firstLogin?: string;
  env: Record<string, EnvSource>;
  /** waitForTransfer false: the build ends once the transfers have started. */
  snapshot: { name?: string; regions: string[]; tags: string[]; keep?: number; waitForTransfer?: boolean };
  /** Run on a fresh droplet made from the snapshot (the verify step). */
  tests: ScriptStep[];
  marketplace?: MarketplacePlan;
}

export interface DropletPlan {
  image: string;
  region: string;
  size: string;
  tags: string[];
  vpcUuid?: string;
  privateNetworking?: boolean;
  ipv6?: boolean;
  /** Installs DigitalOcean's agent (/opt/digitalocean): the image check fails unless a step removes it. */
  monitoring?: boolean;
  /** The worker connects to the droplet's private IPv4. */
  connectWithPrivateIp?: boolean;
  /** Cloud-init user data, combined with the tool's own cloud-config: inline text, or a context path. */
  userData?: { text: string } | { path: string };
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

/** Every combination of the spec's matrix, or none when the spec has no matrix. */
export function matrixVariants(spec: BuildSpec): MatrixVariant[] {
  if (!spec.matrix) return [];
  const images = spec.matrix.image ?? [spec.droplet.image];
  const sizes = spec.matrix.size ?? [spec.droplet.size];
  const regions = spec.matrix.region ?? [spec.droplet.region];
  const out: MatrixVariant[] = [];
  for (const image of images) {
    for (const size of sizes) {
      for (const region of regions) {
        const parts = [spec.matrix.image ? image : '', spec.matrix.size ? size : '', spec.matrix.region ? region : ''].filter(Boolean);
        out.push({ key: parts.join('-'), droplet: { ...dropletPlan(spec.droplet), image, size, region } });
      }
    }
  }
  return out;
}

export function planFromSpec(spec: BuildSpec): BuildPlan {
  const steps: ProvisionStep[] = [];
  if (spec.steps) {
    for (const s of spec.steps) {
      if ('upload' in s) steps.push({ kind: 'upload', ...s.upload });
      else if ('script' in s) steps.push({ kind: 'script', path: s.script, label: s.script });
      else steps.push({ kind: 'script', run: s.run, label: s.name ?? shorten(s.run) });
    }
  } else {
    for (const f of spec.files) steps.push({ kind: 'upload', ...f });
    for (const s of spec.scripts) {
      if (typeof s === 'string') steps.push({ kind: 'script', path: s, label: s });
      else steps.push({ kind: 'script', run: s.run, label: s.name ?? shorten(s.run) });
    }
  }
  const env: Record<string, EnvSource> = {};
  for (const [k, v] of Object.entries(spec.env)) env[k] = typeof v === 'string' ? { value: v } : { fromWorker: v.fromWorker };
  const timeouts: NonNullable<BuildPlan['timeouts']> = {};
  if (spec.timeouts?.state) timeouts.stateMs = durationMs(spec.timeouts.state);
  if (spec.timeouts?.snapshot) timeouts.snapshotMs = durationMs(spec.timeouts.snapshot);
  if (spec.timeouts?.transfer) timeouts.transferMs = durationMs(spec.timeouts.transfer);
  return {
    name: spec.name,
    vendor: spec.vendor,
    droplet: dropletPlan(spec.droplet),
    ...(spec.ssh ? { ssh: spec.ssh } : {}),
    ...(spec.timeouts ? { timeouts } : {}),
    ...(spec.api ? { api: spec.api } : {}),
    apt: spec.apt,
    steps,
    firstBoot: spec.firstBoot,
    ...(spec.firstLogin !== undefined ? { firstLogin: spec.firstLogin } : {}),
    env,
    snapshot: spec.snapshot,
    tests: spec.tests.map((t) => (typeof t === 'string' ? { kind: 'script' as const, path: t, label: t } : { kind: 'script' as const, run: t.run, label: t.name ?? shorten(t.run) })),
    ...(spec.marketplace ? { marketplace: spec.marketplace } : {}),
  };
}

/** Every path in the build context the plan reads. */
export function contextPaths(plan: BuildPlan): string[] {
  const paths = new Set<string>();
  for (const s of plan.steps) {
    if (s.kind === 'upload') paths.add(s.src);
    else if (s.path) paths.add(s.path);
  }
  plan.firstBoot.forEach((p) => paths.add(p));
  if (plan.droplet.userData && 'path' in plan.droplet.userData) paths.add(plan.droplet.userData.path);
  for (const t of plan.tests) if (t.path) paths.add(t.path);
  if (plan.firstLogin) paths.add(plan.firstLogin);
  return [...paths];
}

function dropletPlan(d: BuildSpec['droplet']): DropletPlan {
  const { userData, userDataFile, ...droplet } = d;
  return {
    ...droplet,
    ...(userData !== undefined ? { userData: { text: userData } } : {}),
    ...(userDataFile !== undefined ? { userData: { path: userDataFile } } : {}),
  };
}

/** "1h30m" → 5400000. */
export function durationMs(d: string): number {
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let ms = 0;
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) ms += Number(m[1]) * unit[m[2]!]!;
  return Math.round(ms);
}

function shorten(cmd: string): string {
  const one = cmd.replace(/\s+/g, ' ').trim();
  return one.length > 48 ? `${one.slice(0, 45)}...` : one;
}
