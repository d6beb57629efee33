/**
 * A droplet made from an image the way a customer gets one: through the API with a key of the
 * test's own, then SSH. For checking what a build produced.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from 'ssh2';
import { DoApi } from '../../platform/digitalocean';
import { ed25519FromSeed } from '../../platform/host-key';
import type { HostKey } from '../../platform/host-key';
import { connectSsh, exec } from '../../platform/ssh';
import { readLoginKeyFromText } from './keys';
import { setTimeout as sleep } from 'node:timers/promises';

export interface TestDroplet {
  id: number;
  ip: string;
  /** The test's own login key (OpenSSH private key). */
  privateKey: string;
  hostKey: string;
  run(cmd: string, stdin?: string): Promise<{ code: number | null; out: string }>;
  destroy(): Promise<void>;
}

export async function dropletFromImage(
  endpoint: string,
  token: string,
  image: number | string,
  size = 's-1vcpu-1gb',
  /** api: a client of the caller's own (the bench's paces its calls); else a plain one. */
  opts: { key?: HostKey; userData?: string; api?: DoApi } = {},
): Promise<TestDroplet> {
  const api = opts.api ?? new DoApi({ token, endpoint });
  const key = opts.key ?? ed25519FromSeed(randomBytes(32));
  const login = readLoginKeyFromText(key.privateOpenSsh, key.publicOpenSsh);
  const made = await api.call('key', (c) =>
    c.sshKey.createSshKey({ name: `test-${Date.now()}`, public_key: key.publicOpenSsh }),
  );
  const keyId = made.data.ssh_key.id;
  const created = await api.call('create', (c) =>
    c.droplet.createDroplet({
      name: `verify-${Date.now()}`,
      region: 'nyc3',
      size,
      image,
      ssh_keys: [keyId],
      tags: ['test-verify'],
      ...(opts.userData ? { user_data: opts.userData } : {}),
    }),
  );
  const id = created.data.droplet.id;
  let ip: string;
  let conn: Client | undefined;
  let hostKey = '';
  const destroy = async () => {
    conn?.end();
    await api.call('delete', (c) => c.droplet.deleteDroplet({ droplet_id: id })).catch(() => undefined);
    await api.call('delete key', (c) => c.sshKey.destroySshKey({ ssh_key_id: keyId })).catch(() => undefined);
  };
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const d = (await api.call('get', (c) => c.droplet.getDroplet({ droplet_id: id }))).data.droplet;
      ip = d.networks?.v4?.find((n) => n.type === 'public')?.ip_address ?? '';
      if (d.status === 'active' && ip) break;
      if (Date.now() > deadline) throw new Error(`droplet ${id} did not become active`);
      await sleep(500);
    }
    conn = await connectSsh({
      host: ip,
      username: 'root',
      privateKey: login.privateKey,
      readyTimeoutMs: 60_000,
      onHostKey: (fp) => (hostKey = fp),
    });
  } catch (err) {
    await destroy();
    throw err;
  }
  const c = conn;
  return {
    id,
    ip,
    privateKey: key.privateOpenSsh,
    hostKey,
    async run(cmd, stdin) {
      let out = '';
      const r = await exec(c, cmd, {
        ...(stdin !== undefined ? { stdin } : {}),
        onStdout: (b) => (out += b.toString()),
        onStderr: (b) => (out += b.toString()),
      });
      return { code: r.exitCode, out };
    },
    destroy,
  };
}
