/**
 * The client's one start path: a spec file becomes a workflow input here — loaded and validated,
 * its context packed and published to the store workers read, its options taken from the flags,
 * and a duplicate build id refused with a message. start-build, start-matrix and schedule use it.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { packContext, publishContext } from '../context/pack';
import { LinkOutsideError } from '../context/pack-walk';
import { checkStore, storeFromEnv } from '../context/store-config';
import { SpecError, loadSpec } from '../spec/load';
import { contextPaths } from '../spec/plan';
import type { BuildPlan } from '../contract/plan';
import { BuildName, BuildStatus } from '../contract/search-attributes';
import type { BuildInput } from '../contract/build';
import { UserError } from '../contract/user-error';
import { planProblems } from '../contract/plan-checks';
import type { ConnectionFlags } from './settings';
import type { BuildMemo } from './build-handle';

export interface StartFlags extends ConnectionFlags {
  base?: boolean;
  local?: boolean;
  wait?: boolean;
  json?: boolean;
  id?: string;
  operatorTimeout?: string;
  verify?: boolean;
  publish?: boolean;
  approvalTimeout?: string;
  reviewPoll?: string;
  busyRetry?: string;
  busyCeiling?: string;
  concurrency?: string;
}

/** Build options shared by start-build and schedule create. */
export function withBuildFlags(cmd: Command): Command {
  return cmd
    .option(
      '--operator-timeout <hours>',
      'how long a failed step waits for an operator before the build gives up',
      '24',
    )
    .option('--no-verify', 'do not test the image on a droplet made from the snapshot')
    .option('--publish', "publish to the spec's Marketplace app after a person approves (client approve)")
    .option('--approval-timeout <hours>', 'how long to wait for approval before giving up publishing', '168')
    .option('--review-poll <minutes>', 'first wait between looks at the Marketplace review (doubles, up to 12 h)', '15')
    .option('--busy-retry <minutes>', 'wait before submitting again while the app is pending or in review', '60')
    .option('--busy-ceiling <hours>', 'give up submitting when the app stays pending or in review this long', '336');
}

function positiveNumber(v: string | undefined, flag: string): number {
  const n = Number(v);
  if (!(n > 0)) throw new UserError(`${flag} must be a positive number, not "${v}"`, 2);
  return n;
}

/** The workflow input's options from the flags (ids and names are added by the caller). */
export function buildOptions(
  plan: BuildPlan,
  flags: StartFlags,
): Pick<BuildInput, 'mode' | 'operatorTimeoutMs' | 'verify' | 'publish' | 'publishTiming'> {
  const hours = positiveNumber(flags.operatorTimeout, '--operator-timeout');
  if (flags.publish && !plan.marketplace) {
    throw new UserError(
      '--publish needs a marketplace section in the spec: marketplace: { appId, version, software: [...] } (the app id is in the Vendor Portal URL)',
      2,
    );
  }
  if (flags.publish && flags.base)
    throw new UserError('--publish and --base do not go together: a base build makes no image', 2);
  const minutes = (v: string | undefined, f: string) => Math.round(positiveNumber(v, f) * 60_000);
  return {
    mode: flags.base ? 'base' : 'image',
    operatorTimeoutMs: Math.round(hours * 3600_000),
    ...(flags.verify === false ? { verify: false } : {}),
    ...(flags.publish
      ? {
          publish: true,
          publishTiming: {
            approvalTimeoutMs: minutes(flags.approvalTimeout, '--approval-timeout') * 60,
            reviewPollMs: minutes(flags.reviewPoll, '--review-poll'),
            busyRetryMs: minutes(flags.busyRetry, '--busy-retry'),
            busyTimeoutMs: minutes(flags.busyCeiling, '--busy-ceiling') * 60,
          },
        }
      : {}),
  };
}

export type LoadedSpec = Awaited<ReturnType<typeof loadSpec>>;

/** Loads a spec; a bad one is a usage error (exit 2) with the spec's own message. */
export async function loadSpecForClient(specFile: string): Promise<LoadedSpec> {
  let loaded: LoadedSpec;
  try {
    loaded = await loadSpec(specFile);
  } catch (err) {
    if (err instanceof SpecError) throw new UserError(err.message, 2);
    throw err;
  }
  // What a build cannot honour (a bastion without its host key, user data over 64 KiB…) is
  // refused before anything starts; the worker checks the same again.
  const problems = planProblems(loaded.plan);
  if (problems.length > 0) throw new UserError(problems.map((p) => `${specFile}: ${p}`).join('\n'), 2);
  return loaded;
}

/** Packs the files the spec reads into a content-addressed archive in the store workers read. */
export async function packForWorkers(
  loaded: LoadedSpec,
): Promise<{ ctx: Awaited<ReturnType<typeof packContext>>; packed: string[] }> {
  const store = storeFromEnv();
  await checkStore(store).catch((err: unknown) => {
    throw new UserError(err instanceof Error ? err.message : String(err));
  });
  const packed = [...contextPaths(loaded.plan), path.basename(loaded.file)];
  const ctx = await packContext(loaded.dir, packed).catch((err: unknown) => {
    // A link changed since the spec was checked: the same refusal as validate's.
    if (err instanceof LinkOutsideError) throw new UserError(`${loaded.file}: ${err.message}`, 2);
    throw err;
  });
  await publishContext(store, ctx);
  return { ctx, packed };
}

/** A new build's search attributes until its worker takes over. */
export function startingAttributes(name: string) {
  return [
    { key: BuildName, value: name },
    { key: BuildStatus, value: 'running' as const },
  ];
}

/** Turns "workflow already started" into a message naming the id. */
export function refuseDuplicateId(buildId: string): (err: unknown) => never {
  return (err) => {
    const msg = err instanceof Error ? err.message : String(err);
    if (/already started|AlreadyStarted/i.test(msg))
      throw new UserError(`a build with id ${buildId} already exists: pick another --id`);
    throw err;
  };
}

export function utcStamp(d = new Date()): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export function staticDetails(plan: BuildPlan, input: BuildInput): string {
  const scripts = plan.steps.filter((s) => s.kind === 'script').length;
  const uploads = plan.steps.length - scripts;
  return [
    `**${plan.name}** by ${plan.vendor} — ${input.mode === 'base' ? 'base build (keeps the droplet, no snapshot)' : `snapshot \`${input.snapshotName}\``}`,
    '',
    `- base image: \`${plan.droplet.image}\`, region \`${plan.droplet.region}\`, size \`${plan.droplet.size}\``,
    `- apt: ${plan.apt.packages.length} packages${plan.apt.upgrade ? ', full upgrade' : ''}`,
    `- ${uploads} uploads, ${scripts} scripts, ${plan.firstBoot.length} first-boot scripts${plan.firstLogin ? ', a first-login script' : ''}`,
    ...(plan.snapshot.regions.length ? [`- copied to ${plan.snapshot.regions.join(', ')}`] : []),
    ...(input.mode === 'image'
      ? [
          `- ${input.verify === false ? 'not tested (--no-verify)' : `tested on a fresh droplet${plan.tests.length ? ` with ${plan.tests.length} tests` : ''}`}`,
        ]
      : []),
    ...(input.publish && plan.marketplace
      ? [`- published to Marketplace app \`${plan.marketplace.appId}\` after approval`]
      : []),
    ...(plan.snapshot.keep ? [`- keeps the newest ${plan.snapshot.keep} snapshots of ${plan.name}`] : []),
    `- build context \`${input.contextDigest.slice(0, 19)}…\``,
  ].join('\n');
}

/** Where the spec was on the machine that started the build: `client retry` repacks it after an edit. */
export function buildMemo(loaded: LoadedSpec, packed: string[]) {
  return { specDir: loaded.dir, specFile: loaded.file, host: os.hostname(), contextPaths: packed } satisfies BuildMemo;
}
