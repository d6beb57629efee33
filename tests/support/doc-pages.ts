/**
 * What a Markdown page says that can go stale, read with a real Markdown parser (marked) and GitHub's
 * heading slugs (github-slugger): its links, the anchors its headings make, the `client` commands
 * its code spans and code blocks run, and the repository paths its code spans name.
 */
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import type { Token, Tokens } from 'marked' with { 'resolution-mode': 'import' };
import { packerStyleFlags } from '../../client/program';

export interface DocPage {
  file: string;
  links: string[];
  anchors: Set<string>;
  codeSpans: string[];
  codeBlocks: string[];
}

/** Both libraries are ES modules only; this file compiles to CommonJS, so they come in by import(). */
async function libraries() {
  const [{ Marked }, { default: Slugger }] = await Promise.all([import('marked'), import('github-slugger')]);
  return { marked: new Marked({ gfm: true }), Slugger };
}

/** A heading's text as GitHub slugs it: the words, without the Markdown around them. */
function plainText(tokens: Token[]): string {
  return tokens
    .map((t) => {
      if (t.type === 'text' || t.type === 'codespan' || t.type === 'escape')
        return 'tokens' in t && t.tokens ? plainText(t.tokens) : (t as Tokens.Text).text;
      if (t.type === 'html') return '';
      return 'tokens' in t && t.tokens ? plainText(t.tokens) : '';
    })
    .join('');
}

export async function readDocPage(file: string, markdown: string): Promise<DocPage> {
  const { marked, Slugger } = await libraries();
  const slugger = new Slugger();
  const page: DocPage = { file, links: [], anchors: new Set(), codeSpans: [], codeBlocks: [] };
  marked.walkTokens(marked.lexer(markdown), (t) => {
    if (t.type === 'heading') page.anchors.add(slugger.slug(plainText((t as Tokens.Heading).tokens)));
    else if (t.type === 'link' || t.type === 'image') page.links.push((t as Tokens.Link).href);
    else if (t.type === 'codespan') page.codeSpans.push((t as Tokens.Codespan).text);
    else if (t.type === 'code') page.codeBlocks.push((t as Tokens.Code).text);
    else if (t.type === 'html')
      for (const m of (t as Tokens.HTML).text.matchAll(/\b(?:id|name)="([^"]+)"/g)) page.anchors.add(m[1]!);
  });
  return page;
}

/** What is wrong with each relative link of a page: a file that is not there, an anchor no heading makes. */
export function brokenLinks(page: DocPage, repo: string, pages: Map<string, DocPage>): string[] {
  const problems: string[] = [];
  for (const href of page.links) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue; // https:, mailto: — not ours to check
    const [target = '', anchor] = href.split('#', 2) as [string, string | undefined];
    const file = target ? path.resolve(path.dirname(page.file), decodeURI(target)) : page.file;
    const where = `${path.relative(repo, page.file)}: link ${href}`;
    const checked = pages.get(file);
    if (!file.startsWith(repo + path.sep)) problems.push(`${where} leads out of the repository`);
    else if (!checked && !existsSync(file)) problems.push(`${where}: ${path.relative(repo, file)} does not exist`);
    else if (anchor === undefined) continue;
    else if (checked) {
      if (!checked.anchors.has(anchor))
        problems.push(`${where}: no heading of ${path.relative(repo, file)} makes #${anchor}`);
    } else if (statSync(file).isDirectory() || !/^L\d+(-L\d+)?$/.test(anchor))
      problems.push(`${where}: #${anchor} points into a file that is not a checked page`);
  }
  return problems;
}

/** Each command a shell text runs whose program is `client` (or a path ending in /client), as its words. */
export function clientInvocations(text: string): string[][] {
  const words = (cmd: string) =>
    (cmd.match(/"(?:[^"\\]|\\.)*"|'[^']*'|[^\s"']+/g) ?? []).map((w) => w.replace(/^["']|["']$/g, ''));
  return text
    .replace(/\\\n/g, ' ')
    .split(/&&|\|\||;|\||\n|\$\(|<\(|\(|\)/)
    .map((segment) => {
      const w = words(segment);
      const comment = w.findIndex((x) => x.startsWith('#'));
      if (comment >= 0) w.splice(comment);
      while (w.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(w[0]!)) w.shift(); // VAR=value before the command
      return w;
    })
    .filter((w) => w[0] === 'client' || w[0]?.endsWith('/client') === true);
}

/** A word a page writes instead of a real value: `<build>`, `…`, `build-lamp-…`. */
const placeholder = (w: string) => w.startsWith('<') || w.includes('…') || w === '...';

/** What is wrong with one invocation, against the real program: an unknown command, subcommand or flag. */
export function unknownInCli(program: Command, invocation: string[]): string[] {
  const words = packerStyleFlags(invocation, 1);
  let command = program;
  let name = 'client';
  let i = 1;
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith('-') || command.commands.length === 0) break;
    if (placeholder(w)) return [];
    const sub = command.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (!sub) return [`${name} has no command "${w}"`];
    command = sub;
    name = `${name} ${w}`;
  }
  const known = new Set(['--help', '-h']);
  for (const o of command.options) for (const flag of [o.long, o.short]) if (flag) known.add(flag);
  const problems: string[] = [];
  for (const word of words.slice(i)) {
    if (word === '--') break; // what follows is another program's (client lab run … -- cat …)
    const w = word.replace(/^\[(.*)\]$/, '$1'); // an optional flag: client janitor [--yes]
    if (!/^--?[A-Za-z]/.test(w)) continue;
    const flag = w.split('=')[0]!;
    if (!known.has(flag)) problems.push(`${name} has no flag ${flag}`);
  }
  return problems;
}

/**
 * The repository paths a page names in its code spans (`tests/trust/seal.test.ts`, `examples/systemd/`)
 * that are not there. Only spans that are a path alone, starting at one of the repository's folders.
 */
export function missingPaths(page: DocPage, repo: string, folders: string[]): string[] {
  return page.codeSpans
    .filter((s) => /^[\w.-]+\/[\w./-]*$/.test(s) && folders.includes(s.split('/')[0]!))
    .filter((s) => !existsSync(path.join(repo, s)))
    .map((s) => `${path.relative(repo, page.file)}: \`${s}\` does not exist`);
}
