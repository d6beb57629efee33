/** Small chunks leave as large ones, every byte in order (the upload's guard against a flood of tiny SSH packets). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { coalesce } from '../../../activities/remote/coalesce';

/** The chunks as the SSH channel gets them: piped, one 'data' event each. */
async function chunksOut(input: Buffer[]): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const co = Readable.from(input).pipe(coalesce(256 << 10));
  co.on('data', (c: Buffer) => out.push(c));
  await new Promise((resolve, reject) => co.on('end', resolve).on('error', reject));
  return out;
}

test('6,000 chunks of 512 bytes leave as 11 chunks of 256 KiB and a rest, unchanged', async () => {
  const input = Array.from({ length: 6000 }, () => randomBytes(512));
  const out = await chunksOut(input);
  assert.deepEqual(
    out.map((c) => c.length),
    [...Array<number>(11).fill(256 << 10), 6000 * 512 - 11 * (256 << 10)],
  );
  assert.ok(Buffer.concat(out).equals(Buffer.concat(input)));
});

test('a large chunk passes as the same buffer, not a copy; small ones before it leave first, in order', async () => {
  const small = [randomBytes(100), randomBytes(412)];
  const big = randomBytes(4 << 20);
  const tail = randomBytes(7);
  const out = await chunksOut([...small, big, tail]);
  assert.deepEqual(
    out.map((c) => c.length),
    [512, 4 << 20, 7],
  );
  assert.equal(out[1], big, 'the 4 MiB read itself, not a copy of it');
  assert.ok(Buffer.concat(out).equals(Buffer.concat([...small, big, tail])));
});
