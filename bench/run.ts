/**
 * The benchmark: the project against Fabric, scp and raw ssh on lab droplets, each measured in
 * the same run, median of N runs with min and max. Prints a table and writes bench/results.md.
 *
 *   node dist/bench/run.js [--runs 3] [--only P1,P2,...] [--builds 20]
 *
 * P1 whole build (droplet ready → cleanup done), P2 per-step overhead, P3 one 256 MiB file,
 * P4 a 2,000-file tree, P5 concurrent builds on one worker (peak RSS, makespan), P6 API calls.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { aptScript } from '../activities/remote/apt';
import { CLEANUP_SCRIPT } from '../activities/cleanup';
import { DropletShells } from '../activities/remote/droplet-shells';
import { upload } from '../activities/upload';
import type { ActivityDeps } from '../activities/runtime/deps';
import { hostKeySecretFrom } from '../platform/host-key';
import { LocalDirStore } from '../context/store';
import { packContext, publishContext } from '../context/pack';
import { fetchContext } from '../context/unpack';
import { loadSpec } from '../spec/load';
import type { BuildManifest } from '../contract/build';
import type { TestDroplet } from '../tests/support/droplet';
import { startStack } from '../tests/support/stack';
import type { Stack } from '../tests/support/stack';
import { REPO } from '../tests/support/temporal';
import { BUILDS, ONLY, RUNS, add, fab, freshDroplet, median, rows, run, secs, sshArgs, sshStdin } from './common';

async function p1(stack: Stack): Promise<void> {
  const spec = path.join(REPO, 'examples/lamp');
  const work = await fs.mkdtemp(path.join(stack.dir, 'p1-'));
  const { plan } = await loadSpec(path.join(spec, 'build.yaml'));
  await fs.writeFile(path.join(work, 'apt.sh'), aptScript(plan.apt));
  await fs.writeFile(path.join(work, 'cleanup.sh'), CLEANUP_SCRIPT);
  const project: number[] = [];
  const calls: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const before = (await stack.audit()).filter((e) => e.type === 'request').length;
    // Without verify: the baselines build the image only, so the comparison (and P6's call count) stays like for like.
    const r = await stack.client(['start-build', path.join(spec, 'build.yaml'), '--wait', '--json', '--no-verify']);
    if (r.code !== 0) throw new Error(`P1 build failed: ${r.stderr}`);
    const m = (JSON.parse(r.stdout) as { manifest: BuildManifest }).manifest;
    const first = m.steps.find((s) => s.name === 'install')!;
    const last = m.steps.find((s) => s.name === 'cleanup')!;
    project.push((Date.parse(last.startedAt!) + last.seconds! * 1000 - Date.parse(first.startedAt!)) / 1000);
    calls.push((await stack.audit()).filter((e) => e.type === 'request').length - before);
  }
  add({
    id: 'P1',
    what: 'whole build, droplet ready → cleanup done',
    how: 'project',
    unit: 's',
    samples: project,
    goal: '≤ 1.0× Fabric',
  });
  const fabric: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const a = await freshDroplet(stack);
    fabric.push(await secs(() => fab(a.key, a.d.ip, ['lamp', '--spec', spec, '--work', work], spec)));
    await a.d.destroy();
    const b = await freshDroplet(stack);
    raw.push(
      await secs(async () => {
        // The floor: one tar stream for the files, one `bash -s` for everything else.
        await run('bash', [
          '-c',
          `tar -C ${spec}/files -cf - . | ssh ${sshArgs(b.key, b.d.ip).join(' ')} 'tar -xf - -C / --no-same-owner'`,
        ]);
        const script = [
          'set -e',
          'cloud-init status --wait >/dev/null',
          readFileSync(path.join(work, 'apt.sh'), 'utf8'),
          readFileSync(path.join(spec, 'scripts/01-setup.sh'), 'utf8').replace(/^#!.*\n/, ''),
          "ufw allow 'Nginx Full' && ufw limit ssh && ufw --force enable",
          'set +e',
          CLEANUP_SCRIPT,
        ].join('\n');
        await sshStdin(b.key, b.d.ip, script);
      }),
    );
    await b.d.destroy();
  }
  add({
    id: 'P1',
    what: 'whole build, droplet ready → cleanup done',
    how: 'Fabric (python3-fabric)',
    unit: 's',
    samples: fabric,
  });
  add({
    id: 'P1',
    what: 'whole build, droplet ready → cleanup done',
    how: 'raw ssh bash -s (floor)',
    unit: 's',
    samples: raw,
  });
  if (ONLY.has('P6'))
    add({
      id: 'P6',
      what: 'DigitalOcean API calls per build',
      how: 'project',
      unit: 'calls',
      samples: calls,
      goal: '≤ 40',
    });
}

async function p2(stack: Stack): Promise<void> {
  const dir = await fs.mkdtemp(path.join(stack.dir, 'p2-'));
  const steps = Array.from({ length: 50 }, () => '  - run: "true"\n').join('');
  await fs.writeFile(
    path.join(dir, 'build.yaml'),
    `name: trivial\nvendor: bench\ndroplet: { image: debian-12-x64 }\napt: { upgrade: false }\nscripts:\n${steps}`,
  );
  const project: number[] = [];
  const rawPer: number[] = [];
  const fabPer: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await stack.client(['start-build', path.join(dir, 'build.yaml'), '--wait', '--json', '--base']);
    if (r.code !== 0) throw new Error(`P2 build failed: ${r.stderr}`);
    const m = (JSON.parse(r.stdout) as { manifest: BuildManifest }).manifest;
    const scripts = m.steps.filter((s) => /-script$/.test(s.name));
    const first = scripts[0]!;
    const last = scripts.at(-1)!;
    project.push(
      (Date.parse(last.startedAt!) + last.seconds! * 1000 - Date.parse(first.startedAt!)) / 1000 / scripts.length,
    );
    const a = await freshDroplet(stack);
    rawPer.push((await secs(() => sshStdin(a.key, a.d.ip, 'true\n'.repeat(50)))) / 50);
    fabPer.push((await secs(() => fab(a.key, a.d.ip, ['trivial', '-n', '50'], dir))) / 50);
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
}

/** The project's upload step, run directly against a droplet (without Temporal around it). */
async function projectUpload(
  stack: Stack,
  d: TestDroplet,
  key: string,
  buildId: string,
  dir: string,
  src: string,
  dest: string,
): Promise<number> {
  const store = new LocalDirStore(path.join(stack.dir, 'bench-store'));
  const ctx = await packContext(dir, [src]);
  await publishContext(store, ctx);
  const priv = await fs.readFile(key);
  const deps = {
    store,
    contextCacheDir: path.join(stack.dir, 'bench-ctx'),
    shells: new DropletShells(priv, hostKeySecretFrom(priv)),
  } as unknown as ActivityDeps;
  const ref = { buildId, dropletId: d.id, ipv4: d.ip };
  await fetchOnce(deps, ctx.digest);
  const t = await secs(() =>
    upload(deps)({ droplet: ref, step: 'bench', contextDigest: ctx.digest, upload: { kind: 'upload', src, dest } }),
  );
  deps.shells.closeAll();
  return t;
}

async function fetchOnce(deps: ActivityDeps, digest: string): Promise<void> {
  // The worker's context cache is warm in a real build by the time a step uploads.
  await fetchContext(deps.store, digest, deps.contextCacheDir);
}

async function p3(stack: Stack): Promise<void> {
  const dir = await fs.mkdtemp(path.join(stack.dir, 'p3-'));
  await run('dd', ['if=/dev/urandom', `of=${path.join(dir, 'big.bin')}`, 'bs=1M', 'count=256', 'status=none']);
  const mb = 256 * 1.048576;
  const ours: number[] = [];
  const scp: number[] = [];
  const fabric: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const { d, key, buildId } = await freshDroplet(stack);
    ours.push(mb / (await projectUpload(stack, d, key, buildId, dir, 'big.bin', '/root/big-ours.bin')));
    await d.run('rm -f /root/big-ours.bin');
    scp.push(
      mb /
        (await secs(() =>
          run('scp', [
            '-q',
            '-i',
            key,
            '-o',
            'StrictHostKeyChecking=no',
            '-o',
            'UserKnownHostsFile=/dev/null',
            path.join(dir, 'big.bin'),
            `root@${d.ip}:/root/big-scp.bin`,
          ]),
        )),
    );
    await d.run('rm -f /root/big-scp.bin');
    fabric.push(
      mb /
        (await secs(() =>
          fab(key, d.ip, ['put-file', '--local', path.join(dir, 'big.bin'), '--remote', '/root/big-fab.bin'], dir),
        )),
    );
    await d.destroy();
  }
  add({
    id: 'P3',
    what: 'one 256 MiB file',
    how: 'project (tar stream + sha256 check)',
    unit: 'MB/s',
    samples: ours,
    goal: '≥ 0.8× scp',
  });
  add({ id: 'P3', what: 'one 256 MiB file', how: 'scp', unit: 'MB/s', samples: scp });
  add({ id: 'P3', what: 'one 256 MiB file', how: 'Fabric put', unit: 'MB/s', samples: fabric });
}

async function p4(stack: Stack): Promise<void> {
  const dir = await fs.mkdtemp(path.join(stack.dir, 'p4-'));
  for (let i = 0; i < 2000; i++) {
    const sub = path.join(dir, 'tree', `d${i % 40}`);
    await fs.mkdir(sub, { recursive: true });
    await fs.writeFile(path.join(sub, `f${i}.txt`), randomBytes(512).toString('hex'));
  }
  const ours: number[] = [];
  const scp: number[] = [];
  const fabric: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const { d, key, buildId } = await freshDroplet(stack);
    ours.push(await projectUpload(stack, d, key, buildId, dir, 'tree/', '/root/tree-ours/'));
    scp.push(
      await secs(() =>
        run('scp', [
          '-q',
          '-r',
          '-i',
          key,
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          'UserKnownHostsFile=/dev/null',
          path.join(dir, 'tree'),
          `root@${d.ip}:/root/tree-scp`,
        ]),
      ),
    );
    fabric.push(
      await secs(() =>
        fab(key, d.ip, ['put-many', '--local-dir', path.join(dir, 'tree'), '--remote-dir', '/root/tree-fab'], dir),
      ),
    );
    await d.destroy();
  }
  add({
    id: 'P4',
    what: '2,000-file tree',
    how: 'project (one tar stream + sha256 check)',
    unit: 's',
    samples: ours,
    goal: '≥ 5× faster than Fabric',
  });
  add({ id: 'P4', what: '2,000-file tree', how: 'scp -r', unit: 's', samples: scp });
  add({ id: 'P4', what: '2,000-file tree', how: 'Fabric put loop', unit: 's', samples: fabric });
}

async function p5(stack: Stack): Promise<void> {
  await stack.stopWorker();
  const worker = stack.spawnWorker({ FORGE_TEST_SECRET: 'bench' });
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
  const tiny = path.join(REPO, 'tests/build/fixtures/tiny/build.yaml');
  const one = await secs(async () => {
    const r = await stack.client(['start-build', tiny, '--wait', '--json', '--no-verify']);
    if (r.code !== 0) throw new Error(r.stderr);
  });
  const results: number[] = [];
  const many = await secs(async () => {
    const all = await Promise.all(
      Array.from({ length: BUILDS }, (_, i) =>
        stack.client(['start-build', tiny, '--wait', '--json', '--no-verify', '--id', `bench-many-${i}-${Date.now()}`]),
      ),
    );
    for (const r of all) results.push(r.code);
  });
  clearInterval(sampler);
  await worker.kill('SIGTERM');
  const ok = results.filter((c) => c === 0).length;
  add({
    id: 'P5',
    what: `${BUILDS} concurrent builds, one worker: succeeded`,
    how: 'project',
    unit: 'builds',
    samples: [ok],
    goal: `${BUILDS}`,
  });
  add({
    id: 'P5',
    what: `${BUILDS} concurrent builds: worker peak RSS`,
    how: 'project',
    unit: 'MB',
    samples: [peak],
    goal: '≤ 300 MB',
  });
  add({
    id: 'P5',
    what: `${BUILDS} concurrent builds: makespan ÷ one build`,
    how: 'project',
    unit: '×',
    samples: [many / one],
    goal: '≤ 2×',
  });
}

const failures: string[] = [];

async function main(): Promise<void> {
  const stack = await startStack({ lab: { timing: { transferDelayMs: 200, maxDiskGiB: 2 } } });
  await stack.stopWorker();
  await stack.startWorker({ extraEnv: { FORGE_TEST_SECRET: 'bench' } });
  try {
    // A part that fails is reported in the table, and the others still run.
    const part = async (id: string, fn: (s: Stack) => Promise<void>) => {
      try {
        await fn(stack);
      } catch (err) {
        failures.push(`${id}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      }
    };
    if (ONLY.has('P1') || ONLY.has('P6')) await part('P1', p1);
    if (ONLY.has('P2')) await part('P2', p2);
    if (ONLY.has('P3')) await part('P3', p3);
    if (ONLY.has('P4')) await part('P4', p4);
    if (ONLY.has('P5')) await part('P5', p5);
  } finally {
    await stack.stop();
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 16)}Z on ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, lab droplets (nspawn), median of ${RUNS} (min–max).`,
    '',
    '| | what | how | median | min–max | goal |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const f = (x: number) =>
        r.unit === 's' && x < 1
          ? `${(x * 1000).toFixed(1)} ms`
          : `${x.toFixed(r.unit === 'calls' || r.unit === 'builds' ? 0 : 2)} ${r.unit === 's' ? 's' : r.unit}`;
      return `| ${r.id} | ${r.what} | ${r.how} | ${f(median(r.samples))} | ${f(Math.min(...r.samples))}–${f(Math.max(...r.samples))} | ${r.goal ?? ''} |`;
    }),
  ];
  if (failures.length > 0) lines.push('', ...failures.map((f) => `Failed: ${f}`));
  const table = lines.join('\n');
  console.log(table);
  await fs.writeFile(path.join(REPO, 'bench/results.md'), `${table}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
