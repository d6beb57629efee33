/**
 * The upload step on a real lab droplet: a tree and a file land as read, twice over (idempotent),
 * and a byte changed on the way — which tar extracts without complaint — fails the step: the
 * droplet's hash of each file where it landed must match the file's digest in the context the client
 * sent (indexed when the worker unpacked it). So a file changed on the worker's disk fails it too.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { upload } from '../../activities/upload';
import type { DropletShells } from '../../activities/remote/droplet-shells';
import { packContext, publishContext } from '../../context/pack';
import type { ActivityDeps } from '../../activities/runtime/deps';
import type { DropletRef } from '../../contract/steps';
import type { TestDroplet } from '../support/droplet';
import { pinnedDroplet } from '../support/pinned-droplet';
import { startTestLab, type TestLab } from '../support/lab-api';
import { labActivityDeps } from '../support/lab-deps';

let lab: TestLab;
let droplet: TestDroplet;
let ref: DropletRef;
let shells: DropletShells;
let deps: ActivityDeps;
let digest: string;
const big = randomBytes(3 << 20);
/** Over the 4 MiB read whole: streamed, and hashed on the worker's hashing thread; an odd size. */
const huge = randomBytes((9 << 20) + 123);
/** Set by a test: the stream offset (after the file list) whose byte is flipped on the way. */
let flipAt: number | undefined;
/** Set by a test: the size of each chunk written into the SSH channel. */
let chunkSizes: number[] | undefined;

before(async () => {
  lab = await startTestLab('upload-verify');
  ({ droplet, ref, shells } = await pinnedDroplet(lab, `upload-verify-${process.pid}`));
  const run = shells.run.bind(shells);
  shells.run = (r, command, opts = {}) =>
    run(
      r,
      command,
      flipAt !== undefined && opts.stdin
        ? { ...opts, stdin: flip(opts.stdin as Readable, flipAt) }
        : chunkSizes && opts.stdin
          ? { ...opts, stdin: measured(opts.stdin as Readable, chunkSizes) }
          : opts,
    );

  const ctxDir = join(lab.work, 'ctx');
  await mkdir(join(ctxDir, 'tree/sub'), { recursive: true });
  await writeFile(join(ctxDir, 'tree/-dash.txt'), 'a name that looks like an option\n');
  await writeFile(join(ctxDir, 'tree/sub/it has spaces.txt'), 'spaces\n');
  await writeFile(join(ctxDir, 'big.bin'), big);
  await writeFile(join(ctxDir, 'huge.bin'), huge);
  await mkdir(join(ctxDir, 'many'), { recursive: true });
  for (let i = 0; i < 2000; i++) await writeFile(join(ctxDir, 'many', `f${i}.txt`), `small file ${i}\n`);
  await mkdir(join(lab.work, 'w'), { recursive: true });
  ({ deps } = labActivityDeps(lab.server, lab.token, join(lab.work, 'w')));
  deps.shells = shells;
  const ctx = await packContext(ctxDir, ['tree/', 'big.bin', 'huge.bin', 'many/']);
  await publishContext(deps.store, ctx);
  digest = ctx.digest;
});

after(async () => {
  shells?.closeAll();
  await droplet?.destroy();
  await lab?.dispose();
});

/** Flips one byte of the stream at `at` bytes after the preamble (the file list before the tar). */
function flip(stdin: Readable, at: number): Readable {
  let seen = 0;
  let preamble: number | undefined;
  let head = '';
  return stdin.pipe(
    new Transform({
      transform(chunk: Buffer, _enc, done) {
        if (preamble === undefined) {
          head += chunk.toString('latin1');
          const nl = head.indexOf('\n');
          if (nl >= 0) preamble = nl + 1 + Number(head.slice(0, nl));
        }
        const i = preamble === undefined ? -1 : preamble + at - seen;
        if (i >= 0 && i < chunk.length) {
          chunk = Buffer.from(chunk);
          chunk[i]! ^= 0xff;
        }
        seen += chunk.length;
        done(null, chunk);
      },
    }),
  );
}

/** Passes the stream on unchanged, noting the size of each chunk. */
function measured(stdin: Readable, sizes: number[]): Readable {
  return stdin.pipe(
    new Transform({
      transform(chunk: Buffer, _enc, done) {
        sizes.push(chunk.length);
        done(null, chunk);
      },
    }),
  );
}

const step = (src: string, dest: string) =>
  upload(deps)({ droplet: ref, step: 'upload', contextDigest: digest, upload: { kind: 'upload', src, dest } });

test('a tree and a big file land as read, and again when run twice', async () => {
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(await step('tree/', '/opt/up/tree/'), { files: 2, bytes: 40, verified: 2 });
    assert.equal((await step('big.bin', '/opt/up/big.bin')).verified, 1);
    assert.deepEqual(await step('huge.bin', '/opt/up/'), { files: 1, bytes: huge.length, verified: 1 });
  }
  const sum = createHash('sha256').update(big).digest('hex');
  assert.match((await droplet.run('sha256sum /opt/up/big.bin')).out, new RegExp(`^${sum} `));
  const hugeSum = createHash('sha256').update(huge).digest('hex');
  assert.match((await droplet.run('sha256sum /opt/up/huge.bin')).out, new RegExp(`^${hugeSum} `));
  assert.equal((await droplet.run("cat '/opt/up/tree/-dash.txt'")).out, 'a name that looks like an option\n');
});

test('a byte changed on the way fails the step, though tar extracted the file', async () => {
  // 512 bytes of tar header, then the file's bytes: the change lands in the content.
  flipAt = 512 + 100_000;
  try {
    await assert.rejects(step('big.bin', '/opt/bad/big.bin'), /did not land as sent/);
  } finally {
    flipAt = undefined;
  }
  // tar did write the changed file: only the check caught it.
  assert.equal((await droplet.run('test -f /opt/bad/big.bin && echo yes')).out.trim(), 'yes');
  // The same for a file hashed on the worker's thread, the change near its end.
  flipAt = 512 + huge.length - 50;
  try {
    await assert.rejects(step('huge.bin', '/opt/bad/'), /did not land as sent/);
  } finally {
    flipAt = undefined;
  }
});

test('a tree of 2,000 small files enters the SSH channel as a few large writes, not thousands of tiny ones', async () => {
  chunkSizes = [];
  try {
    assert.equal((await step('many/', '/opt/many/')).verified, 2000);
  } finally {
    // One write per tar block would be ~6,000 writes of 512 bytes: each an SSH packet of its own.
    const sizes = chunkSizes;
    chunkSizes = undefined;
    assert.ok(sizes.length < 50, `${sizes.length} writes into the channel`);
  }
  assert.equal((await droplet.run('ls /opt/many | wc -l')).out.trim(), '2000');
});

test("a file changed on the worker's disk after unpacking fails the step: the droplet is checked against what the client sent", async () => {
  assert.equal((await step('big.bin', '/opt/disk/big.bin')).verified, 1);
  // The worker's cached copy, changed in place (same size): what the worker reads is no longer the context.
  const cached = join(deps.contextCacheDir, digest, 'big.bin');
  const original = await readFile(cached);
  const changed = Buffer.from(original);
  changed[1000]! ^= 0xff;
  await writeFile(cached, changed);
  try {
    await assert.rejects(step('big.bin', '/opt/disk/big.bin'), /did not land as sent/);
    // The same for a file streamed in 4 MiB chunks, and for one file of a tree.
    const hugeCached = join(deps.contextCacheDir, digest, 'huge.bin');
    const hugeOriginal = await readFile(hugeCached);
    const hugeChanged = Buffer.from(hugeOriginal);
    hugeChanged[5 << 20]! ^= 0xff;
    await writeFile(hugeCached, hugeChanged);
    try {
      await assert.rejects(step('huge.bin', '/opt/disk/'), /did not land as sent/);
    } finally {
      await writeFile(hugeCached, hugeOriginal);
    }
    const small = join(deps.contextCacheDir, digest, 'tree/sub/it has spaces.txt');
    await writeFile(small, 'spaceS\n');
    try {
      await assert.rejects(step('tree/', '/opt/disk/tree/'), /did not land as sent/);
    } finally {
      await writeFile(small, 'spaces\n');
    }
  } finally {
    await writeFile(cached, original);
  }
  assert.equal((await step('big.bin', '/opt/disk/big.bin')).verified, 1, 'restored, it uploads again');
});
