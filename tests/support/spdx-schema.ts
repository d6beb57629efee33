/**
 * Validates SPDX 2.3 JSON documents against the SPDX project's official schema (draft-07), which
 * scripts/ensure-spdx-schema.sh fetches into a cache (it is not part of the repository).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const REPO = path.resolve(__dirname, '..', '..', '..');

/** Returns null for a valid document, else its errors as "<path> <message>" lines. */
export type SpdxValidator = (doc: unknown) => string[] | null;

export function spdxValidator(): SpdxValidator {
  const schemaPath = execFileSync('bash', [path.join(REPO, 'scripts/ensure-spdx-schema.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as object;
  const ajv = new Ajv({ allErrors: true });
  addFormats(ajv);
  const validate = ajv.compile(schema);
  return (doc) =>
    validate(doc) ? null : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}
