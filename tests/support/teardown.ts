/**
 * What a lab test must leave: checked before the lab is closed, so a leak fails the test that
 * made it, by name — and is then cleaned anyway. Lab tests need root, said once and clearly.
 */
import { readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LabServer } from '../../lab/api/server';
import { findLeftovers, isEmpty, sweepLeftovers } from '../../lab/droplets/nspawn-runtime';

/** verify's one-time login keys are named so (activities/verify.ts). */
const VERIFY_KEY_PREFIX = 'image-forge-verify-';

export const NEEDS_ROOT = 'lab tests need root: run as root, as .ci/run does';

/** Fails (never skips) when not root: the lab's droplets are namespaces, cgroups and loop devices. */
export function requireLabRoot(uid = process.getuid?.()): void {
  if (uid !== 0) throw new Error(NEEDS_ROOT);
}

/** A test's `skip` option: never under CI (there the test runs and fails with NEEDS_ROOT). */
export function skipUnlessRootFor(uid = process.getuid?.(), ci = process.env.CI): string | false {
  return uid !== 0 && ci !== 'true' ? NEEDS_ROOT : false;
}

/**
 * Droplets the lab still lists that the test did not say it expects, and one-time verify keys a
 * build registered and did not delete (the builder's own key stays registered by design).
 */
export async function unexpectedDroplets(lab: LabServer, expected: number[] = []): Promise<string[]> {
  const { droplets, keyList } = await lab.state();
  return [
    ...droplets.list
      .filter((d) => !expected.includes(d.id))
      .map((d) => `droplet ${d.id} (${d.name}, ${d.status}, machine ${d.machineName})`),
    ...keyList.filter((k) => k.name.startsWith(VERIFY_KEY_PREFIX)).map((k) => `ssh key ${k.id} (${k.name})`),
  ];
}

/** Mounts and loop devices under dir (the test's state dir), and the lab's leftovers by machine prefix. */
export async function hostLeftovers(prefix: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  const l = await findLeftovers(prefix);
  if (!isEmpty(l)) out.push(`lab leftovers for ${prefix}: ${JSON.stringify(l)}`);
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  for (const line of mountinfo.split('\n')) {
    const point = line.split(' ')[4]?.replace(/\\040/g, ' ');
    if (point && (point === dir || point.startsWith(`${dir}/`))) out.push(`mount ${point}`);
  }
  const loops = (await promisify(execFile)('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'])).stdout;
  for (const line of loops.split('\n')) {
    const [name, back] = line.trim().split(/\s+/, 2);
    if (name && back?.startsWith(`${dir}/`)) out.push(`loop device ${name} on ${back}`);
  }
  return out;
}

/** Cleans what hostLeftovers found: the prefix's machines, then mounts and loops under dir. */
export async function cleanHost(prefix: string, dir: string): Promise<void> {
  await sweepLeftovers(prefix).catch(() => undefined);
  const run = promisify(execFile);
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const points = mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\040/g, ' ') ?? '')
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const p of points) await run('umount', ['-l', p]).catch(() => undefined);
  const loops = (await run('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'])).stdout;
  for (const line of loops.split('\n')) {
    const [name, back] = line.trim().split(/\s+/, 2);
    if (name && back?.startsWith(`${dir}/`)) await run('losetup', ['-d', name]).catch(() => undefined);
  }
}

export function leftoverError(what: string, found: string[]): Error {
  return new Error(`${what} left behind (cleaned now, but the test leaks):\n  ${found.join('\n  ')}`);
}
