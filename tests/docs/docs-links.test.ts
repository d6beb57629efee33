/**
 * The README and the docs/ pages stay true to the repository (issue #30 §3): every relative link and
 * #anchor resolves, every `client` command and flag a code span or code block names exists in the real
 * program (walked in-process, as `client --help` shows it), and every repository path a code span
 * names is there. A pure unit test: no lab, no Temporal server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { clientProgram } from '../../client/program';
import {
  brokenLinks,
  clientInvocations,
  missingPaths,
  readDocPage,
  unknownInCli,
  type DocPage,
} from '../support/doc-pages';
import { REPO } from '../support/temporal';

const README = path.join(REPO, 'README.md');
const DOCS = path.join(REPO, 'docs');
const README_MAX_LINES = 200;

/** Folders that hold no page of ours: installed packages, build output, caches, test output. */
const NOT_OURS = new Set(['node_modules', 'dist', 'dist-check', 'test-artifacts']);

async function markdownFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || NOT_OURS.has(e.name)) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await markdownFiles(full)));
    else if (e.name.endsWith('.md')) out.push(full);
  }
  return out;
}

/** Every Markdown page of the repository: the README, docs/, and the few beside the code (lab/api/README.md). */
async function allPages(): Promise<Map<string, DocPage>> {
  const files = await markdownFiles(REPO);
  const pages = new Map<string, DocPage>();
  for (const file of files) pages.set(file, await readDocPage(file, await fs.readFile(file, 'utf8')));
  return pages;
}

/** The repository's own top-level folders, which a path in a code span starts with. */
async function repoFolders(): Promise<string[]> {
  const entries = await fs.readdir(REPO, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !['node_modules', 'dist'].includes(e.name))
    .map((e) => e.name);
}

function cliProblems(page: DocPage): string[] {
  const program = clientProgram();
  return [...page.codeSpans, ...page.codeBlocks]
    .flatMap(clientInvocations)
    .flatMap((words) => unknownInCli(program, words).map((p) => `${path.relative(REPO, page.file)}: ${p}`));
}

test('the checker itself catches a broken link, a missing anchor, an unknown command, subcommand or flag', async () => {
  const file = path.join(DOCS, 'made-up.md');
  const page = await readDocPage(
    file,
    [
      '# Made up',
      '## Running a `worker` fleet',
      '[back](../README.md), [here](#running-a-worker-fleet), [gone](nowhere.md), [bad](#no-such-heading)',
      '[in the readme](../README.md#no-such-heading), [code](../client/program.ts#L3), [ext](https://example.com/x)',
      '`client start-buidl x`, `client schedule craete x`, `client start-build b.yaml --wiat`',
      '`tests/docs/docs-links.test.ts`, `tests/docs/no-such.test.ts`',
      '```sh',
      'IMAGE_FORGE_WORKER_SECRETS=X client start-build build.yaml --local --wait   # a comment --nope',
      'client import-packer ./packer -var-file prod.pkrvars.hcl -var a=1 --out build.yaml',
      'client lab run debian-12-x64 -- cat --whatever',
      'source <(client completion bash) && client retry build-lamp-… --bogus; client janitor [--yse]',
      '```',
    ].join('\n'),
  );
  const readme = await readDocPage(README, '# image-forge\n## Following a build\n');
  const pages = new Map([
    [file, page],
    [README, readme],
  ]);
  assert.deepEqual(brokenLinks(page, REPO, pages), [
    'docs/made-up.md: link nowhere.md: docs/nowhere.md does not exist',
    'docs/made-up.md: link #no-such-heading: no heading of docs/made-up.md makes #no-such-heading',
    'docs/made-up.md: link ../README.md#no-such-heading: no heading of README.md makes #no-such-heading',
  ]);
  assert.deepEqual(cliProblems(page), [
    'docs/made-up.md: client has no command "start-buidl"',
    'docs/made-up.md: client schedule has no command "craete"',
    'docs/made-up.md: client start-build has no flag --wiat',
    'docs/made-up.md: client retry has no flag --bogus',
    'docs/made-up.md: client janitor has no flag --yse',
  ]);
  assert.deepEqual(missingPaths(page, REPO, await repoFolders()), [
    'docs/made-up.md: `tests/docs/no-such.test.ts` does not exist',
  ]);
});

test('every relative link and #anchor of the README, docs/ and the other pages resolves', async () => {
  const pages = await allPages();
  assert.deepEqual(
    [...pages.values()].flatMap((p) => brokenLinks(p, REPO, pages)),
    [],
  );
});

test('every `client` command and flag the README and docs/ name exists in the real program', async () => {
  const pages = await allPages();
  const invocations = [...pages.values()].flatMap((p) => [...p.codeSpans, ...p.codeBlocks].flatMap(clientInvocations));
  assert.ok(invocations.length > 50, `the pages were read: ${invocations.length} client commands`);
  assert.deepEqual([...pages.values()].flatMap(cliProblems), []);
});

test('every repository path a code span of the README or docs/ names is there', async () => {
  const pages = await allPages();
  const folders = await repoFolders();
  assert.deepEqual(
    [...pages.values()].flatMap((p) => missingPaths(p, REPO, folders)),
    [],
  );
});

test('the README is a front door: short, linking to every docs/ page, each of which links back', async () => {
  const pages = await allPages();
  const readme = pages.get(README)!;
  const lines = (await fs.readFile(README, 'utf8')).split('\n').length;
  assert.ok(
    lines <= README_MAX_LINES,
    `README.md has ${lines} lines; at most ${README_MAX_LINES}: move the rest to docs/`,
  );
  const linked = new Set(readme.links.map((l) => path.resolve(REPO, l.split('#')[0]!)));
  for (const [file, page] of pages) {
    if (path.dirname(file) !== DOCS) continue;
    const name = path.relative(REPO, file);
    assert.ok(linked.has(file), `README.md links to ${name}`);
    assert.ok(
      page.links.some((l) => path.resolve(DOCS, l.split('#')[0]!) === README),
      `${name} links back to the README`,
    );
  }
});
