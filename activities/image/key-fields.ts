/**
 * Keys compared by their fields (type and base64 blob), never by substring: key-fields.sh beside
 * this file holds the shell functions that read authorized_keys lines so, for the scripts that
 * run on a droplet (the image check, the seal).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** Read from the source tree (dist/activities/image → activities/image/key-fields.sh). */
export const KEY_FIELDS_SH = readFileSync(
  path.resolve(__dirname, '..', '..', '..', 'activities', 'image', 'key-fields.sh'),
  'utf8',
);

/** "TYPE BLOB" of an OpenSSH public key line (its comment dropped): what key-fields.sh compares. */
export function keyFields(publicKeyLine: string): string {
  const [type, blob] = publicKeyLine.trim().split(/\s+/);
  if (!type || !blob) throw new Error('the public key has no type and base64 fields: give an OpenSSH public key line');
  return `${type} ${blob}`;
}
