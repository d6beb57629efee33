/**
 * The build droplet's SSH host key, handed to it through cloud-init so the first connection is
 * already verified (no trust on first use). It is derived from the worker's secret and the build
 * id, so any worker of the fleet — and a retried provision — derives the same key, and no private
 * key ever enters workflow history.
 */
import { createHash, createHmac, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { sha256Fingerprint } from './ssh';

export interface HostKey {
  /** OpenSSH private key file (for cloud-init's ssh_keys.ed25519_private). Secret. */
  privateOpenSsh: string;
  /** "ssh-ed25519 AAAA…" */
  publicOpenSsh: string;
  /** "SHA256:…" as OpenSSH prints it; public. */
  fingerprint: string;
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function deriveHostKey(secret: Buffer, buildId: string): HostKey {
  return ed25519FromSeed(createHmac('sha256', secret).update(`image-forge host key\0${buildId}`).digest());
}

/** An ed25519 key pair in OpenSSH formats from a 32-byte seed (the comment goes in the private key). */
export function ed25519FromSeed(seed: Buffer, comment = 'image-forge build droplet'): HostKey {
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  const pub = spki.subarray(spki.length - 32);
  const publicBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  return {
    privateOpenSsh: openSshPrivateKey(seed, pub, publicBlob, comment),
    publicOpenSsh: `ssh-ed25519 ${publicBlob.toString('base64')}`,
    fingerprint: sha256Fingerprint(publicBlob),
  };
}

/**
 * A fresh key pair (a login key for a one-off droplet, a test's key). Not ssh2's
 * `utils.generateKeyPairSync('ed25519')`: it strips every leading zero byte of the public key, so
 * one key in 256 comes out 31 bytes long and no parser reads it back ("Malformed OpenSSH private
 * key") — the suite's now-and-then `errors never carry key material` failure. The public key here
 * is always the SPKI's last 32 bytes.
 */
export function randomEd25519(comment?: string): HostKey {
  return ed25519FromSeed(randomBytes(32), comment);
}

/** A secret for deriving host keys, from the worker's own login key. */
export function hostKeySecretFrom(loginPrivateKey: Buffer): Buffer {
  return createHash('sha256').update('image-forge host-key secret\0').update(loginPrivateKey).digest();
}

function sshString(data: string | Buffer): Buffer {
  const b = typeof data === 'string' ? Buffer.from(data) : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** The "openssh-key-v1" format, unencrypted (PROTOCOL.key in OpenSSH). */
function openSshPrivateKey(seed: Buffer, pub: Buffer, publicBlob: Buffer, comment: string): string {
  const check = createHash('sha256').update(seed).digest().subarray(0, 4);
  let priv = Buffer.concat([
    check,
    check,
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    Buffer.from([0, 0, 0, 1]),
    sshString(publicBlob),
    sshString(priv),
  ]);
  const b64 = body.toString('base64').replace(/.{70}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`;
}
