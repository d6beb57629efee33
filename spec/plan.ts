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
  droplet: { image: string; region: string; size: string; tags: string[] };
  apt: { upgrade: boolean; packages: string[] };
  steps: ProvisionStep[];
  firstBoot: string[];
  firstLogin?: string;
  env: Record<string, EnvSource>;
  snapshot: { name?: string; regions: string[]; tags: string[] };
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
  return {
    name: spec.name,
    vendor: spec.vendor,
    droplet: spec.droplet,
    apt: spec.apt,
    steps,
    firstBoot: spec.firstBoot,
    ...(spec.firstLogin !== undefined ? { firstLogin: spec.firstLogin } : {}),
    env,
    snapshot: spec.snapshot,
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
  if (plan.firstLogin) paths.add(plan.firstLogin);
  return [...paths];
}

function shorten(cmd: string): string {
  const one = cmd.replace(/\s+/g, ' ').trim();
  return one.length > 48 ? `${one.slice(0, 45)}...` : one;
}
