/**
 * P5: concurrent builds on one worker: all succeed, the worker's peak RSS, and the makespan against
 * the floor on this machine — the same builds' remote work done at once by hand over raw ssh (on 2
 * cores the droplets share the CPUs with the worker, so "÷ one build" alone says little). The
 * profile: the CPU time the worker and the Temporal server used meanwhile, which on 2 cores the
 * droplets' own work waits behind. `--p5-runs N` repeats the pair (about 12 min each).
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Stack } from '../../tests/support/stack';
import { REPO } from '../../tests/support/temporal';
import { CLEANUP_SCRIPT } from '../../activities/cleanup';
import { IMAGE_CHECK_SCRIPT } from '../../activities/image/check';
import { PER_INSTANCE_DIR } from '../../activities/image/first-boot';
import { sbomCommand } from '../../activities/image/sbom-documents';
import {
  BUILDS,
  P5_RUNS,
  add,
  freshDroplet,
  median,
  run,
  secs,
  snapshotThroughApi,
  sshArgs,
  sshStdin,
} from '../common';
import { apiPressure } from './api-pressure';
import { pollLagPerDroplet } from './poll-lag';
export async function concurrentBuilds(stack: Stack): Promise<void> {
  const tiny = path.join(REPO, 'tests/build/fixtures/tiny/build.yaml');
  const one: number[] = [];
  const s = { ok: [] as number[], peak: [] as number[], many: [] as number[], floor: [] as number[] };
  const cpu = { worker: [] as number[], server: [] as number[] };
  const lag = { project: [] as number[], floor: [] as number[] };
  const refused = { project: [] as number[], floor: [] as number[] };
  const busiest = { project: [] as number[], floor: [] as number[] };
  // Run by run, the project's 20 builds and then the floor's: each pair meets the machine in the
  // same state, so the ratio of a pair is the figure (makespans alone vary by more than the project adds).
  for (let i = 0; i < P5_RUNS; i++) {
    const r = await projectBuilds(stack, tiny, i);
    one.push(r.one);
    s.ok.push(r.ok);
    s.peak.push(r.peak);
    s.many.push(r.many);
    cpu.worker.push(r.cpu.worker);
    cpu.server.push(r.cpu.server);
    const floorFrom = Date.now();
    s.floor.push(await secs(() => Promise.all(Array.from({ length: BUILDS }, () => rawTinyBuild(stack)))));
    const events = await stack.audit();
    lag.project.push(median(pollLagPerDroplet(events, r.window.from, r.window.to)));
    const floorTo = Date.now();
    lag.floor.push(median(pollLagPerDroplet(events, floorFrom, floorTo)));
    for (const [who, from, to] of [
      ['project', r.window.from, r.window.to],
      ['floor', floorFrom, floorTo],
    ] as const) {
      const p = apiPressure(events, from, to);
      refused[who].push(p.refused);
      busiest[who].push(p.busiestMinute);
    }
  }
  const what = `${BUILDS} concurrent tiny builds, one worker`;
  add({ id: 'P5', what, how: 'project: builds succeeded', unit: 'builds', samples: s.ok, goal: `${BUILDS}` });
  add({ id: 'P5', what, how: 'project: worker peak RSS', unit: 'MB', samples: s.peak, goal: '≤ 250 MB' });
  add({
    id: 'P5',
    what,
    how: 'project: makespan ÷ floor, run by run',
    unit: '×',
    samples: s.many.map((m, i) => m / s.floor[i]!),
    goal: '≤ 1.15×',
  });
  add({ id: 'P5', what, how: 'project: makespan', unit: 's', samples: s.many });
  add({ id: 'P5', what, how: 'raw ssh, the same remote work at once (floor)', unit: 's', samples: s.floor });
  add({ id: 'P5', what, how: "project: one build alone (the worker's warm-up)", unit: 's', samples: one });
  add({ id: 'P5', what, how: 'profile: worker CPU time during the 20 builds', unit: 's', samples: cpu.worker });
  add({ id: 'P5', what, how: 'profile: Temporal server CPU time during them', unit: 's', samples: cpu.server });
  add({
    id: 'P5',
    what,
    how: 'profile: API poll lag per build (droplet active, actions done → seen), project, median of the builds',
    unit: 's',
    samples: lag.project,
  });
  add({
    id: 'P5',
    what,
    how: "profile: the same for the floor (polls every second, all its builds' calls paced to 240 a minute)",
    unit: 's',
    samples: lag.floor,
  });
  for (const who of ['project', 'floor'] as const) {
    add({
      id: 'P5',
      what,
      how: `profile: API requests in the busiest minute, ${who} (DigitalOcean's burst limit: 250)`,
      unit: 'calls',
      samples: busiest[who],
    });
    add({ id: 'P5', what, how: `profile: API requests refused (429), ${who}`, unit: 'calls', samples: refused[who] });
  }
}

/**
 * The builds at once on a worker of their own (its peak RSS is theirs), then the stack's worker
 * again. One build alone first: the measured builds meet a warm worker (code loaded, workflow
 * bundle in its isolate), as in production, not its start-up.
 */
async function projectBuilds(stack: Stack, tiny: string, round: number) {
  await stack.stopWorker();
  const worker = stack.spawnWorker({ FORGE_TEST_SECRET: 'bench' });
  const one = await secs(async () => {
    const r = await stack.client(['start-build', tiny, '--wait', '--json', '--no-verify']);
    if (r.code !== 0) throw new Error(r.stderr);
  });
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      const status = readFileSync(`/proc/${worker.child.pid}/status`, 'utf8');
      const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
      peak = Math.max(peak, hwm);
    } catch {
      // gone
    }
  }, 500);
  const codes: number[] = [];
  const server = temporalServerPid();
  const cpu0 = { worker: cpuSeconds(worker.child.pid), server: cpuSeconds(server) };
  const from = Date.now();
  const many = await secs(async () => {
    const all = await Promise.all(
      Array.from({ length: BUILDS }, (_, i) =>
        stack.client([
          'start-build',
          tiny,
          '--wait',
          '--json',
          '--no-verify',
          '--id',
          `bench-many-${round}-${i}-${Date.now()}`,
        ]),
      ),
    );
    for (const r of all) codes.push(r.code);
  });
  const window = { from, to: Date.now() };
  const cpu = { worker: cpuSeconds(worker.child.pid) - cpu0.worker, server: cpuSeconds(server) - cpu0.server };
  clearInterval(sampler);
  await worker.kill('SIGTERM');
  // The cases after this one build with the stack's own worker again.
  await stack.startWorker({ extraEnv: { FORGE_TEST_SECRET: 'bench' } });
  return { ok: codes.filter((c) => c === 0).length, peak, many, cpu, one, window };
}

/** utime + stime of a process, in seconds (0 when it is gone or unknown). */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    // The fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/** The dev server this bench started (a child of this process). */
function temporalServerPid(): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && stat.includes('(temporal)')) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/**
 * The tiny build by hand, as the floor: a droplet, its files in one tar stream, its scripts, the
 * inventory, cleanup and image check in one `bash -s`, then shut down, snapshot and destroy through the API.
 */
async function rawTinyBuild(stack: Stack): Promise<void> {
  const dir = path.join(REPO, 'tests/build/fixtures/tiny');
  const { d, key } = await freshDroplet(stack);
  try {
    await run('bash', [
      '-c',
      `tar -C ${dir}/files -cf - . | ssh ${sshArgs(key, d.ip).join(' ')} 'tar -xf - -C / --no-same-owner'`,
    ]);
    const script = [
      'set -e',
      'export TINY_SECRET=bench GREETING=hello',
      readFileSync(path.join(dir, 'scripts/01-hello.sh'), 'utf8').replace(/^#!.*\n/, ''),
      'echo "secret is $TINY_SECRET" | sha256sum > /root/secret.sha',
      'echo "the secret is $TINY_SECRET"',
      `install -D -m 0755 /dev/stdin ${PER_INSTANCE_DIR}/001_onboot.sh <<'ONBOOT'`,
      readFileSync(path.join(dir, 'scripts/onboot.sh'), 'utf8'),
      'ONBOOT',
      'set +e',
      // The project's inventory, bill of materials and image check, run here too: the same remote work.
      "dpkg-query -W -f '${Package} ${Version}\\n' > /dev/null",
      `{\n${sbomCommand([{ path: `${PER_INSTANCE_DIR}/001_onboot.sh`, role: 'first-boot' }])}\n} > /dev/null`,
      CLEANUP_SCRIPT,
      "cat > /run/check.sh <<'CHECK'",
      IMAGE_CHECK_SCRIPT,
      'CHECK',
      'bash /run/check.sh > /dev/null',
      'true',
    ].join('\n');
    await sshStdin(key, d.ip, script);
    await snapshotThroughApi(stack, d.id);
  } finally {
    await d.destroy();
  }
}
