/**
 * Where an upload's files land on the droplet (Packer/rsync trailing-slash rules): the upload step
 * packs them, the sbom step lists them.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { checkContextPath, checkDestPath, checked } from '../runtime/check-input';
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
