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
import { FailureType } from '../../contract/failures';
import { refusedWorkerVariable } from '../../contract/worker-secrets';
import { apiRetryProblems, bastionProblems, planProblems } from '../../contract/plan-checks';
import {
  LIMITS,
  appId,
  aptPackages,
  ansibleStep,
  contextPath,
  destPath,
  doId,
  doRegion,
  doSlug,
  doTag,
  dropletSpec,
  env as envRule,
  ipv4,
  keep,
  name as specName,
  planSchema,
  scriptTimeoutMs,
  snapshotName,
  stepId,
  tags,
  unixUser,
} from '../../contract/plan-schema';
import type { BuildInput } from '../../contract/build';
import type { DropletRef } from '../../contract/steps';
import type { AnsibleVar, EnvSource } from '../../contract/plan';

// Re-exported: activities and tests name the formats from here.
export { LIMITS, appId, doRegion, doSlug, doTag, snapshotName };

export function specFailure(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: FailureType.Spec, nonRetryable: true });
}

const buildId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, 'must be a build id (letters, digits, ".", "_", ":" and "-")');
const digest = z.string().regex(/^sha256-[0-9a-f]{64}$/, 'must be a context digest, sha256-<64 hex>');
export const scriptLimit = scriptTimeoutMs;
const ms = z
  .number()
  .int()
  .positive()
  .max(366 * 24 * 3600_000);
const buildInput = z.object({
  buildId,
  plan: planSchema,
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
  // A bad key of a map (an env or variable name): the rule it breaks, not only that it is bad.
  const message = issue.code === 'invalid_key' && issue.issues[0] ? issue.issues[0].message : issue.message;
  throw specFailure(`refused input: ${where}: ${message}`);
}

export const check = {
  dropletSpec,
  doRegion,
  doSlug,
  doTag,
  tags,
  snapshotName,
  appId,
  buildId,
  digest,
  destPath,
  name: specName,
  stepId,
  unixUser,
  ansibleStep,
  imageId: doId,
  imageIds: z.array(doId).max(10_000),
  keep,
  apt: z.object({ upgrade: z.boolean(), packages: aptPackages }),
  matrixConcurrency: z.number().int().min(1).max(LIMITS.matrixConcurrency),
};

/** The droplet a step reaches: its id, address and host key owner, bastion and API settings. */
const dropletRef = z.object({
  buildId,
  dropletId: doId,
  ipv4,
  /**
   * Whose derived host key the droplet has, set by the worker from the run (droplets/owned.ts; an
   * input's is dropped): "<build id>/run/<run id>", "…/verify" for verify's droplet, or a build id alone
   * for a droplet made before run tags.
   */
  hostKeyId: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}(\/run\/[A-Za-z0-9-]{1,64})?(\/verify)?$/,
      'must be "<build id>[/run/<run id>][/verify]"',
    )
    .optional(),
});

/** Every field of a DropletRef an SSH or API step acts on; refuses for good when one is off. */
export function checkDropletRef(ref: DropletRef, what = 'droplet'): void {
  checked(dropletRef, ref, what);
  refuseIf([...bastionProblems(ref.bastion, `${what}.bastion`), ...apiRetryProblems(ref.api, `${what}.api`)]);
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
  checked(envRule, env, 'env');
  for (const [name, source] of Object.entries(env)) {
    if (!('fromWorker' in source)) continue;
    const refusal = refusedWorkerVariable(name, source.fromWorker, allowed);
    if (refusal)
      throw ApplicationFailure.create({ message: refusal, type: FailureType.MissingWorkerEnv, nonRetryable: true });
  }
}

/** An ansible step's extra variables: every `fromWorker` one the worker's operator allowed. */
export function checkExtraVars(vars: Record<string, AnsibleVar>, allowed: readonly string[]): void {
  for (const [name, source] of Object.entries(vars)) {
    if (!('fromWorker' in source)) continue;
    const refusal = refusedWorkerVariable(`extraVars.${name}`, source.fromWorker, allowed);
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
    else if (s.kind === 'ansible') {
      for (const k of ['dir', 'playbook', 'galaxy'] as const)
        if (s[k] !== undefined) paths.push([s[k], `plan.steps.${n}.${k}`]);
      checkExtraVars(s.extraVars ?? {}, allowed);
    } else if (s.path !== undefined) paths.push([s.path, `plan.steps.${n}.path`]);
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
