/**
 * Worker side: fetch a build context by digest, verify it, and extract it once into a local cache,
 * with the SHA-256 of each file taken while the archive is checked. Uploads compare the droplet's
 * copies against those digests, so no upload hashes a file again (bench P3, P4).
 * Cache layout: `<digest>/` holds the files, as the tar names them; `<digest>.index.json` lists their
 * digests and size and marks the extraction complete (nothing of the worker's is written among the
 * files); its mtime is the context's last use, which pruning (cache-prune.ts) goes by.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Parser, Unpack } from 'tar';
import type { ReadEntry } from 'tar';
import { contextKey, digestOf, isContextDigest } from './pack';
import type { BlobStore } from './store';
import { DEFAULT_CACHE_POLICY, USE_STAMP_MS, pruneContextCache } from './cache-prune';
import { sameTree } from './same-tree';
import type { CachePolicy } from './cache-prune';
import { treeProblems } from './archive-tree';
import type { ArchiveEntry } from './archive-tree';
import { normalName } from './tree-path';

export class ContextError extends Error {
  override name = 'ContextError';
}

/** A build context unpacked on the worker's disk. */
export interface UnpackedContext {
  /** The folder the context's files are in. */
  root: string;
  /** SHA-256 (hex) of each regular file, by its path relative to root ("files/a.conf"). */
  files: ReadonlyMap<string, string>;
}

/** Extractions under way in this process, by target: concurrent activities share one. */
const inFlight = new Map<string, Promise<UnpackedContext>>();

export async function fetchContext(
  store: BlobStore,
  digest: string,
  cacheDir: string,
  limits = CONTEXT_LIMITS,
  policy: CachePolicy = DEFAULT_CACHE_POLICY,
): Promise<UnpackedContext> {
  // It names files in the cache: checked before any path is made of it (it comes from a workflow input).
  if (!isContextDigest(digest))
    throw new ContextError(`refused input: ${JSON.stringify(digest.slice(0, 80))} is not a build context digest`);
  const key = path.join(cacheDir, digest);
  const running = inFlight.get(key);
  if (running) return running;
  const work = fetchOnce(store, digest, cacheDir, limits, policy).finally(() => inFlight.delete(key));
  inFlight.set(key, work);
  return work;
}

async function fetchOnce(
  store: BlobStore,
  digest: string,
  cacheDir: string,
  limits: typeof CONTEXT_LIMITS,
  policy: CachePolicy,
): Promise<UnpackedContext> {
  const target = path.join(cacheDir, digest);
  const indexFile = `${target}.index.json`;
  const known = await readIndex(indexFile, digest);
  // An index whose folder is gone (removed by hand, or by another worker's pruning) is unpacked again.
  if (known && (await isDir(target))) {
    if (Date.now() - known.usedMs > USE_STAMP_MS) {
      const now = new Date();
      await fs.utimes(indexFile, now, now).catch(() => undefined);
    }
    return { root: target, files: known.files };
  }
  const unpacked = await unpack(store, digest, cacheDir, limits);
  // The cache only grows here: this is where it is brought back within its budget.
  await pruneContextCache(cacheDir, digest, policy).catch(() => undefined);
  return unpacked;
}

const isDir = (p: string) =>
  fs.stat(p).then(
    (st) => st.isDirectory(),
    () => false,
  );

async function unpack(
  store: BlobStore,
  digest: string,
  cacheDir: string,
  limits: typeof CONTEXT_LIMITS,
): Promise<UnpackedContext> {
  const target = path.join(cacheDir, digest);
  const indexFile = `${target}.index.json`;
  const bytes = await store.get(contextKey(digest));
  if (!bytes)
    throw new ContextError(
      `build context ${digest} is not in the ${store.description}: start the build again from the client`,
    );
  if (bytes.length > limits.bytes)
    throw new ContextError(`build context ${digest} is ${bytes.length} bytes, more than the limit of ${limits.bytes}`);
  const actual = digestOf(bytes);
  if (actual !== digest) {
    throw new ContextError(
      `build context ${digest} in the ${store.description} is corrupted (its content hashes to ${actual}): start the build again from the client`,
    );
  }
  // Refused before any folder is made for it.
  const { files, bytes: size } = await scanTar(bytes, limits);
  // A unique folder per attempt: another worker process may be extracting the same digest.
  await fs.mkdir(cacheDir, { recursive: true });
  const tmp = await fs.mkdtemp(`${target}.tmp-`);
  await extractTar(bytes, tmp).catch(async (err: unknown) => {
    // extractTar returns once node-tar has stopped writing: nothing lands after this. Still, the
    // error is the answer, whatever removing the folder meets (pruning takes a leftover later).
    await fs.rm(tmp, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
    throw err;
  });
  await fs.rename(tmp, target).catch((e: NodeJS.ErrnoException) => settleExisting(e, tmp, target));
  // The index is written last, whole (temp file, then rename): it is what says the folder is complete.
  const tmpIndex = `${indexFile}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await fs.writeFile(tmpIndex, JSON.stringify({ context: digest, bytes: size, files: Object.fromEntries(files) }));
  await fs.rename(tmpIndex, indexFile);
  return { root: target, files };
}

/**
 * The extraction found a folder already at target: another process's extraction of the same
 * digest, or one an earlier version left (without an index, perhaps with its old `.complete` among
 * the files), perhaps changed on disk since. Only the same tree stays; any other is swapped for the
 * fresh one, or every upload from it would fail as "did not land as sent".
 */
async function settleExisting(e: NodeJS.ErrnoException, tmp: string, target: string): Promise<void> {
  if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  if (await sameTree(tmp, target)) {
    await fs.rm(tmp, { recursive: true, force: true });
    return;
  }
  // Aside first, then the fresh one in: a reader never finds half a folder. Pruning removes an
  // aside folder this process could not (it is an hour-old leftover then).
  const aside = `${target}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await fs.rename(target, aside);
  await fs.rename(tmp, target).catch(async (again: NodeJS.ErrnoException) => {
    // Another process put its own fresh extraction there meanwhile: the same files as ours.
    await fs.rm(tmp, { recursive: true, force: true });
    if (again.code !== 'ENOTEMPTY' && again.code !== 'EEXIST') throw again;
  });
  await fs.rm(aside, { recursive: true, force: true });
}

/** Indexes read before, by file, with the identity of the file they were read from. */
const readBefore = new Map<string, { stamp: string; files: Map<string, string> }>();

interface ReadIndex {
  files: Map<string, string>;
  /** When the context was last used (the index's mtime). */
  usedMs: number;
}
/** A few contexts' indexes stay in memory: a build's steps use one, a matrix build's children share it. */
const KEEP_INDEXES = 8;

/** The index of a complete extraction, or undefined when there is none (or it is not whole). */
async function readIndex(file: string, digest: string): Promise<ReadIndex | undefined> {
  const st = await fs.stat(file).catch(() => undefined);
  if (!st) return undefined;
  // Parsed once per index file, not once per step (a context may list 100,000 files). An index is
  // only ever replaced whole (a new inode); its mtime changes with use.
  const stamp = `${st.ino}:${st.size}`;
  const before = readBefore.get(file);
  if (before?.stamp === stamp) return { files: before.files, usedMs: st.mtimeMs };
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let files: Map<string, string>;
  try {
    const parsed = JSON.parse(text) as { context?: unknown; files?: unknown };
    if (parsed.context !== digest || typeof parsed.files !== 'object' || parsed.files === null) return undefined;
    files = new Map();
    for (const [name, hex] of Object.entries(parsed.files)) if (typeof hex === 'string') files.set(name, hex);
  } catch {
    return undefined;
  }
  readBefore.delete(file);
  readBefore.set(file, { stamp, files });
  for (const oldest of readBefore.keys()) {
    if (readBefore.size <= KEEP_INDEXES) break;
    readBefore.delete(oldest);
  }
  return { files, usedMs: st.mtimeMs };
}

/** What one build context may hold once unpacked. */
export const CONTEXT_LIMITS = { bytes: 2 * 1024 ** 3, entries: 100_000 };

const ALLOWED = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/** Why a tar entry may not be unpacked, or undefined. Names are relative to the context's root. */
function refusal(e: ReadEntry): string | undefined {
  const name = e.path;
  if (!ALLOWED.has(e.type)) return `${name} is a ${e.type} entry (only files, folders and links inside it)`;
  if (name.includes('\0') || path.posix.isAbsolute(name) || /^[A-Za-z]:/.test(name))
    return `${name} is an absolute name`;
  if (name.split('/').includes('..')) return `${name} climbs out with ".."`;
  if ((e.mode ?? 0) & 0o6000) return `${name} has the setuid or setgid bit`;
  if (e.type === 'SymbolicLink' || e.type === 'Link') {
    const link = e.linkpath ?? '';
    if (path.posix.isAbsolute(link)) return `${name} links to the absolute path ${link}`;
    // A hard link names a member from the root, never through a symlink (archive-tree.ts): its
    // text says where it leads. Where a symlink leads is known from the whole tree only.
    const target = path.posix.normalize(link);
    if (link.includes('\0') || (e.type === 'Link' && (target === '..' || target.startsWith('../'))))
      return `${name} links to ${link}, outside the build context`;
  }
  return undefined;
}

/**
 * Checks every entry (type, name, where a link leads, mode bits, total size) before anything is written,
 * and returns each regular file's SHA-256 by its normalised name (a later entry of a name wins, as
 * on extraction; a hard link has its target's digest).
 */
async function scanTar(
  bytes: Buffer,
  limits: typeof CONTEXT_LIMITS,
): Promise<{ files: Map<string, string>; bytes: number }> {
  const problems: string[] = [];
  let total = 0;
  let entries = 0;
  const files = new Map<string, string>();
  const tree: ArchiveEntry[] = [];
  const parser = new Parser({
    strict: true,
    onReadEntry: (e: ReadEntry) => {
      entries++;
      total += e.size ?? 0;
      const why = refusal(e);
      if (why) problems.push(why);
      const name = normalName(e.path);
      if (!why) tree.push({ name, type: e.type, linkpath: e.linkpath ?? '' });
      files.delete(name);
      if (!why && FILE_TYPES.has(e.type)) {
        const hash = createHash('sha256');
        e.on('data', (c: Buffer) => hash.update(c));
        e.on('end', () => files.set(name, hash.digest('hex')));
      } else {
        // The target's entry came before (tar writes it first) and has been hashed by now.
        const target = !why && e.type === 'Link' ? files.get(normalName(e.linkpath ?? '')) : undefined;
        if (target) files.set(name, target);
        e.resume();
      }
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('end', () => resolve());
    parser.on('error', (err: Error) =>
      reject(new ContextError(`build context is not a valid tar archive: ${err.message}`)),
    );
    parser.end(bytes);
  });
  const refuse = (why: string[]) => new ContextError(`build context refused: ${why.slice(0, 3).join('; ')}`);
  if (problems.length > 0) throw refuse(problems);
  if (total > limits.bytes)
    throw new ContextError(
      `build context refused: it unpacks to ${total} bytes, more than the limit of ${limits.bytes}`,
    );
  if (entries > limits.entries)
    throw new ContextError(`build context refused: ${entries} entries, more than the limit of ${limits.entries}`);
  // Where links lead is known from the whole tree only, modelled from the entries.
  const linksOut = treeProblems(tree);
  if (linksOut.length > 0) throw refuse(linksOut);
  return { files, bytes: total };
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/**
 * Extracts with node-tar (which refuses again what the scan refused, and never writes through a
 * symlink) and settles only once it has stopped writing: on an error node-tar goes on with the
 * entries after it, and a folder removed meanwhile fills up again (ENOTEMPTY).
 */
function extractTar(bytes: Buffer, into: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let first: Error | undefined;
    const unpack = new Unpack({ cwd: into, strict: true, preservePaths: false, preserveOwner: false, maxDepth: 64 });
    unpack.on('error', (err: Error) => (first ??= err));
    unpack.on('close', () =>
      first ? reject(new ContextError(`build context could not be unpacked: ${first.message}`)) : resolve(),
    );
    unpack.end(bytes);
  });
}
