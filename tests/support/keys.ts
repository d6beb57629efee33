/** Test login keys in the shape the worker uses. */
import { createHash } from 'node:crypto';
import type { LoginKey } from '../../activities/runtime/deps';

export function readLoginKeyFromText(privateOpenSsh: string, publicOpenSsh: string): LoginKey {
  const blob = Buffer.from(publicOpenSsh.split(/\s+/)[1] ?? '', 'base64');
  return {
    privateKey: Buffer.from(privateOpenSsh),
    publicKey: publicOpenSsh,
    md5Fingerprint: createHash('md5')
      .update(blob)
      .digest('hex')
      .replace(/(..)(?!$)/g, '$1:'),
  };
}
