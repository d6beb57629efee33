/**
 * Finding and removing everything a droplet consists of on the host, by machine name: used by
 * destroy() and by the sweep after a crashed lab process (where only the names are left).
 */
import { existsSync } from 'node:fs';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { cgroupPids, removeCgroup } from './cgroup';
import { diskPaths, isMountpoint, loopsByBackFilePrefix, mounts, mountsUnder, unmountAll } from './disk';
import { slotsOwnedBy, teardownNetwork, vethsByAliasPrefix } from './network';
import { MACHINE_NAME_RE, NSPAWN_RUN_DIR, cgroupRoot, dropletCgroup, dropletDir, dropletsDir } from './paths';

/** What a droplet's meta.json records for cleanup. */
export interface DropletMeta {
  machineName: string;
  slot: number;
  lower: string;
  uuid: string;
  /** nspawn's lock file name for the root directory (inode-<dev>:<ino>) while it is mounted. */
  lockName?: string;
}

export async function readMeta(machineName: string): Promise<DropletMeta | undefined> {
  try {
    return JSON.parse(await readFile(join(dropletDir(machineName), 'meta.json'), 'utf8')) as DropletMeta;
  } catch {
    return undefined;
  }
}

/** nspawn's lock file for a root directory is named after its device and inode. */
export async function nspawnLockName(root: string): Promise<string> {
  const s = await stat(root);
  return `inode-${s.dev}:${s.ino}`;
}

/** /run/systemd/nspawn leftovers of a stopped container. */
export async function removeNspawnLeftovers(machineName: string, lockName?: string): Promise<void> {
  const propagate = join(NSPAWN_RUN_DIR, 'propagate', machineName);
  if (existsSync(propagate) && !(await isMountpoint(propagate))) await rm(propagate, { recursive: true, force: true });
  if (lockName && /^inode-\d+:\d+$/.test(lockName)) await rm(join(NSPAWN_RUN_DIR, 'locks', lockName), { force: true });
}

/**
 * Removes every trace of one droplet, in an order that works: processes (the cgroup) first, then
 * mounts, network, nspawn leftovers and finally its directory. Keeps going after a failed step and
 * throws all failures at the end.
 */
export async function cleanupMachine(machineName: string): Promise<void> {
  if (!MACHINE_NAME_RE.test(machineName)) throw new Error(`invalid machine name ${JSON.stringify(machineName)}`);
  const errors: unknown[] = [];
  const step = async (fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      errors.push(err);
    }
  };
  const dir = dropletDir(machineName);
  const meta = await readMeta(machineName);
  // Only from the mounted root: a recorded name may by now be another overlay's (devices are reused).
  let lockName: string | undefined;
  await step(() => removeCgroup(dropletCgroup(machineName)));
  await step(async () => {
    const { root } = diskPaths(dir);
    if (await isMountpoint(root)) lockName = await nspawnLockName(root);
  });
  await step(() => unmountAll(dir));
  await step(() => teardownNetwork(machineName, meta?.slot));
  await step(() => removeNspawnLeftovers(machineName, lockName));
  await step(async () => {
    const left = await mountsUnder(dir);
    if (left.length > 0) throw new Error(`not removing ${dir}: still mounted: ${left.join(', ')}`);
    await rm(dir, { recursive: true, force: true });
  });
  if (errors.length > 0)
    throw new AggregateError(
      errors,
      `cleanup of droplet ${machineName} incomplete: ${errors.map((e) => (e as Error).message).join('; ')}`,
    );
}

export interface Leftovers {
  /** Machine names found in any of the places below. */
  machines: string[];
  processes: number[];
  mounts: string[];
  loops: string[];
  netns: string[];
  veths: string[];
  cgroups: string[];
  slots: number[];
  dirs: string[];
  nspawnFiles: string[];
}

async function names(dir: string, prefix: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => n.startsWith(prefix));
  } catch {
    return [];
  }
}

/** systemd-nspawn processes started for machines whose name starts with prefix. */
async function nspawnProcesses(prefix: string): Promise<number[]> {
  const out: number[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const argv = (await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (basename(argv[0] ?? '') !== 'systemd-nspawn') continue;
    if (argv.some((a) => a.startsWith(`--machine=${prefix}`))) out.push(Number(p));
  }
  return out;
}

/** Everything on this machine that belongs to droplets whose machine name starts with prefix. */
export async function findLeftovers(prefix: string): Promise<Leftovers> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(prefix))
    throw new Error(`refusing to look for leftovers with prefix ${JSON.stringify(prefix)}`);
  const cgroups = await names(cgroupRoot(), prefix);
  const processes = new Set(await nspawnProcesses(prefix));
  for (const c of cgroups) for (const pid of await cgroupPids(join(cgroupRoot(), c))) processes.add(pid);
  const dirs = await names(dropletsDir(), prefix);
  const mountList = (await mounts())
    .map((m) => m.mountpoint)
    .filter(
      (p) =>
        p.startsWith(`${dropletsDir()}/${prefix}`) ||
        p.startsWith(`/run/netns/${prefix}`) ||
        p.startsWith(`${NSPAWN_RUN_DIR}/propagate/${prefix}`),
    );
  const loops = await loopsByBackFilePrefix(`${dropletsDir()}/${prefix}`);
  const netns = await names('/run/netns', prefix);
  const veths = await vethsByAliasPrefix(prefix);
  const slots = await slotsOwnedBy(prefix);
  const nspawnFiles = (await names(join(NSPAWN_RUN_DIR, 'propagate'), prefix)).map((n) =>
    join(NSPAWN_RUN_DIR, 'propagate', n),
  );
  for (const d of dirs) {
    const { root } = diskPaths(join(dropletsDir(), d));
    if (!(await isMountpoint(root))) continue;
    const lock = join(NSPAWN_RUN_DIR, 'locks', await nspawnLockName(root));
    if (existsSync(lock)) nspawnFiles.push(lock);
  }
  const machines = new Set<string>([
    ...cgroups,
    ...dirs,
    ...netns,
    ...veths.map((v) => v.alias),
    ...slots.map((s) => s.owner),
  ]);
  for (const m of mountList) {
    const rel = m.startsWith(`${dropletsDir()}/`) ? m.slice(dropletsDir().length + 1) : basename(m);
    const name = rel.split('/')[0];
    if (name) machines.add(name);
  }
  return {
    machines: [...machines].filter((m) => MACHINE_NAME_RE.test(m)).sort(),
    processes: [...processes].sort((a, b) => a - b),
    mounts: mountList,
    loops,
    netns,
    veths: veths.map((v) => v.ifname),
    cgroups,
    slots: slots.map((s) => s.slot),
    dirs,
    nspawnFiles,
  };
}

export function isEmpty(l: Leftovers): boolean {
  return Object.values(l).every((v) => (v as unknown[]).length === 0);
}
