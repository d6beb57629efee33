/**
 * A DropletRuntime for lab tests that need /v2 droplets and snapshots but no real system (the
 * Vendor API's tests): droplets boot at once and snapshot to a small file.
 */
import { writeFile } from 'node:fs/promises';
import type { DropletExit, DropletRuntime, RunningDroplet } from '../../lab/droplets/runtime';

/** Boots at once, snapshots to a small file: enough for /v2 to create a droplet and snapshot it. */
export function memoryRuntime(): DropletRuntime {
  let n = 0;
  return {
    availableDistributions: () => Promise.resolve(['debian-12-x64']),
    create: (spec) => {
      n++;
      let exit: (e: DropletExit) => void = () => undefined;
      const boot = () => {
        const exited = new Promise<DropletExit>((r) => (exit = r));
        return { booted: Promise.resolve(), exited };
      };
      let current = boot();
      const m: RunningDroplet = {
        machineName: spec.machineName,
        ipv4: `169.254.100.${n}`,
        privateIpv4: `10.250.100.${n}`,
        get booted() {
          return current.booted;
        },
        get exited() {
          return current.exited;
        },
        shutdown: () => Promise.resolve(exit({ reason: 'poweroff', code: 0 })),
        powerOff: () => Promise.resolve(exit({ reason: 'killed', code: null })),
        powerOn: () => {
          current = boot();
          return Promise.resolve();
        },
        snapshot: async (archivePath) => {
          await writeFile(archivePath, 'not a real root filesystem');
          return { sizeBytes: 26 };
        },
        destroy: () => Promise.resolve(exit({ reason: 'killed', code: null })),
      };
      return Promise.resolve(m);
    },
  };
}

/** A snapshot made through the lab's /v2 with `token`, the way a builder makes one: it lands in that token's team. */
export async function labSnapshot(origin: string, token: string, name: string): Promise<number> {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const r = await fetch(`${origin}${path}`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
    const data = (await r.json()) as T;
    if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status} ${JSON.stringify(data)}`);
    return data;
  };
  const until = async (what: string, check: () => Promise<boolean>) => {
    for (const deadline = Date.now() + 10_000; !(await check());) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const droplet = { name: `snap-${name}`, region: 'nyc3', size: 's-1vcpu-512mb-10gb', image: 'debian-12-x64' };
  const id = (await call<{ droplet: { id: number } }>('POST', '/v2/droplets', droplet)).droplet.id;
  await until('droplet active', async () => {
    const d = (await call<{ droplet: { status: string; locked: boolean } }>('GET', `/v2/droplets/${id}`)).droplet;
    return d.status === 'active' && !d.locked;
  });
  const snapshot = { type: 'snapshot', name };
  const action = (await call<{ action: { id: number } }>('POST', `/v2/droplets/${id}/actions`, snapshot)).action.id;
  await until('snapshot', async () => {
    const a = (await call<{ action: { status: string } }>('GET', `/v2/actions/${action}`)).action;
    if (a.status === 'errored') throw new Error('snapshot action errored');
    return a.status === 'completed';
  });
  type Snapshots = { snapshots: { id: number; name: string }[] };
  const snaps = (await call<Snapshots>('GET', `/v2/droplets/${id}/snapshots`)).snapshots;
  return snaps.find((s) => s.name === name)!.id;
}
