/**
 * Worker side: fetch a build context by digest, verify it, and extract it once into a local cache.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Parser, x } from 'tar';
import type { ReadEntry } from 'tar';
import { contextKey, digestOf } from './pack';
import type { BlobStore } from './store';

export class ContextError extends Error {
  override name = 'ContextError';
}

/** Extractions under way in this process, by target: concurrent activities share one. */
const inFlight = new Map<string, Promise<string>>();

export async function fetchContext(
  store: BlobStore,
  digest: string,
  cacheDir: string,
  limits = CONTEXT_LIMITS,
): Promise<string> {
  const key = path.join(cacheDir, digest);
  const running = inFlight.get(key);
  if (running) return running;
  const work = fetchOnce(store, digest, cacheDir, limits).finally(() => inFlight.delete(key));
  inFlight.set(key, work);
  return work;
}

async function fetchOnce(store: BlobStore, digest: string, cacheDir: string, limits: typeof CONTEXT_LIMITS) {
  const target = path.join(cacheDir, digest);
  if (
    await fs.stat(path.join(target, '.complete')).then(
      () => true,
      () => false,
    )
  )
    return target;
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
  // A unique folder per attempt: another worker process may be extracting the same digest.
  await fs.mkdir(cacheDir, { recursive: true });
  const tmp = await fs.mkdtemp(`${target}.tmp-`);
  await extractTar(bytes, tmp, limits).catch(async (err: unknown) => {
    await fs.rm(tmp, { recursive: true, force: true });
    throw err;
  });
  await fs.writeFile(path.join(tmp, '.complete'), digest);
  await fs.rename(tmp, target).catch(async (e: NodeJS.ErrnoException) => {
    // Another activity extracted the same digest meanwhile: theirs is identical.
    await fs.rm(tmp, { recursive: true, force: true });
    if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
  });
  return target;
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
    // A symbolic link is resolved from its folder; a hard link names a member from the root.
    const target = path.posix.normalize(e.type === 'Link' ? link : path.posix.join(path.posix.dirname(name), link));
    if (target === '..' || target.startsWith('../') || link.includes('\0'))
      return `${name} links to ${link}, outside the build context`;
  }
  return undefined;
}

/** Checks every entry (type, name, link target, mode bits, total size) before anything is written. */
async function scanTar(bytes: Buffer, limits: typeof CONTEXT_LIMITS): Promise<void> {
  const problems: string[] = [];
  let total = 0;
  let entries = 0;
  const parser = new Parser({
    strict: true,
    onReadEntry: (e: ReadEntry) => {
      entries++;
      total += e.size ?? 0;
      const why = refusal(e);
      if (why) problems.push(why);
      e.resume();
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('end', () => resolve());
    parser.on('error', (err: Error) =>
      reject(new ContextError(`build context is not a valid tar archive: ${err.message}`)),
    );
    parser.end(bytes);
  });
  if (problems.length > 0) throw new ContextError(`build context refused: ${problems.slice(0, 3).join('; ')}`);
  if (total > limits.bytes)
    throw new ContextError(
      `build context refused: it unpacks to ${total} bytes, more than the limit of ${limits.bytes}`,
    );
  if (entries > limits.entries)
    throw new ContextError(`build context refused: ${entries} entries, more than the limit of ${limits.entries}`);
}

async function extractTar(bytes: Buffer, into: string, limits: typeof CONTEXT_LIMITS): Promise<void> {
  await scanTar(bytes, limits);
  // node-tar refuses again what the scan refused (strict), and never writes through a symlink.
  await pipeline(
    Readable.from([bytes]),
    x({ cwd: into, strict: true, preservePaths: false, preserveOwner: false, maxDepth: 64 }),
  ).catch((err: unknown) => {
    throw new ContextError(`build context could not be unpacked: ${err instanceof Error ? err.message : String(err)}`);
  });
}
