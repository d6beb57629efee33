/**
 * The S3 store against a real S3-compatible server (Versity S3 Gateway on 127.0.0.1): round
 * trips, upload-once contexts, verified fetches, corruption, step logs in parts, and the clear
 * messages for a missing bucket, a rejected key and an unreachable endpoint.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { contextKey, packContext, publishContext } from '../../context/pack';
import { S3Store, StoreConfigError, StoreError } from '../../context/s3-store';
import type { S3StoreConfig } from '../../context/s3-store';
import { checkStore, storeFromEnv } from '../../context/store-config';
import { LocalDirStore } from '../../context/store';
import { ContextError, fetchContext } from '../../context/unpack';
import { freePort, startS3Server } from '../support/s3-server';
import type { S3Server } from '../support/s3-server';

let server: S3Server;
const tmpDirs: string[] = [];
const stores: S3Store[] = [];

before(async () => {
  server = await startS3Server();
});

after(async () => {
  for (const s of stores) s.destroy();
  await server?.stop();
  for (const d of tmpDirs) await fs.rm(d, { recursive: true, force: true });
});

async function tmpDir(prefix: string): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}

function store(config: Partial<S3StoreConfig> = {}, env: Record<string, string> = server.env): S3Store {
  const s = new S3Store({ endpoint: server.endpoint, bucket: server.bucket, ...config }, env);
  stores.push(s);
  return s;
}

/** Counts PutObject requests sent by this store's client. */
function countPuts(s: S3Store): { puts: number } {
  const counter = { puts: 0 };
  s.client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'PutObjectCommand') counter.puts++;
      return next(args);
    },
    { step: 'initialize', name: 'countPuts' },
  );
  return counter;
}

async function rejectsWith<E extends Error>(
  p: Promise<unknown>,
  cls: new (...a: never[]) => E,
  re: RegExp,
): Promise<E> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(
    caught instanceof cls,
    `expected a ${cls.name}, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`,
  );
  assert.match(caught.message, re);
  return caught;
}

test('put, has and get round trip (under a prefix)', async () => {
  const s = store({ prefix: '/forge/' });
  assert.equal(s.description, `S3 bucket ${server.bucket} (prefix forge/) at ${server.endpoint}`);
  assert.equal(await s.has('a/b.bin'), false);
  assert.equal(await s.get('a/b.bin'), undefined);
  const data = Buffer.from([0, 1, 2, 255, 254, ...Buffer.from('hello')]);
  await s.put('a/b.bin', data);
  assert.equal(await s.has('a/b.bin'), true);
  assert.deepEqual(await s.get('a/b.bin'), data);
  // It is an ordinary object under the prefix.
  assert.deepEqual(await fs.readFile(path.join(server.root, server.bucket, 'forge/a/b.bin')), data);
  await s.put('a/b.bin', Buffer.from('replaced'));
  assert.equal((await s.get('a/b.bin'))?.toString(), 'replaced');
  // An empty object is an object.
  await s.put('empty', Buffer.alloc(0));
  assert.equal(await s.has('empty'), true);
  assert.deepEqual(await s.get('empty'), Buffer.alloc(0));
  await assert.rejects(s.has('../x'), /bad store key/);
  await assert.rejects(s.put('x.log.part-0000000001', Buffer.from('x')), /reserved/);
});

test('a context is uploaded once, then fetched by digest, verified and extracted', async () => {
  const src = await tmpDir('ctx-src-');
  await fs.mkdir(path.join(src, 'files/etc'), { recursive: true });
  await fs.writeFile(path.join(src, 'build.yaml'), 'name: demo\n');
  await fs.writeFile(path.join(src, 'files/etc/motd'), 'welcome\n');
  await fs.writeFile(path.join(src, 'files/setup.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  const ctx = await packContext(src, ['build.yaml', 'files']);

  const s = store();
  const counter = countPuts(s);
  await publishContext(s, ctx);
  assert.equal(counter.puts, 1);
  const key = contextKey(ctx.digest);
  const head1 = await s.client.send(new HeadObjectCommand({ Bucket: server.bucket, Key: key }));

  // A second publish (same client, and another client as another machine would) uploads nothing.
  await publishContext(s, ctx);
  const other = store();
  const otherCounter = countPuts(other);
  await publishContext(other, ctx);
  assert.equal(counter.puts, 1);
  assert.equal(otherCounter.puts, 0);
  const head2 = await s.client.send(new HeadObjectCommand({ Bucket: server.bucket, Key: key }));
  assert.equal(head2.ETag, head1.ETag);
  assert.equal(head2.LastModified?.getTime(), head1.LastModified?.getTime());

  const cache = await tmpDir('ctx-cache-');
  const unpacked = await fetchContext(other, ctx.digest, cache);
  const dir = unpacked.root;
  assert.equal(dir, path.join(cache, ctx.digest));
  assert.equal(await fs.readFile(path.join(dir, 'build.yaml'), 'utf8'), 'name: demo\n');
  assert.equal(await fs.readFile(path.join(dir, 'files/etc/motd'), 'utf8'), 'welcome\n');
  assert.equal((await fs.stat(path.join(dir, 'files/setup.sh'))).mode & 0o777, 0o755);
});

test('a corrupted context in the bucket is refused by its digest', async () => {
  const src = await tmpDir('ctx-src-');
  await fs.writeFile(path.join(src, 'build.yaml'), 'name: corrupt-me\n');
  const ctx = await packContext(src, ['build.yaml']);
  const s = store({ prefix: 'corrupt' });
  await publishContext(s, ctx);
  // Change bytes behind the server's back, in its posix directory (same length, one bit).
  const file = path.join(server.root, server.bucket, 'corrupt', contextKey(ctx.digest));
  const bytes = await fs.readFile(file);
  bytes[512] = bytes[512]! ^ 0x20; // first byte of build.yaml's content
  await fs.writeFile(file, bytes);

  const cache = await tmpDir('ctx-cache-');
  const err = await rejectsWith(
    fetchContext(s, ctx.digest, cache),
    ContextError,
    /is corrupted \(its content hashes to sha256-[0-9a-f]{64}\)/,
  );
  assert.match(
    err.message,
    new RegExp(
      `build context ${ctx.digest} in the S3 bucket ${server.bucket} \\(prefix corrupt/\\) at ${server.endpoint}`,
    ),
  );
  // Nothing half-extracted is left to be trusted later.
  assert.deepEqual(await fs.readdir(cache), []);

  // A context that is not there at all says so.
  const missing = `sha256-${'0'.repeat(64)}`;
  await rejectsWith(fetchContext(s, missing, cache), ContextError, /is not in the S3 bucket/);
});

test('the server verifies uploads (Content-MD5): bytes changed on the way are refused', async () => {
  const s = store({ prefix: 'digest' });
  // Change the body after the checksum header was computed, before signing.
  s.client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { body?: unknown };
      if (req.body instanceof Uint8Array && req.body.length > 0) {
        const changed = Buffer.from(req.body);
        changed[0] = changed[0]! ^ 1;
        req.body = changed;
      }
      return next(args);
    },
    { step: 'build', name: 'corruptBody' },
  );
  await rejectsWith(
    s.put('upload.bin', Buffer.from('some bytes')),
    StoreError,
    /do not match their checksum \(BadDigest\)/,
  );
  assert.equal(await store({ prefix: 'digest' }).has('upload.bin'), false);
});

test('step logs: append writes numbered parts, get concatenates them in order', async () => {
  const s = store({ prefix: 'logs-test' });
  const key = 'logs/build-1/install.log';
  assert.equal(await s.has(key), false);
  await s.append(key, Buffer.from('line 1\n'));
  assert.equal(await s.has(key), true);
  await s.append(key, Buffer.from('line 2\n'));
  assert.equal((await s.get(key))?.toString(), 'line 1\nline 2\n');

  // Many appends at once from one process keep their order.
  await Promise.all(Array.from({ length: 15 }, (_, i) => s.append(key, Buffer.from(`burst ${i}\n`))));
  const burst = Array.from({ length: 15 }, (_, i) => `burst ${i}\n`).join('');
  assert.equal((await s.get(key))?.toString(), `line 1\nline 2\n${burst}`);

  // Another worker (a retry elsewhere) continues after the last part ...
  const other = store({ prefix: 'logs-test' });
  await other.append(key, Buffer.from('other worker\n'));
  // ... and the first one, whose next number is now taken, does not overwrite it.
  await s.append(key, Buffer.from('first again\n'));
  const all = `line 1\nline 2\n${burst}other worker\nfirst again\n`;
  assert.equal((await s.get(key))?.toString(), all);
  assert.equal((await other.get(key))?.toString(), all);

  const listed = await s.client.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: 'logs-test/' }));
  const names = (listed.Contents ?? []).map((o) => o.Key);
  assert.equal(names.length, 19);
  assert.equal(names[0], `logs-test/${key}.part-0000000000`);
  assert.equal(names[18], `logs-test/${key}.part-0000000018`);

  // put replaces the whole log (parts included); append then adds to it.
  await s.put(key, Buffer.from('fresh\n'));
  assert.equal((await s.get(key))?.toString(), 'fresh\n');
  await s.append(key, Buffer.from('more\n'));
  assert.equal((await other.get(key))?.toString(), 'fresh\nmore\n');
});

test('a missing bucket gives one clear, permanent error', async () => {
  const s = store({ bucket: 'no-such-bucket' });
  const expected = `bucket no-such-bucket does not exist at ${server.endpoint}: create it or fix IMAGE_FORGE_S3_BUCKET`;
  for (const op of [
    () => checkStore(s),
    () => s.put('k', Buffer.from('x')),
    () => s.get('k'),
    () => s.has('k'),
    () => s.append('k.log', Buffer.from('x')),
  ]) {
    const err = await rejectsWith(op(), StoreConfigError, /does not exist/);
    assert.equal(err.message, expected);
    assert.equal(err.permanent, true);
    assert.equal(err.name, 'StoreConfigError');
  }
});

test('wrong credentials give one clear, permanent error naming the variables, without secrets', async () => {
  const wrongSecret = 'not-the-secret-0123456789';
  const s = store({}, { AWS_ACCESS_KEY_ID: server.accessKey, AWS_SECRET_ACCESS_KEY: wrongSecret });
  for (const op of [() => checkStore(s), () => s.put('k', Buffer.from('x')), () => s.get('k'), () => s.has('k')]) {
    const err = await rejectsWith(
      op(),
      StoreConfigError,
      /rejected the access key for bucket .* check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
    );
    assert.equal(err.permanent, true);
    assert.ok(!err.message.includes(wrongSecret) && !err.message.includes(server.accessKey), err.message);
  }
  // An access key the server does not know, given with the Spaces names.
  const unknown = store({}, { SPACES_KEY: 'UNKNOWNKEY123', SPACES_SECRET: server.secretKey });
  for (const op of [
    () => checkStore(unknown),
    () => unknown.put('k', Buffer.from('x')),
    () => unknown.get('k'),
    () => unknown.has('k'),
  ]) {
    const err = await rejectsWith(
      op(),
      StoreConfigError,
      /rejected the access key .* check SPACES_KEY and SPACES_SECRET/,
    );
    assert.ok(!err.message.includes(server.secretKey) && !err.message.includes('UNKNOWNKEY123'), err.message);
  }
});

test('an unreachable endpoint gives a clear (retryable) error', async () => {
  const port = await freePort(); // nothing listens there
  const s = store({ endpoint: `http://127.0.0.1:${port}`, maxAttempts: 1 });
  for (const op of [() => checkStore(s), () => s.put('k', Buffer.from('x')), () => s.get('k'), () => s.has('k')]) {
    const err = await rejectsWith(
      op(),
      StoreError,
      new RegExp(
        `cannot reach the S3 endpoint http://127.0.0.1:${port} \\(ECONNREFUSED\\).*check IMAGE_FORGE_S3_ENDPOINT`,
      ),
    );
    assert.equal(err.permanent, false);
    assert.ok(!(err instanceof StoreConfigError));
  }
  assert.throws(
    () => new S3Store({ endpoint: 'nyc3.digitaloceanspaces.com', bucket: 'b' }, server.env),
    StoreConfigError,
  );
});

test('storeFromEnv picks S3 when IMAGE_FORGE_S3_BUCKET is set, else the local folder', async () => {
  const s3 = storeFromEnv({ ...server.env, IMAGE_FORGE_S3_PREFIX: 'from-env' });
  assert.ok(s3 instanceof S3Store);
  stores.push(s3);
  assert.equal(s3.description, `S3 bucket ${server.bucket} (prefix from-env/) at ${server.endpoint}`);
  await checkStore(s3);
  await s3.put('x', Buffer.from('via env'));
  assert.equal(await fs.readFile(path.join(server.root, server.bucket, 'from-env/x'), 'utf8'), 'via env');

  // Spaces' variable names work too.
  const spaces = storeFromEnv({
    IMAGE_FORGE_S3_BUCKET: server.bucket,
    IMAGE_FORGE_S3_ENDPOINT: server.endpoint,
    IMAGE_FORGE_S3_PREFIX: 'from-env',
    SPACES_KEY: server.accessKey,
    SPACES_SECRET: server.secretKey,
  });
  assert.ok(spaces instanceof S3Store);
  stores.push(spaces);
  assert.equal((await spaces.get('x'))?.toString(), 'via env');

  assert.throws(
    () => storeFromEnv({ IMAGE_FORGE_S3_BUCKET: 'b', IMAGE_FORGE_S3_ENDPOINT: server.endpoint }),
    (e: unknown) => {
      assert.ok(e instanceof StoreConfigError);
      assert.match(
        e.message,
        /no credentials for S3 storage: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \(or SPACES_KEY and SPACES_SECRET\)/,
      );
      return true;
    },
  );
  assert.throws(
    () => storeFromEnv({ IMAGE_FORGE_S3_BUCKET: 'b', AWS_ACCESS_KEY_ID: 'k' }),
    /AWS_SECRET_ACCESS_KEY is not set \(but AWS_ACCESS_KEY_ID is\)/,
  );

  const dir = await tmpDir('local-store-');
  const local = storeFromEnv({ IMAGE_FORGE_STORE_DIR: path.join(dir, 'store') });
  assert.ok(local instanceof LocalDirStore);
  assert.equal(local.root, path.join(dir, 'store'));
  await checkStore(local);
  assert.ok((await fs.stat(path.join(dir, 'store'))).isDirectory());
  const cached = storeFromEnv({ IMAGE_FORGE_CACHE: dir });
  assert.ok(cached instanceof LocalDirStore);
  assert.equal(cached.root, path.join(dir, 'store'));
});
