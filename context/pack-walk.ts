/**
 * What packing a spec's folder puts in the archive: the files and folders a build reads, and each
 * symlink on the way as a symlink (never the file it points to). Every link is followed on disk
 * one component at a time (tree-path.ts), and what it leads to is packed too; one that leads out
 * of the folder is refused, naming it: `files/app.conf -> ~/.aws/credentials` must not reach a
 * droplet. `client validate` runs the same walk, so it refuses what packing would.
 */
import { lstatSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { parentOf, resolveInTree } from './tree-path';
import type { TreeLookup, TreeNode } from './tree-path';

export type PackEntry =
  | { type: 'file'; abs: string; mode: number }
  | { type: 'directory'; mode: number }
  | { type: 'symlink'; linkname: string };

/** A symlink in the spec's folder that leads out of it (or into a loop). */
export class LinkOutsideError extends Error {
  override name = 'LinkOutsideError';
  constructor(
    readonly link: string,
    readonly target: string,
    dir: string,
    loop: boolean,
  ) {
    super(
      loop
        ? `${link} links to ${target}, a loop of links: replace the link with the file it should point to`
        : `${link} links to ${target}, outside the spec's folder ${dir}: copy the file into the folder instead of linking to it`,
    );
  }
}

/**
 * The archive's entries for `paths` (relative to `dir`; folders recursively), by name. Names are
 * the real places in the folder (no symlink among their parents), and every link is packed
 * pointing straight at the real place it leads to (`latest -> current`, `current -> v2` packs
 * `latest -> v2`): the worker never writes through a link, and node-tar unpacks no link through
 * another. A path that does not exist is an error; a dangling link met in a folder is packed.
 */
export function collectContext(dir: string, paths: string[]): Map<string, PackEntry> {
  const entries = new Map<string, PackEntry>();
  const walked = new Set<string>();
  const links = new Map<string, string>();
  // Each name is looked at once: every file's path is resolved from the top.
  const seen = new Map<string, TreeNode | undefined>();
  const lookup: TreeLookup = (name) => {
    if (seen.has(name)) return seen.get(name);
    const abs = path.join(dir, name);
    const st = lstatSync(abs, { throwIfNoEntry: false });
    let node: TreeNode | undefined;
    if (st?.isSymbolicLink()) {
      links.set(name, insideText(dir, name, readlinkSync(abs)));
      node = { kind: 'link', target: links.get(name)! };
    } else if (st) node = st.isDirectory() ? { kind: 'dir' } : { kind: 'file' };
    seen.set(name, node);
    return node;
  };
  const refuse = (r: { why: string; link: string }, link: string): never => {
    const culprit = r.link || link;
    throw new LinkOutsideError(culprit, links.get(culprit) ?? '', dir, r.why === 'loop');
  };
  const add = (rel: string, required: boolean): void => {
    const r = resolveInTree('', rel, lookup);
    if (!r.inside) {
      if (!r.link) throw new Error(`${rel} climbs out of ${dir} with ".."`);
      return refuse(r, r.link);
    }
    if (!r.node) {
      if (required) throw new Error(`${rel} does not exist in ${dir}`);
      return;
    }
    const abs = path.join(dir, r.path);
    const st = lstatSync(abs);
    if (st.isDirectory()) {
      // A folder reached twice (through a link, or a link to a folder it is in) is walked once.
      if (walked.has(r.path)) return;
      walked.add(r.path);
      if (r.path) entries.set(r.path, { type: 'directory', mode: st.mode & 0o7777 });
      for (const child of readdirSync(abs).sort()) add(r.path ? `${r.path}/${child}` : child, false);
    } else if (st.isFile()) {
      entries.set(r.path, { type: 'file', abs, mode: st.mode & 0o7777 });
    }
  };
  for (const p of paths) add(p.replace(/\/+$/, ''), true);
  // Every link met on the way, pointed at the real place it leads to (resolving one may meet more).
  for (const [name, text] of links) {
    if (entries.has(name)) continue;
    const r = resolveInTree(parentOf(name), text, lookup);
    if (!r.inside) refuse(r, name);
    else entries.set(name, { type: 'symlink', linkname: path.posix.relative(parentOf(name), r.path) || '.' });
  }
  return entries;
}

/** An absolute link to a place in the folder, as the relative one the worker can follow. */
function insideText(dir: string, name: string, target: string): string {
  if (!path.isAbsolute(target)) return target;
  for (const root of new Set([dir, realpathSync(dir)])) {
    const rel = path.relative(root, target);
    if (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel))
      return path.posix.relative(parentOf(name), rel.split(path.sep).join('/')) || '.';
  }
  return target;
}
