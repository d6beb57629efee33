/**
 * The worker's SSH login key: read once, its public half registered with DigitalOcean by
 * fingerprint (idempotent: an existing key with that fingerprint is reused).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { utils } from 'ssh2';
import type { LoginKey } from '../activities/runtime/deps';
import type { DoApi } from '../platform/digitalocean';
import { DoApiError } from '../platform/digitalocean';
import { UserError } from '../contract/user-error';

export async function readLoginKey(file: string): Promise<LoginKey> {
  const privateKey = await fs.readFile(file).catch(() => {
    throw new UserError(
      `cannot read the SSH private key ${file} (IMAGE_FORGE_SSH_KEY): check the path and permissions`,
    );
  });
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error || !parsed || Array.isArray(parsed) || !parsed.isPrivateKey()) {
    throw new UserError(
      `${file} is not an unencrypted SSH private key: make one with ssh-keygen -t ed25519 -N '' -f ${file}`,
    );
  }
  const blob = parsed.getPublicSSH();
  return {
    privateKey,
    publicKey: `${parsed.type} ${blob.toString('base64')}`,
    md5Fingerprint: createHash('md5')
      .update(blob)
      .digest('hex')
      .replace(/(..)(?!$)/g, '$1:'),
  };
}

/**
 * Makes sure DigitalOcean knows the login key; returns its id. Workers of a fleet share the key and
 * may start together: one registers it, the others' POST gets 422 "already in use", which means
 * it is there now, so they look it up by fingerprint too.
 */
export async function registerLoginKey(api: DoApi, key: LoginKey, name: string): Promise<number> {
  const known = await findLoginKey(api, key);
  if (known !== undefined) return known;
  try {
    const made = await api.call('register SSH key', (c) => c.sshKey.createSshKey({ name, public_key: key.publicKey }));
    return made.data.ssh_key.id;
  } catch (err) {
    if (!(err instanceof DoApiError) || err.status !== 422) throw asStartError(err);
    const registered = await findLoginKey(api, key);
    if (registered !== undefined) return registered;
    throw asStartError(err);
  }
}

/** The id of the key with the login key's fingerprint, or undefined when DigitalOcean has none. */
async function findLoginKey(api: DoApi, key: LoginKey): Promise<number | undefined> {
  try {
    const got = await api.call('get SSH key', (c) => c.sshKey.getSshKey({ ssh_key_id: key.md5Fingerprint }));
    return got.data.ssh_key.id;
  } catch (err) {
    if (err instanceof DoApiError && err.status === 404) return undefined;
    throw asStartError(err);
  }
}

function asStartError(err: unknown): Error {
  if (err instanceof DoApiError) {
    if (err.status === 401) return new UserError('DigitalOcean refused the token (HTTP 401): check DIGITALOCEAN_TOKEN');
    if (err.status === 403)
      return new UserError('DigitalOcean token lacks write scope (HTTP 403): create a token with read and write scope');
    return new UserError(`cannot register the worker's SSH key with DigitalOcean: ${err.message}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}
