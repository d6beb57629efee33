/**
 * A lab droplet made the way provision makes a build droplet — its host key derived from the
 * login key and a build id — and the worker's SSH sessions (DropletShells) that reach it, pinned.
 * For tests that run a step's remote code directly against a real droplet.
 */
import { randomBytes } from 'node:crypto';
import { DropletShells } from '../../activities/remote/droplet-shells';
import { cloudConfig } from '../../activities/image/cloud-config';
import { deriveHostKey, ed25519FromSeed, hostKeySecretFrom } from '../../platform/host-key';
import type { DropletRef } from '../../contract/steps';
import { dropletFromImage, type TestDroplet } from './droplet';
import type { TestLab } from './lab-api';

export async function pinnedDroplet(
  lab: TestLab,
  buildId: string,
): Promise<{ droplet: TestDroplet; ref: DropletRef; shells: DropletShells }> {
  const login = ed25519FromSeed(randomBytes(32));
  const secret = hostKeySecretFrom(Buffer.from(login.privateOpenSsh));
  const droplet = await dropletFromImage(lab.server.endpoint, lab.token, 'debian-12-x64', 's-1vcpu-1gb', {
    key: login,
    userData: cloudConfig(deriveHostKey(secret, buildId)),
  });
  // The droplet's pinned host key is in place once cloud-init is done.
  await droplet.run('cloud-init status --wait >/dev/null');
  const ref = { buildId, dropletId: droplet.id, ipv4: droplet.ip };
  return { droplet, ref, shells: new DropletShells(Buffer.from(login.privateOpenSsh), secret) };
}
