/** The account's SSH keys, as verify uses them: a one-time key registered for one test droplet. */
import type { ActivityDeps } from '../runtime/deps';

/** Registers a public key under a name; returns its id. */
export async function registerSshKey(deps: ActivityDeps, name: string, publicKey: string): Promise<number> {
  const r = await deps.api.call('register one-time SSH key', (c) =>
    c.sshKey.createSshKey({ name, public_key: publicKey }),
  );
  return r.data.ssh_key.id as number;
}

export async function deleteSshKey(deps: ActivityDeps, keyId: number): Promise<void> {
  await deps.api.call('delete one-time SSH key', (c) => c.sshKey.destroySshKey({ ssh_key_id: keyId }));
}

/** Deletes every key with this name (an earlier attempt's too). */
export async function deleteSshKeysNamed(deps: ActivityDeps, name: string): Promise<void> {
  // DigitalOcean allows 10 listings a minute: many verifies at once wait here, not the worker's other calls.
  const keys = (
    await deps.api.call('list SSH keys', (c) => c.sshKey.listSshKeys({ per_page: 200 }), { ownLimit: true })
  ).data.ssh_keys;
  for (const k of keys.filter((k) => k.name === name)) await deleteSshKey(deps, k.id as number);
}
