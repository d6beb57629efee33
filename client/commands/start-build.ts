/** `client start-build <spec>`: validate, pack the build context, start the build workflow. */
import type { Command } from 'commander';
import { WorkflowFailedError } from '@temporalio/client';
import type { Connection } from '@temporalio/client';
import type { BuildInput, BuildManifest } from '../../contract/build';
import { ensureSearchAttributes } from '../../platform/search-attributes';
import { followBuild } from '../follow';
import { ensureLocalStack } from '../local-stack';
import { buildUrl, taskQueue, temporalClient, temporalSettings, withConnectionFlags } from '../settings';
import { startMatrix } from './start-matrix';
import { outcomeOf } from '../ci-report/outcome';
import { writeReports } from '../ci-report/write';
import type { ReportFlags } from '../ci-report/write';
import { UserError } from '../../contract/user-error';
import {
  buildOptions,
  loadSpecForClient,
  packForWorkers,
  refuseDuplicateId,
  startingAttributes,
  staticDetails,
  utcStamp,
  withBuildFlags,
  buildMemo,
} from '../build-input';
import type { LoadedSpec, StartFlags } from '../build-input';

export function registerStartBuild(program: Command): void {
  withConnectionFlags(
    withBuildFlags(
      program
        .command('start-build')
        .description('start building an image from a build spec')
        .argument('<spec...>', 'the build spec (YAML); several specs, or a spec with a matrix, make a matrix build')
        .option('--base', 'stop before cleanup and keep the droplet to inspect (no snapshot)')
        .option('--local', 'build in the lab on this machine, starting Temporal, the lab and a worker when needed')
        .option('--wait', 'follow the build until it ends and print its manifest')
        .option('--json', 'print JSON')
        .option('--junit <file>', 'with --wait: write a JUnit XML report (a test case per step and per image test)')
        .option('--summary <file>', 'with --wait: append a Markdown summary (e.g. $GITHUB_STEP_SUMMARY)')
        .option(
          '--until-approval',
          'with --wait --publish: stop following (exit 0, reports written) once the build waits for `client approve`',
        )
        .option('--id <build-id>', 'the build id (default build-<name>-<UTC timestamp>)')
        .option(
          '--concurrency <n>',
          "matrix builds: variants built at once (default: the spec's matrix.concurrency, or 2)",
        ),
    ),
  ).action(async (specFiles: string[], flags: StartFlags & ReportFlags & { untilApproval?: boolean }) => {
    if ((flags.junit || flags.summary || flags.untilApproval) && !flags.wait)
      throw new UserError(
        '--junit, --summary and --until-approval report on a build followed to its end: add --wait',
        2,
      );
    if (flags.untilApproval && !flags.publish)
      throw new UserError('--until-approval stops at the wait for publishing approval: add --publish', 2);
    const say = (msg: string) => {
      if (!flags.json) process.stderr.write(`${msg}\n`);
    };
    const all: LoadedSpec[] = [];
    for (const f of specFiles) all.push(await loadSpecForClient(f));
    if (all.length > 1 || all[0]!.spec.matrix) {
      if (flags.junit || flags.summary || flags.untilApproval)
        throw new UserError('--junit, --summary and --until-approval are for a single build, not a matrix', 2);
      await startMatrix(all, flags, say);
      return;
    }
    const loaded = all[0]!;
    const options = buildOptions(loaded.plan, flags);

    const settings = flags.local ? (await ensureLocalStack(say)).temporal : temporalSettings(flags);
    const client = await temporalClient(settings);
    await ensureSearchAttributes(client.connection as Connection, settings.namespace).catch(() => undefined);

    const { ctx, packed } = await packForWorkers(loaded);

    const stamp = utcStamp();
    const buildId = flags.id ?? `build-${loaded.plan.name}-${stamp}`;
    const input: BuildInput = {
      buildId,
      plan: loaded.plan,
      contextDigest: ctx.digest,
      snapshotName: loaded.plan.snapshot.name ?? `${loaded.plan.name}-${stamp}`,
      ...options,
    };
    const handle = await client.workflow
      .start('buildImage', {
        taskQueue: taskQueue(flags),
        workflowId: buildId,
        args: [input],
        staticSummary: `${loaded.plan.name}: ${loaded.plan.droplet.image} in ${loaded.plan.droplet.region}, ${input.mode} build`,
        staticDetails: staticDetails(loaded.plan, input),
        memo: buildMemo(loaded, packed),
        typedSearchAttributes: startingAttributes(loaded.plan.name),
      })
      .catch(refuseDuplicateId(buildId));
    const url = buildUrl(settings, buildId);
    say(`started ${buildId}${url ? `\n  Web UI: ${url}` : ''}`);

    if (!flags.wait) {
      if (flags.json)
        console.log(JSON.stringify({ buildId, status: 'running', url, contextDigest: ctx.digest }, null, 2));
      return;
    }
    const end = await followBuild(handle, { json: !!flags.json, untilApproval: !!flags.untilApproval });
    if (end === 'waiting-for-approval') {
      await writeReports(client, await outcomeOf(handle, loaded.plan.name, { waitingForApproval: true }), flags);
      if (flags.json) console.log(JSON.stringify({ buildId, status: 'waiting-for-approval', url }, null, 2));
      else say(`build ${buildId} waits for approval to publish: client approve ${buildId}`);
      return;
    }
    let manifest: BuildManifest | undefined;
    let error: string | undefined;
    try {
      manifest = (await handle.result()) as BuildManifest;
    } catch (err) {
      error =
        err instanceof WorkflowFailedError
          ? (err.cause?.message ?? err.message)
          : err instanceof Error
            ? err.message
            : String(err);
    }
    // Written before the exit code is set: a failed build's report is what CI shows of it.
    await writeReports(client, await outcomeOf(handle, loaded.plan.name, { manifest, error }), flags);
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
