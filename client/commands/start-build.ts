/** `client start-build <spec>`: validate, pack the build context, start the build workflow. */
import type { Command } from 'commander';
import { WorkflowFailedError } from '@temporalio/client';
import type { Connection } from '@temporalio/client';
import { packContext, publishContext } from '../../context/pack';
import { checkStore, storeFromEnv } from '../../context/store-config';
import { SpecError, loadSpec } from '../../spec/load';
import { contextPaths } from '../../spec/plan';
import type { BuildPlan } from '../../spec/plan';
import { BuildName, BuildStatus } from '../../workflows/search-attributes';
import type { BuildInput, BuildManifest } from '../../workflows/types';
import { ensureSearchAttributes } from '../../worker/search-attributes';
import { followBuild } from '../follow';
import { ensureLocalStack } from '../local-stack';
import { buildUrl, taskQueue, temporalClient, temporalSettings, withConnectionFlags } from '../settings';
import type { ConnectionFlags } from '../settings';
import { UserError } from '../user-error';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BuildMemo } from '../build-handle';

interface StartFlags extends ConnectionFlags {
  base?: boolean;
  local?: boolean;
  wait?: boolean;
  json?: boolean;
  id?: string;
  operatorTimeout?: string;
}

export function utcStamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

export function registerStartBuild(program: Command): void {
  withConnectionFlags(
    program
      .command('start-build')
      .description('start building an image from a build spec')
      .argument('<spec>', 'the build spec (YAML)')
      .option('--base', 'stop before cleanup and keep the droplet to inspect (no snapshot)')
      .option('--local', 'build in the lab on this machine, starting Temporal, the lab and a worker when needed')
      .option('--wait', 'follow the build until it ends and print its manifest')
      .option('--json', 'print JSON')
      .option('--id <build-id>', 'the build id (default build-<name>-<UTC timestamp>)')
      .option('--operator-timeout <hours>', 'how long a failed step waits for an operator before the build gives up', '24'),
  ).action(async (specFile: string, flags: StartFlags) => {
    const say = (msg: string) => {
      if (!flags.json) process.stderr.write(`${msg}\n`);
    };
    let loaded;
    try {
      loaded = await loadSpec(specFile);
    } catch (err) {
      if (err instanceof SpecError) throw new UserError(err.message, 2);
      throw err;
    }
    const hours = Number(flags.operatorTimeout);
    if (!(hours > 0)) throw new UserError(`--operator-timeout must be a positive number of hours, not "${flags.operatorTimeout}"`, 2);

    const settings = flags.local ? (await ensureLocalStack(say)).temporal : temporalSettings(flags);
    const client = await temporalClient(settings);
    await ensureSearchAttributes(client.connection as Connection, settings.namespace).catch(() => undefined);

    const store = storeFromEnv();
    await checkStore(store).catch((err: unknown) => {
      throw new UserError(err instanceof Error ? err.message : String(err));
    });
    const packed = [...contextPaths(loaded.plan), path.basename(loaded.file)];
    const ctx = await packContext(loaded.dir, packed);
    await publishContext(store, ctx);

    const stamp = utcStamp();
    const buildId = flags.id ?? `build-${loaded.plan.name}-${stamp}`;
    const input: BuildInput = {
      buildId,
      plan: loaded.plan,
      contextDigest: ctx.digest,
      mode: flags.base ? 'base' : 'image',
      snapshotName: loaded.plan.snapshot.name ?? `${loaded.plan.name}-${stamp}`,
      operatorTimeoutMs: Math.round(hours * 3600_000),
    };
    const handle = await client.workflow
      .start('buildImage', {
        taskQueue: taskQueue(flags),
        workflowId: buildId,
        args: [input],
        staticSummary: `${loaded.plan.name}: ${loaded.plan.droplet.image} in ${loaded.plan.droplet.region}, ${input.mode} build`,
        staticDetails: staticDetails(loaded.plan, input),
        memo: { specDir: loaded.dir, specFile: loaded.file, host: os.hostname(), contextPaths: packed } satisfies BuildMemo,
        typedSearchAttributes: [
          { key: BuildName, value: loaded.plan.name },
          { key: BuildStatus, value: 'running' },
        ],
      })
      .catch((err: unknown) => {
        const msg = err instanceof Error ? err.message : String(err);
        if (/already started|AlreadyStarted/i.test(msg)) throw new UserError(`a build with id ${buildId} already exists: pick another --id`);
        throw err;
      });
    const url = buildUrl(settings, buildId);
    say(`started ${buildId}${url ? `\n  Web UI: ${url}` : ''}`);

    if (!flags.wait) {
      if (flags.json) console.log(JSON.stringify({ buildId, status: 'running', url, contextDigest: ctx.digest }, null, 2));
      return;
    }
    await followBuild(handle, { json: !!flags.json });
    let manifest: BuildManifest | undefined;
    let error: string | undefined;
    try {
      manifest = (await handle.result()) as BuildManifest;
    } catch (err) {
      error = err instanceof WorkflowFailedError ? (err.cause?.message ?? err.message) : err instanceof Error ? err.message : String(err);
    }
    if (flags.json) {
      console.log(
        JSON.stringify(
          manifest
            ? { buildId, status: manifest.status, snapshot: manifest.snapshot ?? null, url, manifest }
            : { buildId, status: 'failed', snapshot: null, url, error },
          null,
          2,
        ),
      );
    } else if (manifest) {
      console.log(JSON.stringify(manifest, null, 2));
    }
    if (!manifest || manifest.status !== 'succeeded') {
      if (!flags.json) process.stderr.write(`client: build ${buildId} failed: ${error ?? manifest?.error}\n`);
      process.exitCode = 1;
    }
  });
}

function staticDetails(plan: BuildPlan, input: BuildInput): string {
  const scripts = plan.steps.filter((s) => s.kind === 'script').length;
  const uploads = plan.steps.length - scripts;
  return [
    `**${plan.name}** by ${plan.vendor} — ${input.mode === 'base' ? 'base build (keeps the droplet, no snapshot)' : `snapshot \`${input.snapshotName}\``}`,
    '',
    `- base image: \`${plan.droplet.image}\`, region \`${plan.droplet.region}\`, size \`${plan.droplet.size}\``,
    `- apt: ${plan.apt.packages.length} packages${plan.apt.upgrade ? ', full upgrade' : ''}`,
    `- ${uploads} uploads, ${scripts} scripts, ${plan.firstBoot.length} first-boot scripts${plan.firstLogin ? ', a first-login script' : ''}`,
    ...(plan.snapshot.regions.length ? [`- copied to ${plan.snapshot.regions.join(', ')}`] : []),
    `- build context \`${input.contextDigest.slice(0, 19)}…\``,
  ].join('\n');
}
