/**
 * A fresh ed25519 key pair in OpenSSH's own formats, made with Node's crypto.
 *
 * Why not ssh2's `utils.generateKeyPairSync('ed25519')`: it strips every leading zero byte of
 * the public key (meaning to strip the BIT STRING's unused-bits byte), so about one key in 256
 * comes out 31 bytes long and no parser, ssh2's own included, reads it back ("Malformed OpenSSH
 * private key"). That was the suite's one-in-a-while `errors never carry key material` failure.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';

export interface SshKeyPair {
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` text, unencrypted. */
  private: string;
  /** `ssh-ed25519 AAAA… comment`, as an authorized_keys line. */
  public: string;
}

/** An SSH wire-format string: uint32 length, then the bytes. */
function sshString(bytes: Buffer | string): Buffer {
  const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** Builds the key pair from Node's JWK export, whose `x` and `d` are always the full 32 bytes. */
export function generateEd25519KeyPair(comment = ''): SshKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
  if (pub.length !== 32 || seed.length !== 32) throw new Error('Node returned an ed25519 key of the wrong size');

  const publicBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4);
  let secret = Buffer.concat([
    check,
    check,
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  // Padded to the cipher's block size (8 for "none") with 1, 2, 3, … as OpenSSH does.
  const pad = (8 - (secret.length % 8)) % 8;
  secret = Buffer.concat([secret, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);

  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(publicBlob),
    sshString(secret),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return {
    private: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`,
    public: `ssh-ed25519 ${publicBlob.toString('base64')}${comment ? ` ${comment}` : ''}`,
  };
}
