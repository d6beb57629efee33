/**
 * upload: a file or a folder tree from the build context to the droplet, as one tar stream over
 * one SSH channel (not one request per file), then verify what landed by checksum.
 * Trailing-slash rules as in Packer/rsync: `src/` copies a folder's contents into dest, `src`
 * copies the folder itself into dest; a file goes to dest, or into dest when it ends in "/".
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pack } from 'tar-stream';
import type { Pack } from 'tar-stream';
import type { Readable } from 'node:stream';
import type { ActivityDeps } from './deps';
import { contextRoot } from './context-files';
import { runOnDroplet, shq } from './remote';
import type { UploadInput, UploadResult } from '../workflows/types';

interface Entry {
  abs: string;
  /** Path relative to the extraction base. */
  name: string;
  type: 'file' | 'directory';
  mode: number;
  size: number;
}

/** Works out where each file lands: the extraction base on the droplet and the tar entries. */
export async function planUpload(root: string, src: string, dest: string, mode?: string): Promise<{ base: string; entries: Entry[] }> {
  const abs = path.join(root, src);
  const st = await fs.stat(abs);
  const fileMode = mode !== undefined ? parseInt(mode, 8) : undefined;
  if (st.isFile()) {
    const target = dest.endsWith('/') ? path.posix.join(dest, path.basename(src)) : dest;
    return {
      base: path.posix.dirname(target),
      entries: [{ abs, name: path.posix.basename(target), type: 'file', mode: fileMode ?? st.mode & 0o7777, size: st.size }],
    };
  }
  const base = src.endsWith('/') ? dest.replace(/\/+$/, '') || '/' : path.posix.join(dest, path.basename(src));
  const entries: Entry[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of (await fs.readdir(dir)).sort()) {
      const a = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const s = await fs.lstat(a);
      if (s.isDirectory()) {
        entries.push({ abs: a, name: r, type: 'directory', mode: s.mode & 0o7777, size: 0 });
        await walk(a, r);
      } else if (s.isFile()) {
        entries.push({ abs: a, name: r, type: 'file', mode: fileMode ?? s.mode & 0o7777, size: s.size });
      }
    }
  };
  await walk(abs, '');
  return { base, entries };
}

export function upload(deps: ActivityDeps) {
  return async (input: UploadInput): Promise<UploadResult> => {
    const root = await contextRoot(deps, input.contextDigest);
    const { src, dest, mode } = input.upload;
    const { base, entries } = await planUpload(root, src, dest, mode);
    const files = entries.filter((e) => e.type === 'file');
    const tar = pack();
    const sums = new Map<string, string>();
    const feeding = feed(tar, entries, sums);
    await runOnDroplet(
      deps,
      input.droplet,
      input.step,
      `upload ${src} to ${dest}`,
      // --no-same-owner: files belong to root on the droplet, whoever owned them here.
      `mkdir -p ${shq(base)} && tar -x --no-same-owner -C ${shq(base)} -f -`,
      { stdin: tar as unknown as Readable },
    );
    await feeding;
    // Verify by checksum in one command (NUL-separated names survive any file name).
    const list = files.map((f) => f.name);
    let verified = 0;
    if (list.length > 0) {
      const r = await runOnDroplet(deps, input.droplet, input.step, 'verify checksums', `cd ${shq(base)} && xargs -0 sha256sum --`, {
        stdin: Buffer.from(list.join('\0') + '\0'),
        capture: true,
      });
      for (const line of r.output.split('\n')) {
        const m = /^([0-9a-f]{64}) {2}(.*)$/.exec(line);
        if (!m) continue;
        const name = m[2]!.replace(/^\.\//, '');
        if (sums.get(name) !== m[1]) throw new Error(`checksum mismatch for ${path.posix.join(base, name)} after upload`);
        verified++;
      }
      if (verified !== list.length) throw new Error(`only ${verified} of ${list.length} uploaded files were found on the droplet`);
    }
    return { files: files.length, bytes: files.reduce((n, f) => n + f.size, 0), verified };
  };
}

/** Streams the entries into the tar (never whole files in memory), hashing as it goes. */
async function feed(tar: Pack, entries: Entry[], sums: Map<string, string>): Promise<void> {
  try {
    for (const e of entries) {
      const header = { name: e.name, mode: e.mode, mtime: new Date(), uid: 0, gid: 0 };
      if (e.type === 'directory') {
        tar.entry({ ...header, type: 'directory' });
        continue;
      }
      const hash = createHash('sha256');
      await new Promise<void>((resolve, reject) => {
        const sink = tar.entry({ ...header, type: 'file', size: e.size }, (err) => (err ? reject(err) : resolve()));
        const rs = createReadStream(e.abs, { highWaterMark: 1 << 20 });
        rs.on('data', (c) => hash.update(c));
        rs.on('error', reject);
        rs.pipe(sink);
      });
      sums.set(e.name, hash.digest('hex'));
    }
    tar.finalize();
  } catch (err) {
    tar.destroy(err as Error);
    throw err;
  }
}
