/**
 * The tree an archive's entries build, checked before any is written. In entry order: no entry is
 * written through a symlink or inside a file, a name never changes kind (only a file replaces a
 * file), a hard link names a file already in the tree, reached without a symlink (link(2)
 * would follow it), and no symlink's text runs through one already there (node-tar refuses it). Then every symlink of the finished tree is followed one component at a time
 * (tree-path.ts) and must stay inside: a later entry can change where an earlier link leads, and
 * since nothing is ever written or linked through a symlink, the finished tree is what counts.
 */
import * as path from 'node:path';
import { normalName, parentOf, resolveInTree } from './tree-path';
import type { TreeNode } from './tree-path';

export interface ArchiveEntry {
  /** Normalised, relative to the context's root ("files/a.conf"). */
  name: string;
  /** node-tar's entry type: "File", "Directory", "SymbolicLink", "Link"… */
  type: string;
  /** A link's target as the archive gives it. */
  linkpath: string;
}

const kindOf = (type: string): TreeNode['kind'] =>
  type === 'Directory' ? 'dir' : type === 'SymbolicLink' ? 'link' : 'file';

const KIND_NAMES = { dir: 'folder', file: 'file', link: 'symlink' } as const;

/** Why the entries may not be unpacked (at most `max` reasons), or none. */
export function treeProblems(entries: Iterable<ArchiveEntry>, max = 3): string[] {
  const tree = new Map<string, TreeNode>();
  const problems: string[] = [];
  for (const e of entries) {
    const why = place(tree, e);
    if (why) problems.push(why);
    if (problems.length >= max) return problems;
  }
  const lookup = (name: string) => tree.get(name);
  for (const [name, node] of tree) {
    if (node.kind !== 'link') continue;
    const r = resolveInTree(parentOf(name), node.target, lookup);
    if (r.inside) continue;
    problems.push(
      r.why === 'loop'
        ? `${name} links to ${node.target}: a loop of links`
        : `${name} links to ${node.target}, which leads outside the build context`,
    );
    if (problems.length >= max) break;
  }
  return problems;
}

/** Adds one entry to the tree, or says why it may not be written. */
function place(tree: Map<string, TreeNode>, e: ArchiveEntry): string | undefined {
  if (e.name === '' || e.name === '.') return e.type === 'Directory' ? undefined : `${e.type} entry for the root`;
  const through = blockedPrefix(tree, e.name);
  if (through) return `${e.name} is written through ${through}`;
  // Missing parents are made as folders (node-tar does the same).
  const parts = e.name.split('/');
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    if (!tree.has(prefix)) tree.set(prefix, { kind: 'dir' });
  }
  const kind = kindOf(e.type);
  const before = tree.get(e.name);
  if (before && (before.kind !== kind || kind === 'link'))
    return `${e.name} comes twice in the archive, as a ${KIND_NAMES[before.kind]} and a ${KIND_NAMES[kind]}`;
  if (e.type === 'Link') {
    const target = normalName(e.linkpath);
    const via = blockedPrefix(tree, target);
    if (via) return `${e.name} is a hard link through ${via}`;
    if (tree.get(target)?.kind !== 'file')
      return `${e.name} is a hard link to ${e.linkpath}, which is not a file before it in the build context`;
  }
  if (e.type === 'SymbolicLink') {
    // node-tar makes no link whose target, read as text, goes through a link already there.
    const textual = normalName(path.posix.join(parentOf(e.name), e.linkpath));
    const via = tree.get(textual)?.kind === 'link' ? `the symlink ${textual}` : blockedPrefix(tree, textual);
    if (via?.startsWith('the symlink'))
      return `${e.name} links to ${e.linkpath}, through ${via}: point it at the real file or folder`;
  }
  tree.set(e.name, kind === 'link' ? { kind, target: e.linkpath } : { kind });
  return undefined;
}

/** The first folder of `name` that is a symlink or a file, described; undefined when there is none. */
function blockedPrefix(tree: Map<string, TreeNode>, name: string): string | undefined {
  const parts = name.split('/');
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    const node = tree.get(prefix);
    if (node?.kind === 'link') return `the symlink ${prefix}`;
    if (node?.kind === 'file') return `the file ${prefix}`;
  }
  return undefined;
}
