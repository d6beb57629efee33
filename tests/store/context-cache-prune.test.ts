/**
 * The worker's context cache stays within its budget: after a new unpack, the least recently used
 * contexts go until the rest fit, contexts unused for two weeks go, and so do leftovers of attempts
 * cut short; the one just unpacked always stays, and a context used again counts as recent.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packContext, publishContext } from '../../context/pack';
import { fetchContext, CONTEXT_LIMITS } from '../../context/unpack';
import { LocalDirStore } from '../../context/store';
import { DEFAULT_CACHE_POLICY } from '../../context/cache-prune';
import { workerSettingsFrom } from '../../worker/config';
import { UserError } from '../../contract/user-error';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});
async function tmpDir(prefix: string): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), `forge-${prefix}`));
  dirs.push(d);
  return d;
}

const HOUR = 3_600_000;
const KB = 1024;

/** Three contexts of 100 KiB each, in a store that counts its reads. */
async function setup() {
  const store = new LocalDirStore(await tmpDir('prune-store-'));
  let gets = 0;
  const counting = Object.assign(Object.create(store) as LocalDirStore, {
    get: (key: string) => {
      gets++;
      return store.get(key);
    },
  });
  const digests: string[] = [];
  for (const name of ['a', 'b', 'c']) {
    const src = await tmpDir(`prune-src-${name}-`);
    await fs.writeFile(path.join(src, 'payload.bin'), randomBytes(100 * KB));
    const ctx = await packContext(src, ['payload.bin']);
    await publishContext(store, ctx);
    digests.push(ctx.digest);
  }
  const cache = await tmpDir('prune-cache-');
  return { store: counting, gets: () => gets, digests, cache };
}

/** Sets when a context was last used (its index's mtime), `ago` ms before now. */
async function usedAgo(cache: string, digest: string, ago: number): Promise<void> {
  const t = new Date(Date.now() - ago);
  await fs.utimes(path.join(cache, `${digest}.index.json`), t, t);
}

const contexts = async (cache: string) =>
  (await fs.readdir(cache)).filter((n) => /^sha256-[0-9a-f]{64}$/.test(n)).sort();

test('over the budget, the least recently used contexts go; the one just unpacked stays', async () => {
  const { store, digests, cache } = await setup();
  const [a, b, c] = digests as [string, string, string];
  const policy = { ...DEFAULT_CACHE_POLICY, maxBytes: 250 * KB };
  await fetchContext(store, a, cache, CONTEXT_LIMITS, policy);
  await fetchContext(store, b, cache, CONTEXT_LIMITS, policy);
  await usedAgo(cache, a, 3 * HOUR);
  await usedAgo(cache, b, 2 * HOUR);
  assert.deepEqual(await contexts(cache), [a, b].sort());

  // c makes 300 KiB: a, used longest ago, goes (folder and index).
  await fetchContext(store, c, cache, CONTEXT_LIMITS, policy);
  assert.deepEqual(await contexts(cache), [b, c].sort());
  await assert.rejects(fs.stat(path.join(cache, `${a}.index.json`)), 'its index goes with it');
  assert.ok(!(await fs.readdir(cache)).some((n) => n.includes('.trash-')), 'nothing half-removed is left');

  // Using b again makes it recent (its index is touched): a new unpack of a then pushes out c.
  await usedAgo(cache, c, 2 * HOUR);
  await usedAgo(cache, b, 3 * HOUR);
  await fetchContext(store, b, cache, CONTEXT_LIMITS, policy);
  const bUsed = (await fs.stat(path.join(cache, `${b}.index.json`))).mtimeMs;
  assert.ok(Date.now() - bUsed < HOUR, 'b was touched when used');
  await fetchContext(store, a, cache, CONTEXT_LIMITS, policy);
  assert.deepEqual(await contexts(cache), [a, b].sort());

  // A budget smaller than one context still keeps the one just unpacked.
  await fetchContext(store, c, cache, CONTEXT_LIMITS, { ...policy, maxBytes: 10 * KB });
  assert.deepEqual(await contexts(cache), [c]);
});

test('contexts unused for two weeks go, and leftovers an hour old; fresh ones stay', async () => {
  const { store, digests, cache } = await setup();
  const [a, b, c] = digests as [string, string, string];
  await fetchContext(store, a, cache);
  await fetchContext(store, b, cache);
  await usedAgo(cache, a, 15 * 24 * HOUR);
  await usedAgo(cache, b, 13 * 24 * HOUR);
  // An attempt cut short two hours ago, one under way now, and a folder an earlier version unpacked (no index).
  const old = new Date(Date.now() - 2 * HOUR);
  const stale = path.join(cache, `${c}.tmp-dead01`);
  const fresh = path.join(cache, `${c}.tmp-live01`);
  const earlier = path.join(cache, `sha256-${'e'.repeat(64)}`);
  for (const d of [stale, fresh, earlier]) await fs.mkdir(d);
  await fs.writeFile(path.join(earlier, '.complete'), 'x');
  for (const d of [stale, earlier]) await fs.utimes(d, old, old);

  await fetchContext(store, c, cache);
  const left = (await fs.readdir(cache)).sort();
  assert.deepEqual(left, [b, `${b}.index.json`, c, `${c}.index.json`, path.basename(fresh)].sort());
});

test('an index whose folder is gone is unpacked again, not trusted', async () => {
  const { store, gets, digests, cache } = await setup();
  const [a] = digests as [string];
  const first = await fetchContext(store, a, cache);
  await fs.rm(first.root, { recursive: true });
  const again = await fetchContext(store, a, cache);
  assert.equal(gets(), 2);
  assert.equal((await fs.stat(path.join(again.root, 'payload.bin'))).size, 100 * KB);
});

test('IMAGE_FORGE_CONTEXT_CACHE_GB sets the budget; anything but a positive number is refused with its name', () => {
  const base = { DIGITALOCEAN_TOKEN: 't', IMAGE_FORGE_SSH_KEY: '/k' };
  assert.equal(workerSettingsFrom(base).contextCacheBytes, undefined, 'the default budget unless set');
  assert.equal(workerSettingsFrom({ ...base, IMAGE_FORGE_CONTEXT_CACHE_GB: '0.5' }).contextCacheBytes, 512 * 1024 ** 2);
  for (const bad of ['0', '-1', 'lots'])
    assert.throws(
      () => workerSettingsFrom({ ...base, IMAGE_FORGE_CONTEXT_CACHE_GB: bad }),
      (e: unknown) =>
        e instanceof UserError && e.message.includes(`IMAGE_FORGE_CONTEXT_CACHE_GB`) && e.message.includes(bad),
    );
});
