/** `client status | watch | logs | list`: follow builds from the terminal. */
import type { Command } from 'commander';
import { storeFromEnv } from '../../context/store-config';
import { stepLogKey } from '../../contract/names';
import { stateQuery } from '../../contract/operator';
import { dropletCost } from '../../contract/cost';
import type { BuildState } from '../../contract/operator';
import type { BuildManifest, MatrixResult } from '../../contract/build';
import { openBuild } from '../build-handle';
import { followBuild } from '../follow';
import { buildUrl, temporalClient, temporalSettings, withConnectionFlags } from '../settings';
import type { ConnectionFlags } from '../settings';
import { UserError } from '../../contract/user-error';

interface Flags extends ConnectionFlags {
  json?: boolean;
  step?: string;
  status?: string;
  limit?: string;
}

const STATUSES = [
  'running',
  'waiting-for-operator',
  'waiting-for-approval',
  'waiting-for-review',
  'succeeded',
  'failed',
];

export function registerStatusCommands(program: Command): void {
  withConnectionFlags(
    program
      .command('status')
      .description("a build's steps, states and durations")
      .argument('<build>', 'build id')
      .option('--json', 'print JSON'),
  ).action(async (buildId: string, flags: Flags) => {
    const { handle, settings } = await openBuild(buildId, flags);
    const state = await handle.query(stateQuery);
    const desc = await handle.describe();
    let result: BuildManifest | undefined;
    let matrix: MatrixResult | undefined;
    if (desc.status.name === 'COMPLETED') {
      const r = (await handle.result()) as BuildManifest | MatrixResult;
      if ('variants' in r) matrix = r;
      else result = r;
    }
    if (flags.json) {
      console.log(
        JSON.stringify(
          {
            ...state,
            workflowStatus: desc.status.name,
            url: buildUrl(settings, buildId),
            snapshot: result?.snapshot ?? null,
            verify: result?.verify ?? null,
            publish: result?.publish ?? null,
            cost: result?.cost ?? dropletCost(state.steps, Date.now()),
            sbom: result?.sbom ?? null,
            ...(matrix ? { variants: matrix.variants } : {}),
          },
          null,
          2,
        ),
      );
      return;
    }
    console.log(
      `${buildId}: ${state.status}${state.snapshotId ? `, snapshot ${state.snapshotId}` : ''}${state.dropletId ? `, droplet ${state.dropletId}` : ''}`,
    );
    printSteps(state);
    const cost = result?.cost ?? dropletCost(state.steps, Date.now());
    console.log(
      `paid for: ${cost.buildDropletMinutes} droplet-minutes of the build droplet, ${cost.testDropletMinutes} of the test droplet`,
    );
    if (state.approval)
      console.log(
        `waiting for approval to publish image ${state.approval.imageId} to app ${state.approval.appId}: client approve ${buildId}, or client reject ${buildId} --reason …`,
      );
    for (const v of matrix?.variants ?? [])
      console.log(
        `  ${v.key}: ${v.status}${v.snapshot ? `, snapshot ${v.snapshot.name} (${v.snapshot.id})` : ''}${v.error ? ` — ${v.error}` : ''}`,
      );
    if (result?.verify)
      console.log(`verify: ${result.verify.state}${result.verify.error ? ` (${result.verify.error})` : ''}`);
    if (result?.sbom)
      console.log(
        `sbom: ${result.sbom.packages} packages (${result.sbom.licensed} with a machine-readable licence), ${result.sbom.files} placed files: client sbom ${buildId}`,
      );
    if (result?.publish)
      console.log(`publish: ${result.publish.state}${result.publish.reason ? ` — ${result.publish.reason}` : ''}`);
    const url = buildUrl(settings, buildId);
    if (url) console.log(`Web UI: ${url}`);
  });
  withConnectionFlags(
    program
      .command('watch')
      .description('follow a build until it ends')
      .argument('<build>', 'build id')
      .option('--json', 'print the final state as JSON'),
  ).action(async (buildId: string, flags: Flags) => {
    const { handle } = await openBuild(buildId, flags);
    await followBuild(handle, { json: !!flags.json });
    const state = await handle.query(stateQuery);
    if (flags.json) console.log(JSON.stringify(state, null, 2));
    else console.log(`${buildId}: ${state.status}`);
    if (state.status !== 'succeeded') process.exitCode = 1;
  });
  withConnectionFlags(
    program
      .command('logs')
      .description("a step's full output (kept in the build store, after the build ended too)")
      .argument('<build>', 'build id')
      .option('--step <name>', 'the step (default: all steps in order)')
      .option('--json', 'print JSON'),
  ).action(async (buildId: string, flags: Flags) => {
    const { handle } = await openBuild(buildId, flags);
    const state = await handle.query(stateQuery);
    const names = flags.step ? [flags.step] : state.steps.map((s) => s.name);
    if (flags.step && !state.steps.some((s) => s.name === flags.step)) {
      throw new UserError(
        `build ${buildId} has no step ${flags.step}: its steps are ${state.steps.map((s) => s.name).join(', ')}`,
      );
    }
    const store = storeFromEnv();
    const logs: Record<string, string> = {};
    for (const n of [...new Set(names)]) logs[n] = (await store.get(stepLogKey(buildId, n)))?.toString() ?? '';
    if (flags.json) console.log(JSON.stringify({ buildId, store: store.description, logs }, null, 2));
    else
      for (const [n, text] of Object.entries(logs))
        process.stdout.write(`----- ${n}\n${text}${text.endsWith('\n') || !text ? '' : '\n'}`);
  });
  withConnectionFlags(
    program
      .command('list')
      .description('recent builds with their status and snapshot')
      .option('--status <status>', `only builds with this status (${STATUSES.join(', ')})`)
      .option('--limit <n>', 'how many', '20')
      .option('--json', 'print JSON'),
  ).action(async (flags: Flags) => {
    if (flags.status && !STATUSES.includes(flags.status))
      throw new UserError(`--status must be one of ${STATUSES.join(', ')}, not "${flags.status}"`, 2);
    const client = await temporalClient(temporalSettings(flags));
    const query = [
      `WorkflowType IN ('buildImage', 'buildMatrix')`,
      ...(flags.status ? [`BuildStatus = '${flags.status}'`] : []),
    ].join(' AND ');
    const rows: {
      buildId: string;
      name: string;
      status: string;
      failedStep: string;
      snapshotId: number | null;
      started: string;
    }[] = [];
    for await (const w of client.workflow.list({ query })) {
      const sa = w.searchAttributes as Record<string, unknown[] | undefined>;
      rows.push({
        buildId: w.workflowId,
        name: String(sa.BuildName?.[0] ?? ''),
        status: String(sa.BuildStatus?.[0] ?? w.status.name.toLowerCase()),
        failedStep: String(sa.FailedStep?.[0] ?? ''),
        snapshotId: (sa.SnapshotId?.[0] as number | undefined) ?? null,
        started: w.startTime.toISOString(),
      });
      if (rows.length >= Number(flags.limit ?? 20)) break;
    }
    if (flags.json) {
      console.log(JSON.stringify(rows, null, 2));
      return;
    }
    if (rows.length === 0) console.log('no builds');
    for (const r of rows)
      console.log(
        `${r.buildId.padEnd(40)} ${r.status.padEnd(21)} ${r.snapshotId ?? ''}${r.failedStep ? ` (failed: ${r.failedStep})` : ''}`,
      );
  });
}

function printSteps(state: BuildState): void {
  for (const line of stepLines(state)) console.log(line);
}

/** What `client status` prints for each step: its state and time, and under it an error, output or warning. */
export function stepLines(state: Pick<BuildState, 'steps'>): string[] {
  const out: string[] = [];
  for (const s of state.steps) {
    const t = s.seconds !== undefined ? `${s.seconds.toFixed(1)} s` : '';
    out.push(`  ${s.name.padEnd(16)} ${s.state.padEnd(21)} ${t.padStart(8)}  ${s.summary}`);
    if (s.state === 'waiting-for-operator' || s.state === 'failed') {
      if (s.error) out.push(`      error: ${s.error}`);
      if (s.exitCode !== undefined) out.push(`      exit code: ${s.exitCode}`);
      for (const l of s.tail ?? []) out.push(`      | ${l}`);
    }
    if (s.warning) out.push(`      warning: ${s.warning}`);
  }
  return out;
}
