/**
 * The CI examples (examples/ci/) are valid YAML, and every `client` command they run exists with
 * every flag they pass: each invocation is checked against the real `client <command> --help`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { REPO } from '../support/temporal';

const EXAMPLES = path.join(REPO, 'examples/ci');

/** The shell scripts of a GitHub Actions workflow (steps' run:) or a GitLab pipeline (script: and before_script:). */
function scriptsOf(doc: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, key: string) => {
    if (typeof v === 'string' && key === 'run') out.push(v);
    else if (Array.isArray(v)) {
      for (const item of v) {
        if (typeof item === 'string' && /^(script|before_script|after_script)$/.test(key)) out.push(item);
        else walk(item, key);
      }
    } else if (v && typeof v === 'object') for (const [k, child] of Object.entries(v)) walk(child, k);
  };
  walk(doc, '');
  return out;
}

/** Each simple command of a script whose program is `client`, as its words (quotes removed). */
function clientInvocations(script: string): string[][] {
  const joined = script.replace(/\\\n/g, ' ');
  const words = (cmd: string) =>
    (cmd.match(/"(?:[^"\\]|\\.)*"|'[^']*'|[^\s"']+/g) ?? []).map((w) => w.replace(/^["']|["']$/g, ''));
  return joined
    .split(/&&|\|\||;|\||\n/)
    .map(words)
    .filter((w) => w[0] === 'client' || w[0]?.endsWith('/client') === true);
}

const helpCache = new Map<string, string>();
function help(command: string): string {
  if (!helpCache.has(command))
    helpCache.set(
      command,
      execFileSync(process.execPath, [
        path.join(REPO, 'dist/client/main.js'),
        ...(command ? command.split(' ') : []),
        '--help',
      ]).toString(),
    );
  return helpCache.get(command)!;
}

/** What is wrong with one invocation: an unknown command or flag (empty when it is fine). */
function problems(words: string[]): string[] {
  const top = help('');
  const [, name, maybeSub] = words;
  if (!name || !new RegExp(`^  ${name}\\b`, 'm').test(top)) return [`client has no command "${name}"`];
  // A command with subcommands (schedule create …) lists them under "Commands:".
  const sub = maybeSub && /^Commands:/m.test(help(name)) ? `${name} ${maybeSub}` : name;
  const text = help(sub);
  const known = new Set(text.match(/--[a-z][a-z0-9-]*/g) ?? []);
  return words
    .filter((w) => w.startsWith('--'))
    .map((w) => w.split('=')[0]!)
    .filter((flag) => !known.has(flag))
    .map((flag) => `client ${sub} has no flag ${flag}`);
}

test('the checker itself catches an unknown command and an unknown flag', () => {
  assert.deepEqual(problems(['client', 'start-buidl']), ['client has no command "start-buidl"']);
  assert.deepEqual(problems(['client', 'start-build', 'build.yaml', '--junit', 'r.xml', '--jnuit', 'x']), [
    'client start-build has no flag --jnuit',
  ]);
  assert.deepEqual(clientInvocations('cd x && client approve "$ID"; echo done'), [['client', 'approve', '$ID']]);
});

for (const file of ['github-actions.yml', 'gitlab-ci.yml']) {
  test(`examples/ci/${file}: valid YAML, and every client command and flag exists`, async () => {
    const text = await fs.readFile(path.join(EXAMPLES, file), 'utf8');
    const doc: unknown = parse(text, { prettyErrors: true });
    assert.ok(doc && typeof doc === 'object', 'a YAML mapping');
    const invocations = scriptsOf(doc).flatMap(clientInvocations);
    const commands = invocations.map((w) => w[1]);
    for (const needed of ['start-build', 'approve'])
      assert.ok(commands.includes(needed), `${file} runs client ${needed}: ${commands.join(', ')}`);
    const start = invocations.find((w) => w[1] === 'start-build')!;
    for (const flag of ['--wait', '--junit', '--summary', '--publish'])
      assert.ok(start.includes(flag), `${file}: start-build with ${flag}`);
    assert.deepEqual(invocations.flatMap(problems), []);
  });
}

test('--junit, --summary and --until-approval without --wait are refused plainly, before anything starts', () => {
  const run = (...args: string[]) => {
    try {
      execFileSync(process.execPath, [path.join(REPO, 'dist/client/main.js'), 'start-build', 'build.yaml', ...args], {
        stdio: 'pipe',
        env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' },
      });
      return { code: 0, stderr: '' };
    } catch (err) {
      const e = err as { status: number; stderr: Buffer };
      return { code: e.status, stderr: e.stderr.toString() };
    }
  };
  for (const flags of [['--junit', 'r.xml'], ['--summary', 's.md'], ['--until-approval']]) {
    const r = run(...flags);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^client: --junit, --summary and --until-approval report on a build followed to its end: add --wait\n$/,
    );
  }
  const r = run('--wait', '--until-approval');
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--until-approval stops at the wait for publishing approval: add --publish/);
});
