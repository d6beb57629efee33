/**
 * The project's image validator: the rules of DigitalOcean's Marketplace image check
 * (marketplace-image-rules.md), in check.sh beside this file, run as root on a droplet.
 * Each check prints one line "PASS|WARN|FAIL: <rule>: <detail>". LOGIN_KEY ("TYPE BLOB", see
 * keyFields) names the key the check logged in with, the only one that does not count against
 * authorized_keys: the builder's at validate (the seal removes it next), verify's one-time key on
 * a droplet made from the image.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { KEY_FIELDS_SH } from './key-fields';

/** Read from the source tree (dist/activities/image → activities/image/check.sh), after the key readers it uses. */
export const IMAGE_CHECK_SCRIPT = `${KEY_FIELDS_SH}\n${readFileSync(
  path.resolve(__dirname, '..', '..', '..', 'activities', 'image', 'check.sh'),
  'utf8',
)}`;

export interface ImageCheckReport {
  passed: number;
  warnings: string[];
  failures: string[];
}

export function parseImageCheck(output: string): ImageCheckReport {
  const r: ImageCheckReport = { passed: 0, warnings: [], failures: [] };
  for (const line of output.split('\n')) {
    const m = /^(PASS|WARN|FAIL): (.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === 'PASS') r.passed++;
    else if (m[1] === 'WARN') r.warnings.push(m[2]!);
    else r.failures.push(m[2]!);
  }
  return r;
}
