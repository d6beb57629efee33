/** Reads files of a build context (fetched and verified by digest, cached per worker). */
import { promises as fs } from 'node:fs';
import { CONTEXT_LIMITS, fetchContext } from '../../context/unpack';
import type { UnpackedContext } from '../../context/unpack';
import type { ActivityDeps } from './deps';
import { checkContextPath } from './input-checks';

export async function contextRoot(deps: ActivityDeps, digest: string): Promise<string> {
  return (await contextFiles(deps, digest)).root;
}

/** The unpacked context with each file's SHA-256, taken once when the worker unpacked it. */
export async function contextFiles(deps: ActivityDeps, digest: string): Promise<UnpackedContext> {
  return fetchContext(deps.store, digest, deps.contextCacheDir, CONTEXT_LIMITS, deps.contextCache);
}

export async function readContextFile(deps: ActivityDeps, digest: string, rel: string): Promise<Buffer> {
  const root = await contextRoot(deps, digest);
  return fs.readFile(await checkContextPath(root, rel));
}
