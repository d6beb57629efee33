/**
 * The one validator of what a workflow hands a worker. A workflow input may come from anyone who
 * can reach the task queue, or from an edited history: the worker trusts its own configuration
 * and nothing else, so every activity re-checks the paths, names and values it acts on here, and
 * `checkInput` checks the whole input before the build creates anything. A refusal is final
 * (FailureType.Spec; a `fromWorker` the worker does not allow: MissingWorkerEnv) and names what
 * is wrong, never a secret's value.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { envName, fileMode, name as specName } from '../../spec/schema';
import { FailureType } from '../../contract/failures';
import { refusedWorkerVariable } from '../../contract/worker-secrets';
import {
  apiRetryProblems,
  bastionProblems,
  dropletProblems,
  planProblems,
  timeoutProblems,
} from '../../contract/plan-checks';
import type { BuildInput } from '../../contract/build';
import type { ApiRetry } from '../../contract/steps';
import { MAX_SCRIPT_TIMEOUT_MS } from '../../contract/plan';
import type { BastionPlan, DropletPlan, EnvSource } from '../../contract/plan';
import type { ActivityDeps } from './deps';

export const LIMITS = {
  steps: 500,
  envVars: 200,
  envValueBytes: 64 * 1024,
  inlineScriptBytes: 256 * 1024,
  pathChars: 1024,
  packages: 2000,
  tags: 50,
  regions: 20,
  firstBoot: 100,
  tests: 200,
};

export function specFailure(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: FailureType.Spec, nonRetryable: true });
}

/** DigitalOcean's formats. */
export const doSlug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be a DigitalOcean slug (lowercase letters, digits, ".", "_", "-")');
export const doRegion = z.string().regex(/^[a-z]{3}[0-9]$/, 'must be a DigitalOcean region slug, e.g. nyc3');
export const doTag = z
  .string()
  .regex(/^[A-Za-z0-9_:-]{1,255}$/, 'must be a DigitalOcean tag (letters, digits, "_", ":" and "-")')
  // The builder's own tags say which build and run made a droplet or image: no input may forge one.
  .refine(
    (t) => !/^image-forge(-keep|-build-|-run-|$)/.test(t),
    "is one of the builder's own tags (image-forge, image-forge-keep, image-forge-build-…, image-forge-run-…)",
  );
export const snapshotName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/, 'must be a snapshot name (letters, digits, ".", "_", "-")');
export const appId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be a Marketplace app id (letters, digits, "_" and "-")');
const buildId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, 'must be a build id (letters, digits, ".", "_", ":" and "-")');
const digest = z.string().regex(/^sha256-[0-9a-f]{64}$/, 'must be a context digest, sha256-<64 hex>');
const contextPath = z
  .string()
  .min(1)
  .max(LIMITS.pathChars)
  .refine((p) => isNormalRelative(p), 'must be a normalised path inside the build context (relative, no "..")');
const destPath = z
  .string()
  .max(LIMITS.pathChars)
  .refine((p) => isNormalAbsolute(p), 'must be a normalised absolute path on the droplet (no "..", "//" or ".")');
const label = z.string().max(300);
export const scriptLimit = z.number().int().positive().max(MAX_SCRIPT_TIMEOUT_MS, 'must be at most 115 minutes');
const scriptStep = z.object({
  kind: z.literal('script'),
  path: contextPath.optional(),
  run: z.string().max(LIMITS.inlineScriptBytes).optional(),
  label,
});
const uploadStep = z.object({ kind: z.literal('upload'), src: contextPath, dest: destPath, mode: fileMode.optional() });
const envSource = z.union([
  z.object({
    value: z
      .string()
      .max(LIMITS.envValueBytes)
      .refine((v) => !v.includes('\0'), 'holds a NUL byte, which no environment variable can carry'),
  }),
  z.object({ fromWorker: envName }),
]);
const dropletSpec = z.object({
  image: doSlug,
  region: doRegion,
  size: doSlug,
  tags: z.array(doTag).max(LIMITS.tags),
});
const plan = z.object({
  name: specName,
  vendor: specName,
  droplet: dropletSpec,
  apt: z.object({
    upgrade: z.boolean(),
    packages: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9+.:=~-]{0,127}$/, 'must be a Debian package name'))
      .max(LIMITS.packages),
  }),
  steps: z.array(z.union([uploadStep, scriptStep])).max(LIMITS.steps),
  firstBoot: z.array(contextPath).max(LIMITS.firstBoot),
  firstLogin: contextPath.optional(),
  env: z.record(envName, envSource).refine((e) => Object.keys(e).length <= LIMITS.envVars, 'too many variables'),
  snapshot: z.object({
    name: snapshotName.optional(),
    regions: z.array(doRegion).max(LIMITS.regions),
    tags: z.array(doTag).max(LIMITS.tags),
    keep: z.number().int().min(1).max(1000).optional(),
  }),
  tests: z.array(scriptStep).max(LIMITS.tests),
  marketplace: z
    .object({
      appId,
      version: z.string().min(1).max(100).optional(),
      reasonForUpdate: z.string().max(2000).optional(),
      osVersion: z.string().max(200).optional(),
      software: z
        .array(
          z.union([
            z.string().max(128),
            z.object({
              name: z.string().min(1).max(128),
              version: z.string().max(128).optional(),
              package: z.string().max(128).optional(),
              releaseNotes: z.string().max(2000).optional(),
              website: z.string().max(500).optional(),
              licenseType: z.string().max(200).optional(),
              licenseLink: z.string().max(500).optional(),
            }),
          ]),
        )
        .max(LIMITS.packages)
        .optional(),
    })
    .optional(),
});
const ms = z
  .number()
  .int()
  .positive()
  .max(366 * 24 * 3600_000);
const buildInput = z.object({
  buildId,
  plan,
  contextDigest: digest,
  mode: z.enum(['image', 'base']),
  snapshotName,
  operatorTimeoutMs: ms.optional(),
  verify: z.boolean().optional(),
  publish: z.boolean().optional(),
  scheduled: z.boolean().optional(),
  rebuildAfterMs: ms.optional(),
  publishTiming: z.record(z.string(), ms).optional(),
});

/** Parses `value` with `schema`, or fails the step for good naming the field and the rule. */
export function checked<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const where = [what, ...issue.path.map(String)].join('.');
  throw specFailure(`refused input: ${where}: ${issue.message}`);
}

export const check = {
  dropletSpec,
  doRegion,
  doSlug,
  doTag,
  tags: z.array(doTag).max(LIMITS.tags),
  snapshotName,
  appId,
  buildId,
  digest,
  destPath,
  name: specName,
};

function isNormalRelative(p: string): boolean {
  if (p.includes('\0') || p.startsWith('/')) return false;
  const bare = p.endsWith('/') ? p.slice(0, -1) : p;
  if (bare === '' || bare === '.') return false;
  return path.posix.normalize(bare) === bare && !bare.split('/').includes('..');
}

function isNormalAbsolute(p: string): boolean {
  if (!p.startsWith('/') || /[\0\n\r]/.test(p)) return false;
  const bare = p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
  return path.posix.normalize(bare) === bare && !bare.split('/').includes('..');
}

/** A context path as given (relative, normalised), resolved inside `root` after symlinks; its real path. */
export async function checkContextPath(root: string, rel: string, what = 'path'): Promise<string> {
  checked(contextPath, rel, what);
  const realRoot = await fs.realpath(root);
  const real = await fs.realpath(path.join(root, rel)).catch((e: NodeJS.ErrnoException) => {
    throw specFailure(`refused input: ${what}: ${rel} is not in the build context (${e.code ?? 'unreadable'})`);
  });
  if (real !== realRoot && !real.startsWith(realRoot + path.sep))
    throw specFailure(`refused input: ${what}: ${rel} leads outside the build context`);
  return real;
}

/** An absolute, normalised destination path on the droplet. */
export function checkDestPath(dest: string, what = 'dest'): string {
  return checked(destPath, dest, what);
}

/** Names and sizes of a script's environment; every `fromWorker` one the worker's operator allowed. */
export function checkEnv(env: Record<string, EnvSource>, allowed: readonly string[]): void {
  checked(plan.shape.env, env, 'env');
  for (const [name, source] of Object.entries(env)) {
    if (!('fromWorker' in source)) continue;
    const refusal = refusedWorkerVariable(name, source.fromWorker, allowed);
    if (refusal)
      throw ApplicationFailure.create({ message: refusal, type: FailureType.MissingWorkerEnv, nonRetryable: true });
  }
}

/** The whole build input: shapes and formats, the env against the allow-list, every context path on disk. */
export async function checkBuildInput(
  input: BuildInput,
  allowed: readonly string[],
  unpack: (digest: string) => Promise<string>,
): Promise<void> {
  const i = checked(buildInput, input, 'input');
  // The builder options (network, user data, bastion, timeouts, API retries) have their own rules.
  const problems = planProblems(input.plan);
  if (problems.length > 0) throw specFailure(`refused input: ${problems.join('; ')}`);
  checkEnv(i.plan.env, allowed);
  const bastionKey = input.plan.ssh?.bastion?.privateKey?.fromWorker;
  if (bastionKey !== undefined) {
    const refusal = refusedWorkerVariable('ssh.bastion.privateKey', bastionKey, allowed);
    if (refusal)
      throw ApplicationFailure.create({ message: refusal, type: FailureType.MissingWorkerEnv, nonRetryable: true });
  }
  const contextRoot = await unpack(i.contextDigest);
  const paths: [string, string][] = [];
  i.plan.steps.forEach((s, n) => {
    if (s.kind === 'upload') paths.push([s.src, `plan.steps.${n}.src`]);
    else if (s.path !== undefined) paths.push([s.path, `plan.steps.${n}.path`]);
    else if (s.run === undefined) throw specFailure(`refused input: plan.steps.${n}: a script needs a path or run`);
  });
  i.plan.firstBoot.forEach((p, n) => paths.push([p, `plan.firstBoot.${n}`]));
  if (i.plan.firstLogin) paths.push([i.plan.firstLogin, 'plan.firstLogin']);
  i.plan.tests.forEach((s, n) => {
    if (s.path !== undefined) paths.push([s.path, `plan.tests.${n}.path`]);
  });
  for (const [p, what] of paths) await checkContextPath(contextRoot, p, what);
}

/** Refuses for good, naming every problem found. */
export function refuseIf(problems: string[]): void {
  if (problems.length === 0) return;
  throw ApplicationFailure.create({
    message: `refused workflow input: ${problems.join('; ')}`,
    type: FailureType.Spec,
    nonRetryable: true,
  });
}

/** The plan fields an API-calling activity takes from its input (droplet, bastion, API retries, timeouts). */
export interface CheckedInput {
  droplet?: Partial<DropletPlan>;
  bastion?: BastionPlan | undefined;
  api?: ApiRetry | undefined;
  /** name → milliseconds */
  timeouts?: Record<string, number | undefined>;
}

/** Checks what an activity takes from its input; returns deps whose API calls retry as the build says. */
export function depsForInput(deps: ActivityDeps, input: CheckedInput): ActivityDeps {
  const problems = [
    ...(input.droplet ? dropletProblems(input.droplet) : []),
    ...bastionProblems(input.bastion),
    ...apiRetryProblems(input.api),
  ];
  for (const [name, ms] of Object.entries(input.timeouts ?? {})) {
    if (ms !== undefined)
      problems.push(...timeoutProblems({ stateMs: ms }).map((p) => p.replace('timeouts.stateMs', name)));
  }
  refuseIf(problems);
  return input.api ? { ...deps, api: deps.api.withRetry(input.api) } : deps;
}
