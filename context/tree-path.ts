/**
 * Where a path leads inside a tree, resolved one component at a time as the kernel does: each
 * symlink on the way is followed from its own folder, and ".." goes up from where the walk is, not
 * from the text. Both sides of a build context use it: the client packing a spec's folder from
 * disk, the worker checking an archive's entries before writing any. A text check is not enough:
 * `l0 -> .` and `l1 -> l0/..` are both inside by their text, but l1 is the context's parent.
 */
import * as path from 'node:path';

export type TreeNode = { kind: 'dir' } | { kind: 'file' } | { kind: 'link'; target: string };

/** The node at a path relative to the tree's root ("a/b"), or undefined when there is none. */
export type TreeLookup = (name: string) => TreeNode | undefined;

export type Resolution =
  | { inside: true; path: string; node: TreeNode | undefined }
  | { inside: false; why: 'outside' | 'absolute' | 'loop'; link: string };

/** Linux gives up after 40 links in one lookup (ELOOP). */
const MAX_LINKS = 40;

const components = (p: string): string[] => p.split('/').filter((c) => c !== '' && c !== '.');

/**
 * Resolves `rel` from the folder `from` (both relative to the root, "" is the root), following
 * every symlink, the last one included. A name the tree does not hold is taken as a folder: going
 * up from it cannot reach less far than from a real one. `link` names the last link followed.
 */
export function resolveInTree(from: string, rel: string, lookup: TreeLookup): Resolution {
  const at = components(from);
  const todo = components(rel).reverse();
  let links = 0;
  let via = '';
  while (todo.length > 0) {
    const c = todo.pop()!;
    if (c === '..') {
      if (at.length === 0) return { inside: false, why: 'outside', link: via };
      at.pop();
      continue;
    }
    const name = [...at, c].join('/');
    const node = lookup(name);
    if (node?.kind !== 'link') {
      at.push(c);
      continue;
    }
    if (++links > MAX_LINKS) return { inside: false, why: 'loop', link: name };
    if (path.posix.isAbsolute(node.target)) return { inside: false, why: 'absolute', link: name };
    via = name;
    todo.push(...components(node.target).reverse());
  }
  const where = at.join('/');
  return { inside: true, path: where, node: where ? lookup(where) : { kind: 'dir' } };
}

/** The folder a tree entry is in, "" for the root. */
export function parentOf(name: string): string {
  const dir = path.posix.dirname(name);
  return dir === '.' ? '' : dir;
}

/** A tar name as a path relative to the context's root: "./a//b/" → "a/b". */
export function normalName(name: string): string {
  return path.posix
    .normalize(name)
    .replace(/^(\.\/)+/, '')
    .replace(/\/+$/, '');
}
