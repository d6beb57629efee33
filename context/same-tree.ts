/**
 * Whether two unpacked folders hold the same tree: the same names, types and permission bits, the
 * same link targets, the same bytes in every file. Used once, when an extraction finds a folder
 * already where it would go: only an identical one may stay.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';

export async function sameTree(a: string, b: string): Promise<boolean> {
  const [left, right] = await Promise.all([describe(a), describe(b)]);
  if (left.size !== right.size) return false;
  for (const [name, what] of left) if (right.get(name) !== what) return false;
  return true;
}

/** Every entry below root, by its relative name: "file 644 <sha256>", "dir 755", "link <target>". */
async function describe(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await fs.readdir(path.join(root, rel), { withFileTypes: true })) {
      const name = rel ? `${rel}/${entry.name}` : entry.name;
      const abs = path.join(root, name);
      const st = await fs.lstat(abs);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out.set(name, `link ${await fs.readlink(abs)}`);
      else if (st.isDirectory()) {
        out.set(name, `dir ${mode}`);
        await walk(name);
      } else if (st.isFile()) out.set(name, `file ${mode} ${await sha256(abs)}`);
      else out.set(name, `other ${st.mode}`);
    }
  };
  await walk('');
  return out;
}

function sha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}
