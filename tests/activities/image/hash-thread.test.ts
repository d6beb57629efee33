/**
 * The upload's hashing thread: the digest it returns is the file's SHA-256, several files at once
 * each get their own, a file it cannot read fails with the reason, and it keeps working after.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sha256OfFile } from '../../../activities/image/hash-thread';

let dir: string | undefined;
after(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

test('the thread hashes files as node:crypto does, several at once, and reports a file it cannot read', async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'forge-hash-'));
  const bodies = [randomBytes(0), randomBytes(1), randomBytes((5 << 20) + 7), randomBytes(12 << 20)];
  const files = await Promise.all(
    bodies.map(async (b, i) => {
      const f = path.join(dir!, `f${i}`);
      await fs.writeFile(f, b);
      return f;
    }),
  );
  const got = await Promise.all(files.map((f) => sha256OfFile(f)));
  assert.deepEqual(
    got,
    bodies.map((b) => createHash('sha256').update(b).digest('hex')),
  );
  await assert.rejects(sha256OfFile(path.join(dir, 'missing')), /could not hash the file: ENOENT/);
  assert.equal(await sha256OfFile(files[1]!), createHash('sha256').update(bodies[1]!).digest('hex'));
});
