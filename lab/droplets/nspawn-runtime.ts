/**
 * The lab's DropletRuntime: each droplet is a Debian tree booted by systemd-nspawn (systemd as
 * PID 1) in its own network namespace, cgroup and bounded disk — the setup lab-notes measured.
 */
import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureBaseImage, readyDistributions } from './base-image';
import { clearCgroupChildren, containerInitPid, killCgroup, prepareCgroup } from './cgroup';
import {
  cleanupMachine,
  findLeftovers,
  isEmpty,
  nspawnLockName,
  removeNspawnLeftovers,
  type DropletMeta,
  type Leftovers,
} from './cleanup';
import { createDisk, diskPaths, mountRoot } from './disk';
import { sleep, tryRun } from './exec';
import { closeForwarders, dropletHostsFile, setupNetwork, type DropletNetwork } from './network';
import { assertMachineName, assertMountablePath, dropletCgroup, dropletDir, dropletsDir, netnsPath } from './paths';
import type { DropletBootSpec, DropletExit, DropletRuntime, RunningDroplet } from './runtime';
import { ensureSnapshotTree, pruneSnapshotTrees, writeSnapshot } from './snapshot';

export interface NspawnRuntimeOptions {
  /** Where the droplets' port-80 forwarder leads (default deb.debian.org). */
  mirrorHost?: string;
  /**
   * The port of the lab's apt cache on the host's loopback (lab/apt-cache), read as each droplet
   * is made (a cache may be restarted): droplets reach it through a forwarder.
   */
  aptCachePort?: () => number | undefined;
  /** `booted` rejects when sshd has not answered by then (default 180 s). */
  bootTimeoutMs?: number;
}

/** systemd's "poweroff" request: SIGRTMIN+4 (glibc's SIGRTMIN is 34). */
const SIGRTMIN_PLUS_4 = 38;
/** systemd-nspawn's exit code when the container asked for a reboot. */
const NSPAWN_REBOOT_EXIT = 133;
const HOSTNAME_RE =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Droplets of this process, so a sweep can also close their forwarders. */
const live = new Map<string, NspawnDroplet>();

function log(msg: string): void {
  process.stderr.write(`[lab-droplets] ${msg}\n`);
}

/**
 * True when something listens on port 22 inside the droplet's network namespace. Read from the
 * namespace's socket table, not by connecting: a probe connection counts against rate limits like
 * `ufw limit ssh` (6 new connections per 30 s), which would lock the real client out.
 */
async function sshListening(machineName: string): Promise<boolean> {
  const r = await tryRun('nsenter', [`--net=${netnsPath(machineName)}`, 'cat', '/proc/net/tcp', '/proc/net/tcp6']);
  // local_address ends in :0016 (port 22), st 0A (LISTEN)
  return r.ok && /^\s*\d+: [0-9A-F]+:0016 [0-9A-F]+:0000 0A /m.test(r.stdout);
}

function signal_(pid: number, signal: NodeJS.Signals | number): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

class NspawnDroplet implements RunningDroplet {
  readonly ipv4: string;
  readonly privateIpv4: string;
  private child: ChildProcess | undefined;
  private bootedP: Promise<void> = Promise.resolve();
  private exitedP: Promise<DropletExit> = Promise.resolve({ reason: 'poweroff', code: 0 });
  private running = false;
  private killRequested = false;
  private destroying: Promise<void> | undefined;
  private readonly dir: string;
  private readonly cgroup: string;

  constructor(
    readonly machineName: string,
    private readonly net: DropletNetwork,
    private readonly meta: DropletMeta,
    private readonly hostname: string,
    private readonly bootTimeoutMs: number,
  ) {
    this.ipv4 = net.dropletAddress;
    this.privateIpv4 = net.privateAddress;
    this.dir = dropletDir(machineName);
    this.cgroup = dropletCgroup(machineName);
  }

  /** The current boot's promise (a new one after powerOn). */
  get booted(): Promise<void> {
    return this.bootedP;
  }

  /** The current boot's exit (a new one after powerOn). */
  get exited(): Promise<DropletExit> {
    return this.exitedP;
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`droplet ${this.machineName} is already running`);
    if (this.destroying) throw new Error(`droplet ${this.machineName} is destroyed`);
    const { root } = diskPaths(this.dir);
    await prepareCgroup(this.machineName);
    this.meta.lockName = await nspawnLockName(root);
    await writeFile(join(this.dir, 'meta.json'), `${JSON.stringify(this.meta, null, 2)}\n`);
    const args = [
      '--quiet',
      '--boot',
      '--register=no',
      '--keep-unit',
      `--machine=${this.machineName}`,
      `--hostname=${this.hostname}`,
      `--uuid=${this.meta.uuid}`,
      '-D',
      root,
      `--network-namespace-path=${this.net.netnsPath}`,
      '--link-journal=no',
      '--resolv-conf=off',
      '--timezone=off',
      `--bind-ro=${join(this.dir, 'hosts')}:/etc/hosts`,
      // The seed stays outside the droplet's disk, like DigitalOcean's metadata service: snapshots
      // do not carry one droplet's user-data into the next.
      `--bind-ro=${join(this.dir, 'seed')}:/var/lib/cloud/seed/nocloud`,
      '--capability=CAP_NET_ADMIN',
      '--console=read-only',
    ];
    // Console output goes to a file, not a pipe: nspawn must not die with this process.
    const logFd = openSync(join(this.dir, 'console.log'), 'a');
    let child: ChildProcess;
    try {
      // The shell joins the droplet's cgroup, then becomes nspawn (lab-notes).
      child = spawn(
        'sh',
        [
          '-c',
          'echo $$ > "$1" && shift && exec "$@"',
          'sh',
          join(this.cgroup, 'cgroup.procs'),
          'systemd-nspawn',
          ...args,
        ],
        {
          env: { ...process.env, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '1' },
          stdio: ['ignore', logFd, logFd],
          detached: true,
        },
      );
    } finally {
      closeSync(logFd);
    }
    this.child = child;
    this.running = true;
    this.killRequested = false;
    let exitedFlag = false;
    this.exitedP = new Promise<DropletExit>((resolve) => {
      let seen = false;
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (seen) return;
        seen = true;
        void this.afterExit(code, signal).then((exit) => {
          exitedFlag = true;
          resolve(exit);
        });
      };
      child.once('exit', onExit);
      child.once('error', (err) => {
        log(`${this.machineName}: cannot start systemd-nspawn: ${err.message}`);
        onExit(null, null);
      });
    });
    const deadline = Date.now() + this.bootTimeoutMs;
    this.bootedP = (async () => {
      for (;;) {
        if (exitedFlag || !this.running)
          throw new Error(
            `droplet ${this.machineName} stopped before sshd answered; see ${join(this.dir, 'console.log')}`,
          );
        if (await sshListening(this.machineName)) return;
        if (Date.now() > deadline)
          throw new Error(`droplet ${this.machineName}: sshd did not answer within ${this.bootTimeoutMs} ms`);
        await sleep(100);
      }
    })();
    this.bootedP.catch(() => undefined); // callers that never await booted must not crash the process
  }

  /** Runs when nspawn exits: stops an orphaned container, clears nspawn's leftovers. */
  private async afterExit(code: number | null, signal: NodeJS.Signals | null): Promise<DropletExit> {
    try {
      const orphan = await containerInitPid(this.cgroup);
      if (orphan) {
        // nspawn was killed from outside and left its container running (lab-notes): power it off.
        signal_(orphan, SIGRTMIN_PLUS_4);
        for (let i = 0; i < 100 && (await containerInitPid(this.cgroup)); i++) await sleep(100);
      }
      await killCgroup(this.cgroup);
      await clearCgroupChildren(this.cgroup);
      await removeNspawnLeftovers(this.machineName, this.meta.lockName);
    } catch (err) {
      log(`${this.machineName}: cleanup after exit: ${(err as Error).message}`);
    }
    this.running = false;
    this.child = undefined;
    const reason: DropletExit['reason'] = this.killRequested
      ? 'killed'
      : code === 0
        ? 'poweroff'
        : code === NSPAWN_REBOOT_EXIT
          ? 'reboot'
          : 'crashed';
    if (reason === 'crashed')
      log(`${this.machineName}: systemd-nspawn exited with ${code ?? signal}; see ${join(this.dir, 'console.log')}`);
    return { reason, code };
  }

  async shutdown(timeoutMs = 60_000): Promise<void> {
    if (!this.running) return;
    const init = await containerInitPid(this.cgroup, this.child?.pid);
    if (init) signal_(init, SIGRTMIN_PLUS_4);
    else this.child?.kill('SIGTERM'); // nspawn turns SIGTERM into an orderly shutdown of the container
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.exitedP,
        new Promise((_r, reject) => {
          timer = setTimeout(
            () => reject(new Error(`droplet ${this.machineName} did not shut down within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async powerOff(): Promise<void> {
    if (!this.running) return;
    this.killRequested = true;
    await killCgroup(this.cgroup);
    this.child?.kill('SIGKILL'); // in case it had not joined the cgroup yet
    await this.exitedP;
  }

  async powerOn(): Promise<void> {
    await this.start();
  }

  async snapshot(archivePath: string): Promise<{ sizeBytes: number }> {
    if (this.destroying) throw new Error(`droplet ${this.machineName} is destroyed`);
    if (this.running) throw new Error(`droplet ${this.machineName} is running: power it off before a snapshot`);
    return writeSnapshot(diskPaths(this.dir).root, archivePath);
  }

  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      if (this.running) await this.powerOff();
      await closeForwarders(this.net);
      live.delete(this.machineName);
      await cleanupMachine(this.machineName);
      await pruneSnapshotTrees().catch((err: Error) => log(`pruning snapshot trees: ${err.message}`));
    })();
    return this.destroying;
  }
}

function validate(spec: DropletBootSpec): void {
  assertMachineName(spec.machineName);
  if (!HOSTNAME_RE.test(spec.hostname)) throw new Error(`invalid hostname ${JSON.stringify(spec.hostname)}`);
  if (!Number.isInteger(spec.diskGiB) || spec.diskGiB < 1) throw new Error(`invalid diskGiB ${spec.diskGiB}`);
  if (spec.instanceId.trim() === '') throw new Error('instanceId is empty');
  for (const k of spec.authorizedKeys)
    if (/[\r\n]/.test(k) || k.trim() === '') throw new Error('authorized keys must be single non-empty lines');
}

/** NoCloud seed: meta-data as JSON (valid YAML, so nothing in it needs escaping), user-data verbatim. */
async function writeSeed(dir: string, spec: DropletBootSpec): Promise<void> {
  const seed = join(dir, 'seed');
  await mkdir(seed, { recursive: true });
  const meta = {
    'instance-id': spec.instanceId,
    'local-hostname': spec.hostname,
    // NoCloud reads public keys from meta-data; with disable_root: false they reach root — and
    // the user's own user-data stays untouched.
    'public-keys': spec.authorizedKeys,
  };
  await writeFile(join(seed, 'meta-data'), `${JSON.stringify(meta, null, 2)}\n`);
  // NoCloud requires the file; empty means "no user configuration".
  await writeFile(join(seed, 'user-data'), spec.userData ?? '');
}

/**
 * Every droplet's systemd takes several inotify instances; the kernel's default of 128 per user
 * runs out at about 15 droplets ("Too many open files", systemd exits 255). Raise it when lower.
 */
const INOTIFY_INSTANCES = '/proc/sys/fs/inotify/max_user_instances';
async function ensureInotifyInstances(min = 4096): Promise<void> {
  const now = Number((await readFile(INOTIFY_INSTANCES, 'utf8').catch(() => '0')).trim());
  if (now > 0 && now < min) await writeFile(INOTIFY_INSTANCES, String(min)).catch(() => undefined);
}

export function createNspawnRuntime(opts: NspawnRuntimeOptions = {}): DropletRuntime {
  const bootTimeoutMs = opts.bootTimeoutMs ?? 180_000;
  return {
    availableDistributions: () => readyDistributions(),
    async create(spec: DropletBootSpec): Promise<RunningDroplet> {
      validate(spec);
      await ensureInotifyInstances();
      const lower =
        spec.image.kind === 'distribution'
          ? await ensureBaseImage(spec.image.slug)
          : await ensureSnapshotTree(spec.image.archivePath);
      const dir = dropletDir(spec.machineName);
      assertMountablePath(dir);
      await mkdir(dropletsDir(), { recursive: true });
      await mkdir(dir); // fails if the name is taken, in this process or another
      let net: DropletNetwork | undefined;
      const aptCachePort = opts.aptCachePort?.();
      try {
        net = await setupNetwork(spec.machineName, {
          ...(opts.mirrorHost ? { mirrorHost: opts.mirrorHost } : {}),
          ...(aptCachePort !== undefined ? { aptCachePort } : {}),
        });
        const meta: DropletMeta = { machineName: spec.machineName, slot: net.slot, lower, uuid: randomUUID() };
        await writeFile(join(dir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
        await createDisk(dir, spec.diskGiB);
        await mountRoot(dir, lower);
        await writeFile(
          join(dir, 'hosts'),
          dropletHostsFile(spec.hostname, net.hostAddress, { aptCache: aptCachePort !== undefined }),
        );
        await writeSeed(dir, spec);
        const droplet = new NspawnDroplet(spec.machineName, net, meta, spec.hostname, bootTimeoutMs);
        live.set(spec.machineName, droplet);
        await droplet.start();
        return droplet;
      } catch (err) {
        live.delete(spec.machineName);
        if (net) await closeForwarders(net);
        await cleanupMachine(spec.machineName).catch((e: Error) => log(`cleanup after failed create: ${e.message}`));
        throw err;
      }
    },
  };
}

/**
 * Removes droplets whose machine name starts with prefix, whoever created them: those of this
 * process (closing their forwarders) and those a crashed lab process left behind. Returns what it
 * found; throws when something could not be removed.
 */
export async function sweepLeftovers(prefix: string): Promise<Leftovers> {
  const found = await findLeftovers(prefix);
  const errors: string[] = [];
  for (const [name, droplet] of live) {
    if (name.startsWith(prefix)) await droplet.destroy().catch((e: Error) => errors.push(e.message));
  }
  for (const pid of (await findLeftovers(prefix)).processes) signal_(pid, 'SIGKILL');
  for (const name of (await findLeftovers(prefix)).machines)
    await cleanupMachine(name).catch((e: Error) => errors.push(e.message));
  const left = await findLeftovers(prefix);
  if (!isEmpty(left)) errors.push(`still there: ${JSON.stringify(left)}`);
  if (errors.length > 0) throw new Error(`sweep of ${prefix}* incomplete: ${errors.join('; ')}`);
  return found;
}

export { findLeftovers, isEmpty, type Leftovers } from './cleanup';
export { ensureBaseImage, listDistributions, readyDistributions } from './base-image';
export { pruneSnapshotTrees } from './snapshot';
