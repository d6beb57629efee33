/**
 * `client --version` names this package's version and the Temporal SDK's; `client completion bash`
 * and `zsh` are written from the command tree: every command and flag completes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { REPO } from '../support/temporal';

const CLIENT = path.join(REPO, 'bin/client');
const versionOf = (file: string) => (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;

test('client --version prints the package version and the Temporal SDK version', () => {
  const own = versionOf(path.join(REPO, 'package.json'));
  const sdk = versionOf(path.join(REPO, 'node_modules/@temporalio/worker/package.json'));
  for (const flag of ['--version', '-V']) {
    const r = spawnSync(CLIENT, [flag], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `image-forge ${own} (Temporal TypeScript SDK ${sdk}, Node ${process.versions.node})`);
  }
});

/** What bash completes after `words` (the last one being completed), with the script sourced. */
function bashComplete(words: string[]): string[] {
  const script = `source <("${CLIENT}" completion bash) || exit 9
complete -p client
complete -p image-forge
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_image_forge_complete
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const [complete, alias, ...reply] = r.stdout.trim().split('\n');
  assert.match(complete!, /^complete .*-F _image_forge_complete client$/);
  assert.match(alias!, /^complete .*-F _image_forge_complete image-forge$/);
  return reply;
}

test('bash completion: commands, sub-commands and flags from the command tree', () => {
  assert.deepEqual(bashComplete(['client', 'sta']).sort(), ['start-build', 'status']);
  assert.ok(bashComplete(['client', '']).includes('worker'));
  assert.ok(bashComplete(['client', '']).includes('--version'));
  assert.ok(bashComplete(['client', 'worker', '--']).includes('--task-queue'));
  assert.ok(bashComplete(['client', 'start-build', 'build.yaml', '--']).includes('--wait'));
  assert.deepEqual(bashComplete(['client', 'local', 'st']).sort(), ['start', 'stop']);
});

test('zsh completion parses (zsh -n) and names every top-level command', () => {
  const script = spawnSync(CLIENT, ['completion', 'zsh'], { encoding: 'utf8' });
  assert.equal(script.status, 0, script.stderr);
  const check = spawnSync('zsh', ['-n'], { input: script.stdout, encoding: 'utf8' });
  assert.equal(check.error, undefined, 'zsh is installed by scripts/ensure-lab-debs.sh');
  assert.equal(check.status, 0, check.stderr);
  for (const cmd of ['start-build', 'status', 'validate', 'worker', 'completion'])
    assert.match(script.stdout, new RegExp(`'${cmd}'`));
});

test('completion for another shell is refused with one message', () => {
  const r = spawnSync(CLIENT, ['completion', 'fish'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'client: completion: no script for "fish": use bash or zsh\n');
});
