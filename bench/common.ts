/** What every part of the benchmark shares: its options, the result rows, timing, and the baselines' ssh and Fabric. */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { deriveHostKey, ed25519FromSeed, hostKeySecretFrom } from '../platform/host-key';
import { cloudConfig } from '../activities/image/cloud-config';
import { DPKG_UNSAFE_IO_COMMAND, aptScript } from '../activities/remote/apt';
import { CLEANUP_SCRIPT } from '../activities/cleanup';
import { loadSpec } from '../spec/load';
import { dropletFromImage } from '../tests/support/droplet';
import type { TestDroplet } from '../tests/support/droplet';
import { LAB_APT_PROXY } from '../lab/droplets/network';
import { LAB_TOKEN } from '../tests/support/stack';
import type { Stack } from '../tests/support/stack';
import { REPO } from '../tests/support/temporal';
import { pacedApi } from './paced-api';

export const run = promisify(execFile);
export const args = process.argv.slice(2);
export const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
export const RUNS = Number(opt('runs', '3'));
/** P1's goal is on the median of 5 runs (the issue's rule): at least that many, whatever --runs says. */
export const P1_RUNS = Math.max(RUNS, Number(opt('p1-runs', '5')));
export const ONLY = new Set(opt('only', 'P1,P2,P3,P4,P5,P6,P7,P8,P9,dpkg').split(','));
export const BUILDS = Number(opt('builds', '20'));
/** P5 takes ~12 min a run (20 builds, then the floor's 20): one unless asked. */
export const P5_RUNS = Number(opt('p5-runs', '1'));

export interface Row {
  id: string;
  what: string;
  how: string;
  unit: string;
  samples: number[];
  goal?: string;
}
export const rows: Row[] = [];
export const add = (r: Row) => {
  rows.push(r);
  console.error(
    `  ${r.id} ${r.how}: ${r.samples.map((s) => s.toFixed(r.unit === 'calls' ? 0 : 3)).join(', ')} ${r.unit}`,
  );
};

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const secs = async (fn: () => Promise<unknown>) => {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};
/** OpenSSH's options for a lab droplet (a new droplet each run: no known_hosts). */
const labSshOptions = (key: string) => [
  '-i',
  key,
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
];
export const scpOptions = (key: string) => ['-q', ...labSshOptions(key)];
export const sshArgs = (key: string, ip: string) => [...labSshOptions(key), '-o', 'LogLevel=ERROR', `root@${ip}`];

export async function fab(key: string, ip: string, task: string[], cwd: string): Promise<void> {
  // Debian's python3-fabric (2.6) ships the module, not a `fab` command.
  await run(
    '/usr/bin/python3',
    ['-m', 'fabric', '-r', path.join(REPO, 'bench'), '-c', 'fabfile', '-H', `root@${ip}`, '-i', key, ...task],
    { cwd, maxBuffer: 64 << 20 },
  );
}

/**
 * A droplet for the baselines, made like the project's build droplets: its host key is derived
 * from its login key and a build id, so the project's own (pinning) upload path can run on it.
 */
export async function freshDroplet(stack: Stack): Promise<{ d: TestDroplet; key: string; buildId: string }> {
  const login = ed25519FromSeed(randomBytes(32));
  const buildId = `bench-${randomBytes(4).toString('hex')}`;
  const hostKey = deriveHostKey(hostKeySecretFrom(Buffer.from(login.privateOpenSsh)), buildId);
  const d = await dropletFromImage(stack.lab.endpoint, LAB_TOKEN, 'debian-12-x64', 's-1vcpu-1gb', {
    key: login,
    userData: cloudConfig(hostKey),
    api: pacedApi(stack.lab.endpoint),
  });
  // The droplet trusts the test's own key; the baselines log in with it.
  const key = path.join(stack.dir, `bench-key-${d.id}`);
  await fs.writeFile(key, d.privateKey, { mode: 0o600 });
  await d.run('cloud-init status --wait >/dev/null');
  return { d, key, buildId };
}

export function sshStdin(key: string, ip: string, script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('ssh', [...sshArgs(key, ip), 'bash -s'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ssh exited ${code}: ${err.slice(-500)}`))));
    p.stdin.end(script);
  });
}

/** What a hand-run build does at its end: shut the droplet down and snapshot it through the API (the snapshot is then deleted). */
export async function snapshotThroughApi(stack: Stack, dropletId: number): Promise<void> {
  const api = pacedApi(stack.lab.endpoint);
  await api.call('shutdown', (c) => c.droplet.shutdownDroplet({ droplet_id: dropletId }));
  while ((await api.call('get', (c) => c.droplet.getDroplet({ droplet_id: dropletId }))).data.droplet.status !== 'off')
    await sleep(1000);
  const snap = await api.call('snapshot', (c) =>
    c.droplet.snapshotDroplet({ droplet_id: dropletId, name: `bench-${dropletId}-${Date.now()}` }),
  );
  for (;;) {
    const act = await api.call('action', (c) => c.action.getAction({ action_id: snap.data.action.id }));
    if (act.data.action.status === 'completed') break;
    if (act.data.action.status === 'errored') throw new Error(`the snapshot of droplet ${dropletId} errored`);
    await sleep(1000);
  }
  const imgs = await api.call('snapshots', (c) => c.droplet.listDropletSnapshots({ droplet_id: dropletId }));
  for (const img of imgs.data.snapshots)
    await api.call('delete', (c) => c.image.deleteImage({ image_id: Number(img.id) })).catch(() => undefined);
}

/**
 * The apt proxy the baselines' droplets get as their first command, the same the project's worker
 * uses (IMAGE_FORGE_APT_PROXY): all of them then fetch from the same lab apt cache.
 */
export function benchAptProxy(stack: Stack): string | undefined {
  return stack.aptCache ? LAB_APT_PROXY : undefined;
}

/**
 * The LAMP spec's apt work as a hand-written recipe does it: the install step's script through the
 * bench's apt proxy, without the project's own dpkg force-unsafe-io (a saving of the project's,
 * measured on its own by the dpkg rows).
 */
export async function lampAptScripts(stack: Stack): Promise<{ project: string; recipe: string }> {
  const { plan } = await loadSpec(path.join(REPO, 'examples/lamp/build.yaml'));
  const project = aptScript(plan.apt, benchAptProxy(stack));
  const recipe = project.replace(`${DPKG_UNSAFE_IO_COMMAND}\n`, '');
  if (recipe === project) throw new Error('the install script no longer writes force-unsafe-io');
  return { project, recipe };
}

/**
 * A folder with the recipe's apt script (lampAptScripts) and the project's cleanup script, as the
 * baselines run them; the lab's apt cache is warmed with the LAMP packages first (untimed, once
 * per bench run), so every row fetches from the same warm cache.
 */
export async function writeLampWork(stack: Stack, prefix: string): Promise<string> {
  const work = await fs.mkdtemp(path.join(stack.dir, prefix));
  const apt = (await lampAptScripts(stack)).recipe;
  await fs.writeFile(path.join(work, 'apt.sh'), apt);
  await fs.writeFile(path.join(work, 'cleanup.sh'), CLEANUP_SCRIPT);
  if (stack.aptCache && !warmed.has(stack.aptCache)) {
    const w = await freshDroplet(stack);
    await sshStdin(w.key, w.d.ip, apt);
    await w.d.destroy();
    warmed.add(stack.aptCache);
    console.error(`  apt cache warmed: ${JSON.stringify(await stack.aptCache.traffic())}`);
  }
  return work;
}
const warmed = new WeakSet<object>();
