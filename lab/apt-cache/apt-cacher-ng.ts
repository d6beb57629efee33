/**
 * The lab's apt cache: Debian's apt-cacher-ng as this process's child, in the foreground on a
 * loopback port, with its own config, cache and log directories (never the package's system
 * service or /var/cache). Droplets reach it only through their forwarder (network.ts); it fetches
 * from the mirrors the host's apt uses, by the URLs the droplets ask for.
 *
 * The cache directory persists across runs (~/.cache/image-forge/apt-cache), so repeated builds
 * are warm. One instance at a time uses it (a flock held by this process and the child): a second
 * lab on the machine gets a private, cold cache under the lab's state dir instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { sleep } from '../droplets/exec';
import { cacheDir, stateDir } from '../droplets/paths';
import { readTransferLog, type AptCacheTraffic } from './transfer-log';

export const APT_CACHER_NG = '/usr/sbin/apt-cacher-ng';

export interface AptCache {
  /** Its port on 127.0.0.1. */
  readonly port: number;
  /** Its cache directory (packages and indexes, by host name and path). */
  readonly dir: string;
  readonly pid: number;
  /** False when another instance held the shared directory and this one got a private one. */
  readonly shared: boolean;
  /** What it served since it started, from its transfer log. */
  traffic(): Promise<AptCacheTraffic>;
  stop(): Promise<void>;
}

/** The machine's shared apt cache directory. */
export function aptCacheDir(): string {
  return join(cacheDir(), 'apt-cache');
}

function config(root: string, port: number): string {
  return [
    `CacheDir: ${join(root, 'cache')}`,
    `LogDir: ${join(root, 'log')}`,
    'SupportDir: /usr/lib/apt-cacher-ng',
    // The default socket is /run/apt-cacher-ng/socket, the system service's: keep ours apart.
    `SocketPath: ${join(root, 'socket')}`,
    `Port: ${port}`,
    'BindAddress: 127.0.0.1',
    'ForeGround: 1',
    // Lines in apt-cacher.log as each transfer ends, so a test can read them right away.
    'UnbufferLogs: 1',
    // Keep packages no index names any more for this many days before expiry removes them.
    'ExThreshold: 4',
    '',
  ].join('\n');
}

/** Takes the directory's lock without waiting; false when another process holds it. */
async function tryLock(handle: FileHandle): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn('flock', ['-n', '-E', '75', '-x', '3'], { stdio: ['ignore', 'ignore', 'inherit', handle.fd] });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(true) : code === 75 ? resolve(false) : reject(new Error(`flock failed (${code})`)),
    );
  });
}

/** A port apt-cacher-ng can bind: it refuses ports ≥ 32768 ("Error resolving address for binding"). */
async function freePort(): Promise<number> {
  for (;;) {
    const port = randomInt(20_000, 32_000);
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Starts apt-cacher-ng on a free port; retries another port if it loses the race for one. */
async function launch(root: string, lock: FileHandle): Promise<{ child: ChildProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    await writeFile(join(root, 'conf', 'acng.conf'), config(root, port));
    const out = openSync(join(root, 'run.log'), 'a');
    let child: ChildProcess;
    try {
      // fd 3 is the lock: the child holds it too, so an orphaned cache still keeps others out.
      child = spawn(APT_CACHER_NG, ['-c', join(root, 'conf')], { stdio: ['ignore', out, out, lock.fd] });
    } finally {
      closeSync(out);
    }
    let exited = false;
    child.once('exit', () => (exited = true));
    const spawned = await new Promise<boolean>((resolve) => {
      child.once('spawn', () => resolve(true));
      child.once('error', () => resolve(false));
    });
    if (!spawned)
      throw new Error(`cannot start ${APT_CACHER_NG}: install Debian's apt-cacher-ng (scripts/ensure-lab-debs.sh)`);
    const deadline = Date.now() + 15_000;
    while (!exited && Date.now() < deadline && !(await accepts(port))) await sleep(50);
    if (!exited && Date.now() < deadline) return { child, port };
    child.kill('SIGKILL');
    const why = (await readFile(join(root, 'run.log'), 'utf8').catch(() => '')).trim().split('\n').pop();
    if (attempt >= 5) throw new Error(`apt-cacher-ng did not start on 127.0.0.1:${port}: ${why ?? 'no output'}`);
  }
}

/**
 * A cache left running by a lab that was killed (its parent is gone, so init adopted it) still
 * holds the lock: stop it. A cache whose lab is alive is left alone.
 */
export async function stopOrphanedCache(root: string): Promise<boolean> {
  const pid = Number(await readFile(join(root, 'pid'), 'utf8').catch(() => ''));
  if (!pid) return false;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  if (!cmdline.startsWith(APT_CACHER_NG) || !cmdline.includes(join(root, 'conf')) || ppid !== 1) return false;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')) !== ''; i++)
    await sleep(100);
  return true;
}

export async function startAptCache(opts: { dir?: string } = {}): Promise<AptCache> {
  let root = opts.dir ?? aptCacheDir();
  await mkdir(root, { recursive: true });
  let lock = await open(join(root, 'lock'), 'a');
  let shared = true;
  if (!(await tryLock(lock)) && !((await stopOrphanedCache(root)) && (await tryLock(lock)))) {
    await lock.close();
    shared = false;
    await mkdir(stateDir(), { recursive: true });
    root = await mkdtemp(join(stateDir(), 'apt-cache-'));
    lock = await open(join(root, 'lock'), 'a');
    process.stderr.write(
      `[apt-cache] ${opts.dir ?? aptCacheDir()} is in use by another lab: a cold cache in ${root}\n`,
    );
  }
  try {
    await mkdir(join(root, 'conf'), { recursive: true });
    await mkdir(join(root, 'log'), { recursive: true });
    // The transfer log is this instance's: a test reads what this run served.
    await writeFile(join(root, 'log', 'apt-cacher.log'), '');
    const { child, port } = await launch(root, lock);
    await writeFile(join(root, 'pid'), String(child.pid));
    const gone = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    let stopping: Promise<void> | undefined;
    return {
      port,
      dir: join(root, 'cache'),
      pid: child.pid!,
      shared,
      traffic: () => readTransferLog(join(root, 'log', 'apt-cacher.log')),
      stop: () =>
        (stopping ??= (async () => {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await gone;
          clearTimeout(timer);
          await rm(join(root, 'pid'), { force: true });
          await lock.close();
          if (!shared) await rm(root, { recursive: true, force: true });
        })()),
    };
  } catch (err) {
    await lock.close();
    if (!shared) await rm(root, { recursive: true, force: true });
    throw err;
  }
}
