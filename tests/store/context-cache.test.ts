/**
 * The worker's context cache and the local store under concurrency: the children of a matrix build share one context
 * digest and start in the same millisecond. They must share one fetch and one extraction, and every
 * one of them must find the files (a CI run once failed one child with ENOENT mid-extraction). And
 * the index of file digests each extraction leaves beside it, which uploads check the droplet against.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { craftedTar as craftedContext } from '../support/crafted-tar';
import { contextKey, digestOf, packContext, publishContext } from '../../context/pack';
import { fetchContext } from '../../context/unpack';
import { LocalDirStore } from '../../context/store';
import { tempDirs } from '../support/temp-dirs';

const tmpDir = tempDirs();

test('eight activities fetching one context at once share one download and one extraction', async () => {
  const src = await tmpDir('ctx-src-');
  for (let i = 0; i < 200; i++) {
    await fs.mkdir(path.join(src, 'files', `d${i % 10}`), { recursive: true });
    await fs.writeFile(path.join(src, 'files', `d${i % 10}`, `f${i}.txt`), `file ${i}\n`.repeat(50));
  }
  await fs.writeFile(path.join(src, 'build.yaml'), 'name: demo\n');
  const ctx = await packContext(src, ['build.yaml', 'files']);
  const store = new LocalDirStore(await tmpDir('ctx-store-'));
  await publishContext(store, ctx);
  let gets = 0;
  const counting = Object.assign(Object.create(store) as LocalDirStore, {
    get: (key: string) => {
      gets++;
      return store.get(key);
    },
  });

  const cache = path.join(await tmpDir('ctx-cache-'), 'worker-contexts');
  const roots = (await Promise.all(Array.from({ length: 8 }, () => fetchContext(counting, ctx.digest, cache)))).map(
    (c) => c.root,
  );
  assert.deepEqual(new Set(roots), new Set([path.join(cache, ctx.digest)]));
  assert.equal(gets, 1, 'one download for all eight');
  assert.equal(await fs.readFile(path.join(roots[0]!, 'files/d3/f123.txt'), 'utf8'), 'file 123\n'.repeat(50));
  assert.deepEqual(
    (await fs.readdir(cache)).sort(),
    [ctx.digest, `${ctx.digest}.index.json`],
    'no half-extracted folder or half-written index is left beside it',
  );

  // Later calls find the finished extraction without fetching again.
  await fetchContext(counting, ctx.digest, cache);
  assert.equal(gets, 1);
});

test('the local store takes many writes of one key at once: each lands whole, none fails', async () => {
  const store = new LocalDirStore(await tmpDir('store-'));
  const bodies = Array.from({ length: 16 }, (_, i) => Buffer.from(`version ${i}\n`.repeat(1000)));
  await Promise.all(bodies.map((b) => store.put('logs/b/step.log', b)));
  const got = await store.get('logs/b/step.log');
  assert.ok(got && bodies.some((b) => b.equals(got)), 'the object is one of the writes, whole');
  assert.deepEqual(await fs.readdir(path.join(store.root, 'logs/b')), ['step.log'], 'no temp file left');
});

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

test("unpacking takes each file's SHA-256 once, as tar leaves the file; later fetches read the index, not the store", async () => {
  const bytes = await craftedContext([
    [{ name: 'build.yaml', mode: 0o644 }, 'name: demo\n'],
    [{ name: './files/', type: 'directory', mode: 0o755 }],
    [{ name: './files/a.conf', mode: 0o644 }, 'first\n'],
    [{ name: 'files/empty', mode: 0o644 }, ''],
    // A hard link has the content of its target as it was when the link was written…
    [{ name: 'files/hard', type: 'link', linkname: 'files/a.conf', mode: 0o644 }],
    // …and a name given twice ends up with the later content, on disk as in the index.
    [{ name: 'files/a.conf', mode: 0o644 }, 'second\n'],
    [{ name: 'files/soft', type: 'symlink', linkname: 'a.conf', mode: 0o777 }],
  ]);
  const digest = digestOf(bytes);
  const store = new LocalDirStore(await tmpDir('idx-store-'));
  await store.put(contextKey(digest), bytes);
  let gets = 0;
  const counting = Object.assign(Object.create(store) as LocalDirStore, {
    get: (key: string) => {
      gets++;
      return store.get(key);
    },
  });
  const cache = await tmpDir('idx-cache-');

  const first = await fetchContext(counting, digest, cache);
  const expected = {
    'build.yaml': sha('name: demo\n'),
    'files/a.conf': sha('second\n'),
    'files/empty': sha(''),
    'files/hard': sha('first\n'),
  };
  assert.deepEqual(Object.fromEntries([...first.files].sort()), expected);
  // The index says what is on disk.
  for (const [rel, digestOfFile] of Object.entries(expected))
    assert.equal(sha(await fs.readFile(path.join(first.root, rel), 'latin1')), digestOfFile, rel);
  assert.deepEqual(await fs.readdir(first.root), ['build.yaml', 'files'], 'nothing of the worker among the files');

  const again = await fetchContext(counting, digest, cache);
  assert.equal(gets, 1, 'a later fetch reads the index, not the store');
  assert.deepEqual(again.files, first.files);

  // A folder without an index is unpacked again beside it and given one. When it holds the same
  // tree (an attempt that stopped before its index), it stays as it is.
  const folder = async () => (await fs.stat(first.root)).ino;
  const kept = await folder();
  await fs.rm(path.join(cache, `${digest}.index.json`));
  const same = await fetchContext(counting, digest, cache);
  assert.equal(gets, 2);
  assert.equal(await folder(), kept, 'the same tree is kept, not swapped');
  assert.deepEqual(same.files, first.files);

  // One an earlier version left (its `.complete` among the files), here with a file changed on
  // disk since, is swapped for the fresh extraction: else every upload from it would fail.
  await fs.rm(path.join(cache, `${digest}.index.json`));
  await fs.writeFile(path.join(first.root, '.complete'), digest);
  await fs.writeFile(path.join(first.root, 'files/a.conf'), 'tampered\n');
  const healed = await fetchContext(counting, digest, cache);
  assert.equal(gets, 3);
  assert.equal(healed.root, first.root);
  assert.deepEqual(Object.fromEntries([...healed.files].sort()), expected);
  assert.notEqual(await folder(), kept, 'swapped');
  assert.equal(await fs.readFile(path.join(healed.root, 'files/a.conf'), 'utf8'), 'second\n');
  assert.deepEqual(await fs.readdir(healed.root), ['build.yaml', 'files'], 'the old marker is gone');
  assert.deepEqual((await fs.readdir(cache)).sort(), [digest, `${digest}.index.json`], 'nothing set aside is left');

  // An index that is not whole, or names another context, is not trusted.
  await fs.writeFile(path.join(cache, `${digest}.index.json`), '{"context": "sha256-');
  assert.deepEqual((await fetchContext(counting, digest, cache)).files, healed.files);
  assert.equal(gets, 4);
});

test('a digest that is not one is refused before any path is made of it', async () => {
  const cache = await tmpDir('ctx-cache-');
  const store = new LocalDirStore(await tmpDir('ctx-store-'));
  // A file that a path made of the hostile digest would reach.
  await fs.writeFile(path.join(cache, 'x.index.json'), '{}');
  for (const bad of ['../x', 'sha256-' + '0'.repeat(63), 'sha256-' + 'A'.repeat(64), `sha256-${'0'.repeat(64)}/../x`])
    await assert.rejects(fetchContext(store, bad, path.join(cache, 'sub')), /is not a build context digest/, bad);
  assert.deepEqual(await fs.readdir(cache), ['x.index.json'], 'nothing made, nothing touched');
});
