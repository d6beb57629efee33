/**
 * Where an upload's files land on the droplet (Packer/rsync trailing-slash rules): the upload step
 * packs them, the sbom step lists them.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { checkContextPath, checkDestPath, checked, specFailure } from '../runtime/input-checks';
import { fileMode as modeFormat } from '../../spec/schema';

export interface Entry {
  abs: string;
  /** Path relative to the extraction base. */
  name: string;
  type: 'file' | 'directory';
  mode: number;
  size: number;
}

/** Works out where each file lands: the extraction base on the droplet and the tar entries. */
export async function planUpload(
  root: string,
  src: string,
  dest: string,
  mode?: string,
): Promise<{ base: string; entries: Entry[] }> {
  // Paths from the workflow input are checked again here: inside the context after symlinks, absolute on the droplet.
  checkDestPath(dest);
  if (mode !== undefined) checked(modeFormat, mode, 'mode');
  const abs = await checkContextPath(root, src, 'src');
  const st = await fs.stat(abs);
  const fileMode = mode !== undefined ? parseInt(mode, 8) : undefined;
  if (st.isFile()) {
    const target = dest.endsWith('/') ? path.posix.join(dest, path.basename(src)) : dest;
    return {
      base: path.posix.dirname(target),
      entries: [
        { abs, name: path.posix.basename(target), type: 'file', mode: fileMode ?? st.mode & 0o7777, size: st.size },
      ],
    };
  }
  const base = src.endsWith('/') ? dest.replace(/\/+$/, '') || '/' : path.posix.join(dest, path.basename(src));
  const entries: Entry[] = [];
  const realRoot = await fs.realpath(root);
  // The real folders being walked: a link back to one of them is a loop.
  const open = new Set<string>([abs]);
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of (await fs.readdir(dir)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const a = await followLink(realRoot, path.join(dir, name), src);
      if (a === undefined) continue;
      const s = await fs.lstat(a);
      if (s.isDirectory()) {
        if (open.has(a)) throw uploadLoop(src, r);
        entries.push({ abs: a, name: r, type: 'directory', mode: s.mode & 0o7777, size: 0 });
        open.add(a);
        await walk(a, r);
        open.delete(a);
      } else if (s.isFile()) {
        entries.push({ abs: a, name: r, type: 'file', mode: fileMode ?? s.mode & 0o7777, size: s.size });
      }
    }
  };
  await walk(abs, '');
  return { base, entries };
}

/**
 * A symlink in an uploaded folder lands as what it points to (as Packer's upload does, and as
 * packing followed links before it kept them): checked again to be inside the context. A dangling
 * one is left out. Anything else is itself.
 */
async function followLink(realRoot: string, a: string, src: string): Promise<string | undefined> {
  if (!(await fs.lstat(a)).isSymbolicLink()) return a;
  const real = await fs.realpath(a).catch(() => undefined);
  if (real === undefined) return undefined;
  if (real !== realRoot && !real.startsWith(realRoot + path.sep))
    throw specFailure(`refused input: src: ${src} holds a link that leads outside the build context`);
  return real;
}

const uploadLoop = (src: string, rel: string) =>
  specFailure(
    `upload ${src}: ${rel} links to a folder it is in (a loop): remove the link, or upload a folder without it`,
  );
