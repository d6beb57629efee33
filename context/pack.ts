/**
 * Packs the files a build reads into one deterministic tar: same content, same bytes, same digest.
 * The digest (not a host path) is what travels in the workflow input.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { pack } from 'tar-stream';
import type { BlobStore } from './store';
import { collectContext } from './pack-walk';

export interface PackedContext {
  digest: string; // "sha256-<hex>"
  bytes: Buffer;
  files: number;
}

/** "sha256-" and 64 lowercase hex digits: the only form a context digest takes. */
export const isContextDigest = (digest: string): boolean => /^sha256-[0-9a-f]{64}$/.test(digest);

export function contextKey(digest: string): string {
  if (!isContextDigest(digest)) throw new Error(`not a context digest: ${digest}`);
  return `contexts/${digest}.tar`;
}

export function digestOf(bytes: Buffer): string {
  return `sha256-${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Packs `paths` (relative to `dir`; folders recursively) plus the spec file; symlinks as symlinks. */
export async function packContext(dir: string, paths: string[]): Promise<PackedContext> {
  const entries = collectContext(dir, paths);
  // Parents first, in a stable order, with fixed owners and times.
  const names = [...entries.keys()].sort();
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    tar.on('end', resolve);
    tar.on('error', reject);
  });
  let files = 0;
  for (const name of names) {
    const e = entries.get(name)!;
    const header = { name, mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '' };
    if (e.type === 'directory') {
      tar.entry({ ...header, mode: e.mode, type: 'directory' });
    } else if (e.type === 'symlink') {
      tar.entry({ ...header, mode: 0o777, type: 'symlink', linkname: e.linkname });
    } else {
      tar.entry({ ...header, mode: e.mode, type: 'file' }, await fs.readFile(e.abs));
      files++;
    }
  }
  tar.finalize();
  await done;
  const bytes = Buffer.concat(chunks);
  return { digest: digestOf(bytes), bytes, files };
}

/** Uploads the context unless the store already has it. */
export async function publishContext(store: BlobStore, ctx: PackedContext): Promise<void> {
  const key = contextKey(ctx.digest);
  if (await store.has(key)) return;
  await store.put(key, ctx.bytes);
}
