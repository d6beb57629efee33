/**
 * Keeps a worker's context cache in bounds. A build context is unpacked once per worker and kept
 * for the build's later steps and later builds; without pruning the folder only grows (a context
 * may be 2 GiB, and a schedule rebuilds with a new one every time its files change).
 * After each new unpack: contexts unused for 14 days go, then the least recently used until the
 * rest fit the budget; the one just unpacked stays whatever its size. Leftovers go too, once an
 * hour old: folders of attempts cut short, and contexts an earlier version unpacked without an index.
 * Removing one is safe: the store keeps every context, and a step that still reads a removed one
 * fails that attempt; its retry unpacks the context again.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export interface CachePolicy {
  /** Bytes of unpacked files the cache may keep (IMAGE_FORGE_CONTEXT_CACHE_GB). */
  maxBytes: number;
  /** A context unused this long goes, whatever the budget. */
  maxIdleMs: number;
}

export const DEFAULT_CACHE_POLICY: CachePolicy = { maxBytes: 20 * 1024 ** 3, maxIdleMs: 14 * 86_400_000 };

/** Anything else in the cache folder this old is a leftover. */
const LEFTOVER_MS = 3_600_000;
const INDEX = /^(sha256-[0-9a-f]{64})\.index\.json$/;

interface Cached {
  digest: string;
  usedMs: number;
  bytes: number;
}

/** Prunes the cache; returns the names removed (contexts by digest, leftovers by file name). */
export async function pruneContextCache(
  cacheDir: string,
  justUnpacked: string,
  policy: CachePolicy = DEFAULT_CACHE_POLICY,
  now = Date.now(),
): Promise<string[]> {
  const names = await fs.readdir(cacheDir).catch(() => [] as string[]);
  const cached: Cached[] = [];
  for (const name of names) {
    const digest = INDEX.exec(name)?.[1];
    if (!digest) continue;
    const file = path.join(cacheDir, name);
    const st = await fs.stat(file).catch(() => undefined);
    if (!st) continue;
    cached.push({ digest, usedMs: st.mtimeMs, bytes: await indexedBytes(file) });
  }
  const removed: string[] = [];
  const live = new Set(cached.flatMap((c) => [c.digest, `${c.digest}.index.json`]));
  for (const name of names) {
    if (live.has(name)) continue;
    const st = await fs.lstat(path.join(cacheDir, name)).catch(() => undefined);
    if (!st || now - st.mtimeMs < LEFTOVER_MS) continue;
    await fs.rm(path.join(cacheDir, name), { recursive: true, force: true });
    removed.push(name);
  }
  // Most recently used first: what fits the budget stays.
  cached.sort((a, b) => b.usedMs - a.usedMs);
  let kept = 0;
  for (const c of cached) {
    const fits = now - c.usedMs <= policy.maxIdleMs && kept + c.bytes <= policy.maxBytes;
    if (c.digest === justUnpacked || fits) {
      kept += c.bytes;
      continue;
    }
    await removeContext(cacheDir, c.digest);
    removed.push(c.digest);
  }
  return removed;
}

/** The folder is moved aside first, so no reader ever finds half of it; then the index goes. */
async function removeContext(cacheDir: string, digest: string): Promise<void> {
  const trash = path.join(cacheDir, `${digest}.trash-${randomBytes(4).toString('hex')}`);
  const moved = await fs.rename(path.join(cacheDir, digest), trash).then(
    () => true,
    () => false,
  );
  await fs.rm(path.join(cacheDir, `${digest}.index.json`), { force: true });
  if (moved) await fs.rm(trash, { recursive: true, force: true });
}

/** The unpacked size an index records (0 when it records none). */
async function indexedBytes(file: string): Promise<number> {
  try {
    const bytes = (JSON.parse(await fs.readFile(file, 'utf8')) as { bytes?: unknown }).bytes;
    return typeof bytes === 'number' && bytes >= 0 ? bytes : 0;
  } catch {
    return 0;
  }
}

/** An index is touched when used, at most this often: its mtime is the context's last use. */
export const USE_STAMP_MS = 3_600_000;
