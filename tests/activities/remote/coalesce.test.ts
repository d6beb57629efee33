/** Small chunks leave as large ones, every byte in order (the upload's guard against a flood of tiny SSH packets). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { coalesce } from '../../../activities/remote/coalesce';

test('6,000 chunks of 512 bytes leave as 11 chunks of 256 KiB and a rest, unchanged', async () => {
  const input = Array.from({ length: 6000 }, () => randomBytes(512));
  const out: Buffer[] = [];
  for await (const c of Readable.from(input).pipe(coalesce(256 << 10))) out.push(c as Buffer);
  assert.deepEqual(
    out.map((c) => c.length),
    [...Array<number>(11).fill(256 << 10), 6000 * 512 - 11 * (256 << 10)],
  );
  assert.ok(Buffer.concat(out).equals(Buffer.concat(input)));
});
