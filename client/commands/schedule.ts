/**
 * `client schedule create | list | pause | unpause | trigger | delete`: rebuild an image on a
 * Temporal Schedule, so it keeps passing review as security updates land. Each run is an
 * ordinary build with its own id (the schedule's id plus the run's time); a run never overlaps
 * the one before it.
 */
import type { Command } from 'commander';
import { ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import type { Client, Connection } from '@temporalio/client';
import * as os from 'node:os';
import type { BuildInput, BuildManifest } from '../../contract/build';
import { ensureSearchAttributes } from '../../platform/search-attributes';
import { taskQueue, temporalClient, temporalSettings, withConnectionFlags } from '../settings';
import type { ConnectionFlags } from '../settings';
import { UserError } from '../../contract/user-error';
import {
  buildOptions,
  loadSpecForClient,
  packForWorkers,
  startingAttributes,
  staticDetails,
  withBuildFlags,
  buildMemo,
} from '../build-input';
import type { StartFlags } from '../build-input';

interface CreateFlags extends StartFlags {
  every?: string;
  cron?: string;
  rebuildAfter?: string;
  paused?: boolean;
}

interface Flags extends ConnectionFlags {
  json?: boolean;
  note?: string;
}

/** "30d", "12h", "90m", "2w": what Temporal's interval takes, and people write. */
const EVERY = /^\d+(\.\d+)?(s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function registerScheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description('rebuild images on a schedule (Temporal Schedules)');

  withConnectionFlags(
    withBuildFlags(
      schedule
        .command('create')
        .description('rebuild from a spec on a schedule; overlapping runs are skipped')
        .argument('<spec>', 'the build spec (YAML)')
        .option('--every <interval>', 'e.g. 30d, 12h')
        .option('--cron <expression>', 'a cron expression, e.g. "0 3 1 * *" (03:00 UTC on the 1st)')
        .option(
          '--rebuild-after <interval>',
          'build only when the base image or the spec changed, or the last build is this old (e.g. 30d); default: every run builds',
        )
        .option('--id <schedule-id>', 'the schedule id (default rebuild-<name>)')
        .option('--paused', 'create it paused')
        .option('--json', 'print JSON'),
    ),
  ).action(async (specFile: string, flags: CreateFlags & { id?: string }) => {
    if (!!flags.every === !!flags.cron)
      throw new UserError('say when: give exactly one of --every 30d or --cron "0 3 1 * *"', 2);
    if (flags.every && !EVERY.test(flags.every))
      throw new UserError(`--every must be a number and a unit (s, m, h, d, w), e.g. 30d, not "${flags.every}"`, 2);
    if (flags.rebuildAfter && !EVERY.test(flags.rebuildAfter))
      throw new UserError(
        `--rebuild-after must be a number and a unit (s, m, h, d, w), e.g. 30d, not "${flags.rebuildAfter}"`,
        2,
      );
    const rebuildAfterMs = flags.rebuildAfter
      ? Math.round(parseFloat(flags.rebuildAfter) * UNIT_MS[flags.rebuildAfter.slice(-1)]!)
      : undefined;
    const loaded = await loadSpecForClient(specFile);
    const options = buildOptions(loaded.plan, flags);
    const settings = temporalSettings(flags);
    const client = await temporalClient(settings);
    await ensureSearchAttributes(client.connection as Connection, settings.namespace).catch(() => undefined);
    const { ctx, packed } = await packForWorkers(loaded);
    const scheduleId = flags.id ?? `rebuild-${loaded.plan.name}`;
    // buildId and snapshotName are left empty: each run names itself from its own workflow id and time.
    const input: BuildInput = {
      buildId: '',
      plan: loaded.plan,
      contextDigest: ctx.digest,
      snapshotName: loaded.plan.snapshot.name ?? '',
      scheduled: true,
      ...(rebuildAfterMs !== undefined ? { rebuildAfterMs } : {}),
      ...options,
    };
    try {
      await client.schedule.create({
        scheduleId,
        spec: flags.every
          ? { intervals: [{ every: flags.every as `${number}d` }] }
          : { cronExpressions: [flags.cron!] },
        action: {
          type: 'startWorkflow',
          workflowType: 'buildImage',
          workflowId: `build-${loaded.plan.name}-scheduled`,
          taskQueue: taskQueue(flags),
          args: [input],
          staticSummary: `${loaded.plan.name}: scheduled rebuild (${scheduleId})`,
          staticDetails: staticDetails(loaded.plan, input),
          memo: buildMemo(loaded, packed),
          typedSearchAttributes: startingAttributes(loaded.plan.name),
        },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day', pauseOnFailure: false },
        state: {
          paused: !!flags.paused,
          note: `created by ${os.userInfo().username}@${os.hostname()} from ${loaded.file}`,
        },
      });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (/already (exists|running|registered)/i.test(msg))
        throw new UserError(`a schedule with id ${scheduleId} already exists: delete it first, or pick another --id`);
      throw err;
    }
    const when = flags.every ? `every ${flags.every}` : `on cron "${flags.cron}"`;
    if (flags.json)
      console.log(
        JSON.stringify(
          {
            scheduleId,
            when,
            rebuildAfterMs: rebuildAfterMs ?? null,
            publish: !!options.publish,
            contextDigest: ctx.digest,
          },
          null,
          2,
        ),
      );
    else {
      const only = flags.rebuildAfter
        ? ` when its base image or spec changed, or at least every ${flags.rebuildAfter}`
        : '';
      console.log(
        `created schedule ${scheduleId}: rebuild ${loaded.plan.name} ${when}${only}${options.publish ? ', publishing after approval' : ''}${flags.paused ? ' (paused)' : ''}`,
      );
    }
  });

  withConnectionFlags(
    schedule.command('list').description('schedules that rebuild images').option('--json', 'print JSON'),
  ).action(async (flags: Flags) => {
    const client = await temporalClient(temporalSettings(flags));
    const rows: {
      scheduleId: string;
      paused: boolean;
      next: string | null;
      recent: ({ buildId: string; at: string } & RunOutcome)[];
      note: string;
    }[] = [];
    for await (const s of client.schedule.list()) {
      if (s.action?.type !== 'startWorkflow' || s.action.workflowType !== 'buildImage') continue;
      rows.push({
        scheduleId: s.scheduleId,
        paused: s.state.paused,
        next: s.info.nextActionTimes[0]?.toISOString() ?? null,
        recent: await Promise.all(
          s.info.recentActions.map(async (a) => {
            const buildId = 'workflow' in a.action ? a.action.workflow.workflowId : '';
            return { buildId, at: a.takenAt.toISOString(), ...(await runOutcome(client, buildId)) };
          }),
        ),
        note: s.state.note ?? '',
      });
    }
    if (flags.json) {
      console.log(JSON.stringify(rows, null, 2));
      return;
    }
    if (rows.length === 0) console.log('no schedules');
    for (const r of rows) {
      console.log(
        `${r.scheduleId.padEnd(32)} ${r.paused ? 'paused ' : 'active '} next ${r.next ?? '-'}${r.recent.length ? `  last ${r.recent.at(-1)!.buildId}` : ''}`,
      );
      for (const run of r.recent) console.log(`  ${run.at}  ${run.buildId}: ${run.outcome}`);
    }
  });

  const act = (name: string, description: string, run: (client: Client, id: string, flags: Flags) => Promise<string>) =>
    withConnectionFlags(
      schedule
        .command(name)
        .description(description)
        .argument('<schedule>', 'schedule id')
        .option('--note <text>', 'why (kept with the schedule)')
        .option('--json', 'print JSON'),
    ).action(async (id: string, flags: Flags) => {
      const client = await temporalClient(temporalSettings(flags));
      let message: string;
      try {
        message = await run(client, id, flags);
      } catch (err) {
        if (err instanceof ScheduleNotFoundError || /not found/i.test(err instanceof Error ? err.message : '')) {
          throw new UserError(`no schedule ${id}: \`client schedule list\` shows them`);
        }
        throw err;
      }
      if (flags.json) console.log(JSON.stringify({ scheduleId: id, message }, null, 2));
      else console.log(`${id}: ${message}`);
    });
  act('pause', 'stop starting rebuilds until unpaused', async (c, id, f) => {
    await c.schedule.getHandle(id).pause(f.note ?? `paused by ${os.userInfo().username}`);
    return 'paused';
  });
  act('unpause', 'start rebuilds again', async (c, id, f) => {
    await c.schedule.getHandle(id).unpause(f.note ?? `unpaused by ${os.userInfo().username}`);
    return 'active';
  });
  act('trigger', 'rebuild now (skipped while a rebuild of this schedule runs)', async (c, id) => {
    await c.schedule.getHandle(id).trigger(ScheduleOverlapPolicy.SKIP);
    return 'triggered a rebuild';
  });
  act('delete', 'delete the schedule (builds it started go on)', async (c, id) => {
    await c.schedule.getHandle(id).delete();
    return 'deleted';
  });
}

interface RunOutcome {
  /** One line: why the run built or skipped, then how it ended and why it published or not. */
  outcome: string;
  /** The run's rebuild decision (runs started before rebuild triggers have none). */
  built?: boolean;
  reason?: string;
}

/** Why a scheduled run built or skipped, and published or not, from its manifest: what `client schedule list` shows per run. */
async function runOutcome(client: Client, buildId: string): Promise<RunOutcome> {
  if (!buildId) return { outcome: '' };
  try {
    const handle = client.workflow.getHandle(buildId);
    const desc = await handle.describe();
    if (desc.status.name === 'RUNNING') return { outcome: 'running' };
    if (desc.status.name !== 'COMPLETED') return { outcome: desc.status.name.toLowerCase() };
    const m = (await handle.result()) as BuildManifest;
    const decision = m.rebuild ? { built: m.rebuild.build, reason: m.rebuild.reason } : {};
    const base = m.baseImageId !== undefined ? ` (base image ${m.baseImageId})` : '';
    if (m.rebuild && !m.rebuild.build) return { outcome: `skipped — ${m.rebuild.reason}${base}`, ...decision };
    const built = m.rebuild ? `built — ${m.rebuild.reason}; ` : '';
    if (!m.publish) return { outcome: `${built}${m.status}, not published${base}`, ...decision };
    const why = m.publish.reason ? ` — ${m.publish.reason}` : '';
    return { outcome: `${built}${m.status}, publish ${m.publish.state}${why}${base}`, ...decision };
  } catch (err) {
    return { outcome: `unknown (${err instanceof Error ? err.message : String(err)})` };
  }
}
