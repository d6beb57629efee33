/**
 * Where the lab keeps things. Two roots:
 *  - the cache (`IMAGE_FORGE_CACHE`, default ~/.cache/image-forge): base images, built once per machine;
 *  - the state dir (`IMAGE_FORGE_LAB_DIR`, default /var/lib/image-forge-lab): droplet disks and
 *    trees extracted from snapshot archives.
 * Machine-wide coordination (address slots) lives under /run, shared by every lab process.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheDir(): string {
  return process.env.IMAGE_FORGE_CACHE || join(homedir(), '.cache', 'image-forge');
}

/** images/<slug>/ holds rootfs/ (the tree), the marker and the build lock. */
export function imageDir(slug: string): string {
  return join(cacheDir(), 'images', slug);
}

export function imageRootfs(slug: string): string {
  return join(imageDir(slug), 'rootfs');
}

/** Written last, holding the recipe hash: present and matching means the tree is complete. */
export function imageMarker(slug: string): string {
  return join(imageDir(slug), 'complete');
}

export function stateDir(): string {
  return process.env.IMAGE_FORGE_LAB_DIR || '/var/lib/image-forge-lab';
}

export function dropletsDir(): string {
  return join(stateDir(), 'droplets');
}

/** A droplet's own directory: disk.img, disk/ (its mount), root/ (the overlay), seed/, hosts. */
export function dropletDir(machineName: string): string {
  return join(dropletsDir(), machineName);
}

/** Trees extracted from snapshot archives, shared read-only by droplets created from them. */
export function snapshotTreesDir(): string {
  return join(stateDir(), 'snapshot-trees');
}

/** Machine-wide: every lab process on this machine allocates addresses here. */
export function runDir(): string {
  return '/run/image-forge-lab';
}

export function slotsDir(): string {
  return join(runDir(), 'slots');
}

export function netnsPath(machineName: string): string {
  return join('/run/netns', machineName);
}

/** The cgroup-v2 mount: /sys/fs/cgroup/unified on hybrid hosts (like this one), else /sys/fs/cgroup. */
export function cgroupRoot(): string {
  if (existsSync('/sys/fs/cgroup/unified/cgroup.procs')) return '/sys/fs/cgroup/unified';
  return '/sys/fs/cgroup';
}

export function dropletCgroup(machineName: string): string {
  return join(cgroupRoot(), machineName);
}

/** Left behind by systemd-nspawn on the host. */
export const NSPAWN_RUN_DIR = '/run/systemd/nspawn';

/** Names used for machines, netns and cgroups; also keeps mount option strings safe. */
export const MACHINE_NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function assertMachineName(name: string): void {
  if (!MACHINE_NAME_RE.test(name)) {
    throw new Error(`invalid machine name ${JSON.stringify(name)}: use [a-z0-9-], at most 63 characters`);
  }
}

/** overlayfs option strings cannot carry these characters. */
export function assertMountablePath(path: string): void {
  if (/[,:\s\\]/.test(path)) throw new Error(`path not usable in mount options: ${JSON.stringify(path)}`);
}
