/**
 * A droplet's own cgroup-v2 directory: systemd-nspawn is started inside it (lab-notes), so every
 * process of the droplet — nspawn, the container's init and all below — can be found, killed
 * (cgroup.kill) and waited for in one place, even after nspawn itself died.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep } from './exec';
import { dropletCgroup } from './paths';

export async function prepareCgroup(machineName: string): Promise<string> {
  const dir = dropletCgroup(machineName);
  await removeCgroupChildren(dir);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Every pid in the droplet's cgroup subtree. */
export async function cgroupPids(dir: string): Promise<number[]> {
  const pids: number[] = [];
  const walk = async (d: string): Promise<void> => {
    const procs = await readFile(join(d, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const line of procs.split('\n')) if (line.trim() !== '') pids.push(Number(line));
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await walk(join(d, e.name));
  };
  if (existsSync(dir)) await walk(dir);
  return pids;
}

/** The container's PID 1 as seen from the host: in the subtree and pid 1 of its own pid namespace. */
export async function containerInitPid(dir: string, nspawnPid?: number): Promise<number | undefined> {
  const candidates: number[] = [];
  if (nspawnPid !== undefined) {
    const children = await readFile(`/proc/${nspawnPid}/task/${nspawnPid}/children`, 'utf8').catch(() => '');
    for (const c of children.split(/\s+/)) if (c !== '') candidates.push(Number(c));
  }
  candidates.push(...(await cgroupPids(dir)));
  for (const pid of candidates) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const nspid = /^NSpid:\s*(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
    if (nspid.length > 1 && nspid[nspid.length - 1] === '1') return pid;
  }
  return undefined;
}

async function populated(dir: string): Promise<boolean> {
  const events = await readFile(join(dir, 'cgroup.events'), 'utf8').catch(() => 'populated 0');
  return /^populated 1$/m.test(events);
}

/** SIGKILLs everything in the subtree and waits until it is empty. */
export async function killCgroup(dir: string, timeoutMs = 10_000): Promise<void> {
  if (!existsSync(dir)) return;
  const deadline = Date.now() + timeoutMs;
  while (await populated(dir)) {
    if (existsSync(join(dir, 'cgroup.kill'))) {
      await writeFile(join(dir, 'cgroup.kill'), '1').catch(() => undefined);
    } else {
      for (const pid of await cgroupPids(dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    if (Date.now() > deadline) throw new Error(`processes of ${dir} did not die within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** nspawn leaves payload/… and supervisor/ behind: remove them depth-first. */
async function removeCgroupChildren(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    await removeCgroupChildren(join(dir, e.name));
    await rmdirRetry(join(dir, e.name));
  }
}

async function rmdirRetry(dir: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      // EBUSY right after the last process died: the kernel frees the cgroup asynchronously.
      if (code !== 'EBUSY' || i >= 100) throw err;
      await sleep(20);
    }
  }
}

/** Kills what is left and removes the droplet's whole cgroup subtree. */
export async function removeCgroup(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  await killCgroup(dir);
  await removeCgroupChildren(dir);
  await rmdirRetry(dir);
}

/** After nspawn exits: its leftovers, so the next boot starts clean. */
export async function clearCgroupChildren(dir: string): Promise<void> {
  await removeCgroupChildren(dir);
}
