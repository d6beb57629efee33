/**
 * P2: the cost of one step: 50 trivial scripts. Beside Fabric and one `bash -s`, two profile rows
 * split the project's figure: one SSH exec per command on one connection (the floor of any tool
 * that runs each step as its own command, as the project must to get each step's exit code, log
 * and retry), and the project's step wrapper alone (runScriptOn, no Temporal around it). The
 * build's own history splits the rest: each script activity from started to completed (in the
 * worker), and the workflow task between one step's end and the next one's start.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { temporal } from '@temporalio/proto';
import type { BuildManifest } from '../../contract/build';
import type { Stack } from '../../tests/support/stack';
import type { ActivityDeps } from '../../activities/runtime/deps';
import { DropletShells } from '../../activities/remote/droplet-shells';
import { runScriptOn } from '../../activities/remote/script';
import { hostKeySecretFrom } from '../../platform/host-key';
import { LocalDirStore } from '../../context/store';
import { connectSsh, exec } from '../../platform/ssh';
import { add, fab, freshDroplet, median, secs, sshStdin, RUNS } from '../common';
export async function perStep(stack: Stack): Promise<void> {
  const dir = await fs.mkdtemp(path.join(stack.dir, 'p2-'));
  const steps = Array.from({ length: 50 }, () => '  - run: "true"\n').join('');
  await fs.writeFile(
    path.join(dir, 'build.yaml'),
    `name: trivial\nvendor: bench\ndroplet: { image: debian-12-x64 }\napt: { upgrade: false }\nscripts:\n${steps}`,
  );
  const project: number[] = [];
  const rawPer: number[] = [];
  const fabPer: number[] = [];
  const execPer: number[] = [];
  const wrapperPer: number[] = [];
  const inWorker: number[] = [];
  const between: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await stack.client(['start-build', path.join(dir, 'build.yaml'), '--wait', '--json', '--base']);
    if (r.code !== 0) throw new Error(`P2 build failed: ${r.stderr}`);
    const out = JSON.parse(r.stdout) as { buildId: string; manifest: BuildManifest };
    const m = out.manifest;
    const split = await historySplit(stack, out.buildId);
    inWorker.push(split.inWorker);
    between.push(split.between);
    const scripts = m.steps.filter((s) => /-script$/.test(s.name));
    const first = scripts[0]!;
    const last = scripts.at(-1)!;
    project.push(
      (Date.parse(last.startedAt!) + last.seconds! * 1000 - Date.parse(first.startedAt!)) / 1000 / scripts.length,
    );
    const a = await freshDroplet(stack);
    rawPer.push((await secs(() => sshStdin(a.key, a.d.ip, 'true\n'.repeat(50)))) / 50);
    fabPer.push((await secs(() => fab(a.key, a.d.ip, ['trivial', '-n', '50'], dir))) / 50);
    const priv = await fs.readFile(a.key);
    const conn = await connectSsh({ host: a.d.ip, username: 'root', privateKey: priv });
    try {
      await exec(conn, 'true');
      execPer.push(
        (await secs(async () => {
          for (let n = 0; n < 50; n++) await exec(conn, 'true');
        })) / 50,
      );
    } finally {
      conn.end();
    }
    const shells = new DropletShells(priv, hostKeySecretFrom(priv));
    const deps = {
      shells,
      workerEnv: {},
      workerSecrets: [],
      store: new LocalDirStore(path.join(stack.dir, 'bench-store')),
    } as unknown as ActivityDeps;
    const ref = { buildId: a.buildId, dropletId: a.d.id, ipv4: a.d.ip };
    const script = { kind: 'script' as const, label: 'true', run: 'true' };
    await runScriptOn(deps, ref, '00-script', 'sha256-none', script, {});
    wrapperPer.push(
      (await secs(async () => {
        for (let n = 1; n <= 50; n++)
          await runScriptOn(deps, ref, `${String(n).padStart(2, '0')}-script`, 'sha256-none', script, {});
      })) / 50,
    );
    shells.closeAll();
    await a.d.destroy();
    await stack.client(['janitor', '--yes', '--include-base']);
  }
  add({
    id: 'P2',
    what: 'per step, 50 trivial scripts',
    how: 'project (Temporal step)',
    unit: 's',
    samples: project,
    goal: '≤ 30 ms over raw ssh',
  });
  add({
    id: 'P2',
    what: 'per step, 50 trivial scripts',
    how: 'Fabric c.run (incl. start-up)',
    unit: 's',
    samples: fabPer,
  });
  add({ id: 'P2', what: 'per step, 50 trivial scripts', how: 'raw ssh, one bash -s', unit: 's', samples: rawPer });
  add({
    id: 'P2',
    what: 'per step, 50 trivial scripts',
    how: 'profile: raw ssh, one exec per command (one connection)',
    unit: 's',
    samples: execPer,
  });
  add({
    id: 'P2',
    what: 'per step, 50 trivial scripts',
    how: "profile: the project's step wrapper alone (no Temporal)",
    unit: 's',
    samples: wrapperPer,
  });
  add({
    id: 'P2',
    what: 'per step, 50 trivial scripts',
    how: 'profile: history, a script activity from started to completed (median)',
    unit: 's',
    samples: inWorker,
  });
  add({
    id: 'P2',
    what: 'per step, 50 trivial scripts',
    how: "profile: history, one step's end → the next one's start: the workflow task (median)",
    unit: 's',
    samples: between,
  });
}

/** From the build's history: median time of a runScript activity in the worker, and between two of them. */
async function historySplit(stack: Stack, buildId: string): Promise<{ inWorker: number; between: number }> {
  const { events } = await stack.temporal.client.workflow.getHandle(buildId).fetchHistory();
  const T = temporal.api.enums.v1.EventType;
  const at = (e: temporal.api.history.v1.IHistoryEvent) =>
    Number(e.eventTime!.seconds) + (e.eventTime!.nanos ?? 0) / 1e9;
  const scheduled = new Map<string, string>(); // scheduled event id → activity type
  const started = new Map<string, number>();
  const inWorker: number[] = [];
  const between: number[] = [];
  let lastEnd: number | undefined;
  for (const e of events ?? []) {
    if (e.eventType === T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
      scheduled.set(String(e.eventId), e.activityTaskScheduledEventAttributes?.activityType?.name ?? '');
    if (e.eventType === T.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      const id = String(e.activityTaskStartedEventAttributes?.scheduledEventId);
      if (scheduled.get(id) !== 'runScript') continue;
      started.set(id, at(e));
      if (lastEnd !== undefined) between.push(at(e) - lastEnd);
    }
    if (e.eventType === T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      const id = String(e.activityTaskCompletedEventAttributes?.scheduledEventId);
      const t0 = started.get(id);
      if (t0 === undefined) continue;
      inWorker.push(at(e) - t0);
      lastEnd = at(e);
    }
  }
  if (inWorker.length === 0 || between.length === 0) throw new Error(`P2: no script steps in ${buildId}'s history`);
  return { inWorker: median(inWorker), between: median(between) };
}
