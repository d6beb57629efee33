/**
 * provision: create the build droplet — or find the one an earlier attempt created, by this
 * build's tag — then wait until it is active, SSH answers with the pinned host key, and
 * cloud-init has finished (it holds the dpkg lock during first boot).
 */
import { beat } from './heartbeat';
import type { ActivityDeps } from './deps';
import { BUILDER_TAG, KEEP_TAG, buildTag, dropletName } from './build-tags';
import { DoApiError } from './digitalocean';
import { deriveHostKey } from './host-key';
import type { HostKey } from './host-key';
import { runOnDroplet } from './remote';
import type { ProvisionInput, ProvisionResult } from '../workflows/types';

export interface NewDroplet {
  /** An earlier attempt's droplet carries this tag. */
  lookupTag: string;
  name: string;
  region: string;
  size: string;
  image: string | number;
  tags: string[];
  userData: string;
}

export interface DropletInfo {
  id: number;
  status: string;
  networks?: { v4?: { ip_address: string; type: string }[] };
}

export function provision(deps: ActivityDeps) {
  return async (input: ProvisionInput): Promise<ProvisionResult> => {
    const t0 = Date.now();
    const tag = buildTag(input.buildId);
    const hostKey = deriveHostKey(deps.hostKeySecret, input.buildId);
    const created = await findOrCreate(deps, {
      lookupTag: tag,
      name: dropletName(input.name, input.buildId),
      ...input.droplet,
      tags: [BUILDER_TAG, tag, ...(input.keep ? [KEEP_TAG] : []), ...input.droplet.tags],
      userData: cloudConfig(hostKey),
    });
    beat({ dropletId: created.id });
    const active = await waitActive(deps, created.id);
    const ipv4 = active.networks?.v4?.find((n) => n.type === 'public')?.ip_address;
    if (!ipv4) throw new Error(`droplet ${created.id} is active but has no public IPv4`);
    const ref = { buildId: input.buildId, dropletId: active.id, ipv4 };
    // Waits for SSH (pinned key), then for first boot to finish.
    const ci = await runOnDroplet(deps, ref, 'provision', 'wait for cloud-init', 'cloud-init status --wait >/dev/null; cloud-init status --long', {
      allowFailure: true,
    });
    if (!/status: done/.test(ci.tail.join('\n'))) {
      throw new Error(`cloud-init did not finish cleanly on droplet ${active.id}: ${ci.tail.slice(-3).join(' / ')}`);
    }
    return {
      ...ref,
      dropletName: dropletName(input.name, input.buildId),
      hostKeyFingerprint: hostKey.fingerprint,
      bootSeconds: (Date.now() - t0) / 1000,
    };
  };
}

export async function findOrCreate(deps: ActivityDeps, d: NewDroplet): Promise<DropletInfo> {
  // Create is the one call never retried blindly: after any failure, look again first.
  for (let attempt = 1; ; attempt++) {
    const existing = await deps.api.call('list build droplets', (c) => c.droplet.listDroplets({ tag_name: d.lookupTag }));
    const found = existing.data.droplets[0];
    if (found) return found as DropletInfo;
    try {
      const res = await deps.api.call(
        'create droplet',
        (c) =>
          c.droplet.createDroplet({
            name: d.name,
            region: d.region,
            size: d.size,
            image: d.image,
            ssh_keys: [deps.login.md5Fingerprint],
            tags: d.tags,
            user_data: d.userData,
            monitoring: false,
            with_droplet_agent: false,
            ipv6: false,
            backups: false,
          }),
        { retry: false },
      );
      return res.data.droplet as DropletInfo;
    } catch (err) {
      if (err instanceof DoApiError && err.transient && attempt < 6) {
        await sleep(Math.min(8000, 500 * 2 ** attempt), err.retryAfterSeconds);
        continue;
      }
      throw err;
    }
  }
}

export async function waitActive(deps: ActivityDeps, id: number): Promise<DropletInfo> {
  const pollMs = deps.timing?.pollMs ?? 2000;
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    const d = (await deps.api.call('get droplet', (c) => c.droplet.getDroplet({ droplet_id: id }))).data.droplet as DropletInfo;
    if (d.status === 'active' && d.networks?.v4?.some((n) => n.type === 'public')) return d;
    if (Date.now() > deadline) throw new Error(`droplet ${id} is still ${d.status} after 10 minutes`);
    beat({ dropletId: id, status: d.status });
    await sleep(pollMs);
  }
}

/** Hands the droplet its host key, so the very first connection is verified. */
export function cloudConfig(hostKey: HostKey): string {
  const indent = (s: string) => s.trimEnd().split('\n').map((l) => `    ${l}`).join('\n');
  return [
    '#cloud-config',
    'ssh_deletekeys: true',
    'ssh_genkeytypes: []',
    'ssh_keys:',
    '  ed25519_private: |',
    indent(hostKey.privateOpenSsh),
    `  ed25519_public: ${hostKey.publicOpenSsh}`,
    '',
  ].join('\n');
}

function sleep(ms: number, retryAfterSeconds?: number): Promise<void> {
  const wait = retryAfterSeconds !== undefined ? Math.min(retryAfterSeconds * 1000, 60_000) : ms;
  return new Promise((r) => setTimeout(r, wait));
}
