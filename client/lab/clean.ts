/**
 * `client lab clean`: removes what crashed lab processes left behind — the droplets of lab API
 * servers whose process is gone (their namespaces, mounts, cgroups, disks), their directories,
 * snapshot trees nothing uses, and apt caches (apt-cacher-ng) whose lab was killed.
 * `--prefix` sweeps any machine-name prefix, live or not.
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { aptCacheDir, stopOrphanedCache } from '../../lab/apt-cache/apt-cacher-ng';
import { SERVER_DIR_PREFIX, SERVER_RECORD, type ServerRecord } from '../../lab/api/server';
import { pruneSnapshotTrees, sweepLeftovers } from '../../lab/droplets/nspawn-runtime';
import { stateDir } from '../../lab/droplets/paths';
import { UserError } from '../../contract/user-error';
import { requireRoot } from './serve';

export async function labClean(opts: { prefix?: string; apiStateDir?: string }): Promise<void> {
  requireRoot();
  const base = opts.apiStateDir ?? join(stateDir(), 'api');
  const problems: string[] = [];
  let swept = 0;
  const sweep = async (prefix: string) => {
    try {
      const found = await sweepLeftovers(prefix);
      swept += found.machines.length;
      for (const m of found.machines) process.stdout.write(`removed droplet ${m}\n`);
      return true;
    } catch (err) {
      problems.push((err as Error).message);
      return false;
    }
  };

  if (opts.prefix !== undefined) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(opts.prefix))
      throw new UserError(`--prefix must be lower-case letters, digits and dashes: ${opts.prefix}`);
    await sweep(opts.prefix);
  }
  for (const dir of (await readdir(base).catch(() => [] as string[])).filter((d) => d.startsWith(SERVER_DIR_PREFIX))) {
    const path = join(base, dir);
    const record = await readRecord(join(path, SERVER_RECORD));
    if (record && alive(record.pid)) continue;
    if (record && !(await sweep(record.machinePrefix))) continue;
    await rm(path, { recursive: true, force: true });
    process.stdout.write(`removed ${path} (its lab server is gone)\n`);
  }
  if (await stopOrphanedCache(aptCacheDir()))
    process.stdout.write(`stopped the orphaned apt cache of ${aptCacheDir()}\n`);
  for (const dir of (await readdir(stateDir()).catch(() => [] as string[])).filter((d) => d.startsWith('apt-cache-'))) {
    // A private cache (its lab found the shared one busy): gone with its lab.
    const path = join(stateDir(), dir);
    if (!(await stopOrphanedCache(path)) && (await readFile(join(path, 'pid'), 'utf8').catch(() => '')) !== '')
      continue;
    await rm(path, { recursive: true, force: true });
    process.stdout.write(`removed ${path} (its lab is gone)\n`);
  }
  for (const tree of await pruneSnapshotTrees().catch((err: Error) => (problems.push(err.message), [] as string[]))) {
    process.stdout.write(`removed unused snapshot tree ${tree}\n`);
  }
  if (problems.length > 0) throw new UserError(`lab clean incomplete:\n  ${problems.join('\n  ')}`);
  process.stdout.write(swept === 0 ? 'no leftover droplets\n' : `${swept} leftover droplet(s) removed\n`);
}

async function readRecord(file: string): Promise<ServerRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(file, 'utf8')) as Partial<ServerRecord>;
    return typeof r.pid === 'number' &&
      typeof r.machinePrefix === 'string' &&
      /^[a-z0-9][a-z0-9-]*$/.test(r.machinePrefix)
      ? (r as ServerRecord)
      : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
