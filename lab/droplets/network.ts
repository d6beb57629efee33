/**
 * A droplet's network: its own netns joined to the host by a veth pair with a link-local /30
 * (host .1, droplet .2). No default route inside, and forwarding is off on the host side, so the
 * droplet reaches nothing but the host's veth address — where an in-process forwarder on port 80
 * leads to the Debian mirror, which the droplet's /etc/hosts maps to that address. With the lab's
 * apt cache on, a second forwarder on port 3142 leads to it, under the name APT_CACHE_HOST.
 */
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, tryRun } from './exec';
import { startForwarder, type Forwarder } from './forwarder';
import { assertMachineName, netnsPath, slotsDir } from './paths';

/** 169.254.1.0 … 169.254.254.255 in /30 blocks: 169.254.0.x and 169.254.255.x stay unused. */
const MAX_SLOTS = 254 * 64;
export const MIRROR_HOST = 'deb.debian.org';
/** The lab's apt cache as droplets see it: this name (their /etc/hosts) and port, on the veth's host side. */
export const APT_CACHE_HOST = 'apt-cache.lab.internal';
export const APT_CACHE_PORT = 3142;
/** What a worker building in the lab sets as IMAGE_FORGE_APT_PROXY. */
export const LAB_APT_PROXY = `http://${APT_CACHE_HOST}:${APT_CACHE_PORT}`;

export interface NetworkOptions {
  mirrorHost?: string;
  /** The apt cache's loopback port on the host: droplets get a forwarder to it. */
  aptCachePort?: number;
}

export interface DropletNetwork {
  machineName: string;
  slot: number;
  /** Host side of the veth: the forwarder listens here. */
  hostAddress: string;
  /** The droplet's eth0: its "public IPv4" in the lab. */
  dropletAddress: string;
  /** Also on the droplet's eth0 (a /32, routed to the veth on the host): its "private IPv4". */
  privateAddress: string;
  hostInterface: string;
  netnsPath: string;
  forwarder: Forwarder;
  /** To the lab's apt cache, when it is on. */
  aptCacheForwarder?: Forwarder;
}

/** Closes the droplet's forwarders (its owner does, before teardownNetwork). */
export async function closeForwarders(net: DropletNetwork): Promise<void> {
  await net.forwarder.close();
  await net.aptCacheForwarder?.close();
}

export function slotAddresses(slot: number): { hostAddress: string; dropletAddress: string } {
  if (!Number.isInteger(slot) || slot < 0 || slot >= MAX_SLOTS) throw new Error(`slot out of range: ${slot}`);
  const third = 1 + Math.floor(slot / 64);
  const base = (slot % 64) * 4;
  return { hostAddress: `169.254.${third}.${base + 1}`, dropletAddress: `169.254.${third}.${base + 2}` };
}

/**
 * The droplet's private address: 10.250.<third>.<base+2>, the same numbers as its link-local one
 * in a block of 10/8 (where DigitalOcean's VPC ranges are), so it never collides with another slot.
 */
export function privateAddress(slot: number): string {
  const { dropletAddress } = slotAddresses(slot);
  return dropletAddress.replace(/^169\.254\./, '10.250.');
}

/** Host-side veth name (≤ 15 characters); its alias carries the machine name for sweeping. */
export function hostInterfaceName(slot: number): string {
  return `iflab${slot}`;
}

/** Atomically claims the lowest free slot (mkdir is atomic across processes). */
async function allocateSlot(machineName: string, skip: Set<number>): Promise<number> {
  await mkdir(slotsDir(), { recursive: true });
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    if (skip.has(slot)) continue;
    try {
      await mkdir(join(slotsDir(), String(slot)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    await writeFile(join(slotsDir(), String(slot), 'owner'), machineName);
    return slot;
  }
  throw new Error('no free lab network slot');
}

/** Slots owned by machines whose name starts with prefix (an empty prefix matches all). */
export async function slotsOwnedBy(prefix: string): Promise<Array<{ slot: number; owner: string }>> {
  const out: Array<{ slot: number; owner: string }> = [];
  const names = await readdir(slotsDir()).catch(() => [] as string[]);
  for (const n of names) {
    const owner = await readFile(join(slotsDir(), n, 'owner'), 'utf8').catch(() => '');
    if (owner.startsWith(prefix) && owner !== '') out.push({ slot: Number(n), owner });
  }
  return out;
}

async function writeSysctl(path: string, value: string, netns?: string): Promise<void> {
  if (netns) await run('ip', ['netns', 'exec', netns, 'sh', '-c', 'echo "$1" > "$2"', 'sh', value, path]);
  else await writeFile(path, value);
}

/** Creates netns, veth and addresses and starts the mirror forwarder. Undoes itself on failure. */
export async function setupNetwork(machineName: string, opts: NetworkOptions = {}): Promise<DropletNetwork> {
  assertMachineName(machineName);
  const skip = new Set<number>();
  for (let attempt = 1; ; attempt++) {
    const slot = await allocateSlot(machineName, skip);
    try {
      return await setupSlot(machineName, slot, opts);
    } catch (err) {
      await teardownNetwork(machineName, slot);
      // A live process still holds this address's port 80 (e.g. a lab whose droplet was swept
      // from outside while it ran): leave the slot to it and take another.
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 8) throw err;
      skip.add(slot);
    }
  }
}

async function setupSlot(machineName: string, slot: number, opts: NetworkOptions): Promise<DropletNetwork> {
  const { hostAddress, dropletAddress } = slotAddresses(slot);
  const hostIf = hostInterfaceName(slot);
  await run('ip', ['netns', 'add', machineName]);
  await run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', machineName]);
  await run('ip', ['link', 'set', 'dev', hostIf, 'alias', machineName]);
  // Nothing the droplet sends is routed on: IPv4 forwarding off and no IPv6 on the host side.
  await writeSysctl(`/proc/sys/net/ipv4/conf/${hostIf}/forwarding`, '0');
  await writeSysctl(`/proc/sys/net/ipv6/conf/${hostIf}/disable_ipv6`, '1');
  await run('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', hostIf]);
  await run('ip', ['link', 'set', 'dev', hostIf, 'up']);
  await writeSysctl('/proc/sys/net/ipv6/conf/eth0/disable_ipv6', '1', machineName);
  await run('ip', ['-n', machineName, 'addr', 'add', `${dropletAddress}/30`, 'dev', 'eth0']);
  await run('ip', ['-n', machineName, 'link', 'set', 'dev', 'eth0', 'up']);
  await run('ip', ['-n', machineName, 'link', 'set', 'dev', 'lo', 'up']);
  // The private address: a /32 on the droplet's eth0 and a host route to it through the veth (it
  // goes away with the veth). Replies go back to the host's link-local address, on-link inside.
  const privateIp = privateAddress(slot);
  await run('ip', ['-n', machineName, 'addr', 'add', `${privateIp}/32`, 'dev', 'eth0']);
  await run('ip', ['route', 'replace', `${privateIp}/32`, 'dev', hostIf, 'src', hostAddress]);
  const forwarder = await startForwarder({
    listenHost: hostAddress,
    listenPort: 80,
    targetHost: opts.mirrorHost ?? MIRROR_HOST,
    targetPort: 80,
  });
  let aptCacheForwarder: Forwarder | undefined;
  if (opts.aptCachePort !== undefined) {
    try {
      aptCacheForwarder = await startForwarder({
        listenHost: hostAddress,
        listenPort: APT_CACHE_PORT,
        targetHost: '127.0.0.1',
        targetPort: opts.aptCachePort,
      });
    } catch (err) {
      await forwarder.close();
      throw err;
    }
  }
  return {
    machineName,
    slot,
    hostAddress,
    dropletAddress,
    privateAddress: privateIp,
    hostInterface: hostIf,
    netnsPath: netnsPath(machineName),
    forwarder,
    ...(aptCacheForwarder ? { aptCacheForwarder } : {}),
  };
}

/**
 * Removes netns, veth and slot. Idempotent; call after the droplet's processes are gone (a netns
 * held by a live process outlives its /run/netns name). The forwarder is closed by its owner.
 */
export async function teardownNetwork(machineName: string, slot?: number): Promise<void> {
  await tryRun('ip', ['netns', 'delete', machineName]);
  const slots =
    slot === undefined
      ? (await slotsOwnedBy(machineName)).filter((s) => s.owner === machineName).map((s) => s.slot)
      : [slot];
  for (const s of slots) {
    const link = await tryRun('ip', ['link', 'show', 'dev', hostInterfaceName(s)]);
    if (link.ok && link.stdout.includes(`alias ${machineName}\n`))
      await tryRun('ip', ['link', 'delete', 'dev', hostInterfaceName(s)]);
    const owner = await readFile(join(slotsDir(), String(s), 'owner'), 'utf8').catch(() => machineName);
    if (owner === machineName) await rm(join(slotsDir(), String(s)), { recursive: true, force: true });
  }
}

/** Host veths whose alias (machine name) starts with prefix. */
export async function vethsByAliasPrefix(prefix: string): Promise<Array<{ ifname: string; alias: string }>> {
  const r = await tryRun('ip', ['-j', '-d', 'link', 'show', 'type', 'veth']);
  if (!r.ok || r.stdout.trim() === '') return [];
  const links = JSON.parse(r.stdout) as Array<{ ifname?: string; ifalias?: string }>;
  return links
    .filter((l) => typeof l.ifname === 'string' && typeof l.ifalias === 'string' && l.ifalias.startsWith(prefix))
    .map((l) => ({ ifname: l.ifname as string, alias: l.ifalias as string }));
}

/** The droplet's /etc/hosts (bind-mounted read-only): its name, the mirror and the apt cache at the forwarders. */
export function dropletHostsFile(
  hostname: string,
  hostAddress: string,
  opts: { mirrorName?: string; aptCache?: boolean } = {},
): string {
  return [
    '127.0.0.1\tlocalhost',
    `127.0.1.1\t${hostname}`,
    '::1\t\tlocalhost ip6-localhost ip6-loopback',
    'ff02::1\t\tip6-allnodes',
    'ff02::2\t\tip6-allrouters',
    `# image-forge lab: the Debian mirror through the host's forwarder`,
    `${hostAddress}\t${opts.mirrorName ?? MIRROR_HOST}`,
    ...(opts.aptCache
      ? [`# the lab's apt cache (apt-cacher-ng) through the host's forwarder`, `${hostAddress}\t${APT_CACHE_HOST}`]
      : []),
    '',
  ].join('\n');
}
