/**
 * The worker's context cache and the local store under concurrency: the children of a matrix build share one context
 * digest and start in the same millisecond. They must share one fetch and one extraction, and every
 * one of them must find the files (a CI run once failed one child with ENOENT mid-extraction).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packContext, publishContext } from '../../context/pack';
import { fetchContext } from '../../context/unpack';
import { LocalDirStore } from '../../context/store';

const dirs: string[] = [];
async function tmpDir(prefix: string): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), `forge-${prefix}`));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

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
  const roots = await Promise.all(Array.from({ length: 8 }, () => fetchContext(counting, ctx.digest, cache)));
  assert.deepEqual(new Set(roots), new Set([path.join(cache, ctx.digest)]));
  assert.equal(gets, 1, 'one download for all eight');
  assert.equal(await fs.readFile(path.join(roots[0]!, 'files/d3/f123.txt'), 'utf8'), 'file 123\n'.repeat(50));
  assert.deepEqual(await fs.readdir(cache), [ctx.digest], 'no half-extracted folder is left beside it');

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
