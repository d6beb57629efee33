/** Turns a validated spec into the plan the workflow runs (and its matrix variants, its context paths). */
import * as path from 'node:path';
import type { AnsibleEntry, BuildSpec } from './schema';
import { durationMs } from '../contract/plan';
import type {
  AnsibleStep,
  AnsibleVar,
  BuildPlan,
  DropletPlan,
  EnvSource,
  MatrixVariant,
  ProvisionStep,
} from '../contract/plan';

/** A script's time limit and the user it runs as, as the plan writes them. */
const runOptions = (s: { timeout?: string | undefined; user?: string | undefined }) => ({
  ...(s.timeout ? { timeoutMs: durationMs(s.timeout) } : {}),
  ...(s.user !== undefined ? { user: s.user } : {}),
});
/** An inline command's `name:` is its label, and kept as its name so the worker checks it too. */
const named = (s: { run: string; name?: string | undefined }) =>
  s.name !== undefined ? { label: s.name, name: s.name } : { label: shorten(s.run) };

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
        const parts = [
          spec.matrix.image ? image : '',
          spec.matrix.size ? size : '',
          spec.matrix.region ? region : '',
        ].filter(Boolean);
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
      else if ('ansible' in s) steps.push(ansibleStep(s));
      else if ('script' in s) steps.push({ kind: 'script', path: s.script, label: s.script, ...runOptions(s) });
      else steps.push({ kind: 'script', run: s.run, ...named(s), ...runOptions(s) });
    }
  } else {
    for (const f of spec.files) steps.push({ kind: 'upload', ...f });
    for (const s of spec.scripts) {
      if (typeof s === 'string') steps.push({ kind: 'script', path: s, label: s });
      else if ('ansible' in s) steps.push(ansibleStep(s));
      else steps.push({ kind: 'script', run: s.run, ...named(s), ...runOptions(s) });
    }
  }
  const env: Record<string, EnvSource> = {};
  for (const [k, v] of Object.entries(spec.env))
    env[k] = typeof v === 'string' ? { value: v } : { fromWorker: v.fromWorker };
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
    tests: spec.tests.map((t) =>
      typeof t === 'string'
        ? { kind: 'script' as const, path: t, label: t }
        : { kind: 'script' as const, run: t.run, ...named(t), ...runOptions(t) },
    ),
    ...(spec.marketplace ? { marketplace: spec.marketplace } : {}),
  };
}

/**
 * An `ansible:` entry as the plan runs it: the folder sent is the playbook's unless `dir:` names
 * one, written without a trailing "/"; empty lists and maps are left out.
 */
function ansibleStep(s: AnsibleEntry): AnsibleStep {
  const a = s.ansible;
  const dir = (a.dir ?? path.posix.dirname(a.playbook)).replace(/\/+$/, '');
  const extraVars = Object.entries(a.extraVars ?? {}).map(([k, v]): [string, AnsibleVar] => [
    k,
    typeof v === 'object' ? { fromWorker: v.fromWorker } : { value: v },
  ]);
  return {
    kind: 'ansible',
    playbook: a.playbook,
    dir,
    ...(a.galaxy !== undefined ? { galaxy: a.galaxy } : {}),
    ...(extraVars.length > 0 ? { extraVars: Object.fromEntries(extraVars) } : {}),
    ...(a.env && Object.keys(a.env).length > 0 ? { env: a.env } : {}),
    ...(a.user !== undefined ? { user: a.user } : {}),
    ...(a.tags && a.tags.length > 0 ? { tags: a.tags } : {}),
    ...(a.skipTags && a.skipTags.length > 0 ? { skipTags: a.skipTags } : {}),
    ...(a.keepAnsible ? { keepAnsible: true } : {}),
    ...(s.name !== undefined ? { label: s.name, name: s.name } : { label: `ansible ${a.playbook}` }),
    ...(s.timeout ? { timeoutMs: durationMs(s.timeout) } : {}),
  };
}

/** Every path in the build context the plan reads. */
export function contextPaths(plan: BuildPlan): string[] {
  const paths = new Set<string>();
  for (const s of plan.steps) {
    if (s.kind === 'upload') paths.add(s.src);
    else if (s.kind === 'ansible') [s.dir, s.playbook, s.galaxy].forEach((p) => p !== undefined && paths.add(p));
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

function shorten(cmd: string): string {
  const one = cmd.replace(/\s+/g, ' ').trim();
  return one.length > 48 ? `${one.slice(0, 45)}...` : one;
}
