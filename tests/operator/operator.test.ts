/**
 * Operator control on real lab builds: a failed step waits (status and search attributes say so),
 * `client retry` runs only that step again with the edited script, `client skip` skips a script
 * step but is refused elsewhere, `client abort` destroys the droplet, and a build nobody answers
 * gives up after its operator timeout and cleans up. Every ending leaves no droplet behind.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { startStack } from '../support/stack';
import type { Stack } from '../support/stack';
import { REPO } from '../support/temporal';

let stack: Stack;

before(async () => {
  stack = await startStack({ lab: { timing: { transferDelayMs: 200, maxDiskGiB: 1 } } });
});

after(async () => {
  await stack?.stop();
});

/** A copy of the tiny spec whose second script fails until it is fixed. */
async function failingSpec(name: string, extraScript = ''): Promise<{ file: string; dir: string }> {
  const dir = path.join(stack.dir, name);
  await fs.cp(path.join(REPO, 'tests/build/fixtures/tiny'), dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'scripts/02-flaky.sh'), '#!/bin/bash\necho "about to fail"\nexit 3\n', {
    mode: 0o755,
  });
  let spec = await fs.readFile(path.join(dir, 'build.yaml'), 'utf8');
  spec = spec
    .replace('name: tiny', `name: ${name}`)
    .replace('  - scripts/01-hello.sh\n', `  - scripts/01-hello.sh\n  - scripts/02-flaky.sh\n${extraScript}`);
  spec = spec.replace(/env:\n[\s\S]*$/, 'env:\n  GREETING: hi\n  TINY_SECRET: not-secret-here\n');
  await fs.writeFile(path.join(dir, 'build.yaml'), spec);
  return { file: path.join(dir, 'build.yaml'), dir };
}

async function waitForStatus(buildId: string, status: string, timeoutMs = 180_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await stack.client(['status', buildId, '--json']);
    if (r.code === 0) {
      const s = JSON.parse(r.stdout) as Record<string, unknown>;
      if (s.status === status) return s;
    }
    if (Date.now() > deadline) throw new Error(`${buildId} never reached ${status}: ${r.stdout}${r.stderr}`);
    await new Promise((res) => setTimeout(res, 1000));
  }
}

async function start(file: string, ...extra: string[]): Promise<string> {
  const r = await stack.client(['start-build', file, '--json', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { buildId: string }).buildId;
}

async function liveDroplets(): Promise<number> {
  const state = await stack.lab.state();
  return state.droplets.list.filter((d) => d.status !== 'archive').length;
}

test('a failed script waits; retry runs only that step, with the edited script', async () => {
  const { file, dir } = await failingSpec('retry');
  const id = await start(file);
  const early = await stack.client(['retry', id]);
  assert.notEqual(early.code, 0, 'a retry while nothing failed is refused');
  assert.match(early.stderr, /nothing to retry: no step is waiting for an operator/);
  assert.doesNotMatch(early.stderr, /\n\s+at /, 'no stack trace');
  const waiting = (await waitForStatus(id, 'waiting-for-operator')) as {
    waiting: { step: string; skippable: boolean };
    steps: { name: string; exitCode?: number; tail?: string[] }[];
  };
  assert.equal(waiting.waiting.step, '03-script');
  const failed = waiting.steps.find((s) => s.name === '03-script')!;
  assert.equal(failed.exitCode, 3);
  assert.ok(
    failed.tail?.some((l) => l.includes('about to fail')),
    'last lines of output are kept',
  );

  const human = await stack.client(['status', id]);
  assert.match(human.stdout, /waiting-for-operator/);
  assert.match(human.stdout, /exit code: 3/);
  const listed = await stack.client(['list', '--status', 'waiting-for-operator', '--json']);
  assert.ok(
    (JSON.parse(listed.stdout) as { buildId: string }[]).some((b) => b.buildId === id),
    'the list filtered by status shows it',
  );

  await fs.writeFile(path.join(dir, 'scripts/02-flaky.sh'), '#!/bin/bash\necho "fixed now"\n', { mode: 0o755 });
  const retry = await stack.client(['retry', id]);
  assert.equal(retry.code, 0, retry.stderr);
  assert.match(retry.stdout, /retrying 03-script with the edited files/);

  const done = (await waitForStatus(id, 'succeeded')) as { steps: { name: string; attempts: number; state: string }[] };
  const attempts = Object.fromEntries(done.steps.map((s) => [s.name, s.attempts]));
  assert.equal(attempts['03-script'], 2, 'the failed step ran again');
  for (const step of ['provision', '01-upload', '02-script'])
    assert.equal(attempts[step], 1, `${step} did not run again`);
  const log = await stack.client(['logs', id, '--step', '03-script']);
  assert.match(log.stdout, /about to fail[\s\S]*fixed now/, 'both attempts are in the step log');

  const again = await stack.client(['retry', id]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /the build has already ended/);

  const created = (await stack.audit()).filter(
    (e) => e.type === 'droplet.created' && !String(e.name).startsWith('verify-'),
  );
  assert.equal(created.length, 1, 'one build droplet for the whole build (the verify step makes its own)');
  assert.equal(await liveDroplets(), 0);
});

test('skip: a failed script can be skipped, the build goes on', async () => {
  const { file } = await failingSpec('skip');
  const id = await start(file);
  await waitForStatus(id, 'waiting-for-operator');
  const r = await stack.client(['skip', id]);
  assert.equal(r.code, 0, r.stderr);
  // watch follows the build to its end: plain lines off a terminal, exit code = result.
  const watch = await stack.client(['watch', id]);
  assert.equal(watch.code, 0, watch.stderr);
  assert.match(watch.stderr, /03-script\s+skipped/);
  assert.match(watch.stderr, /snapshot\s+succeeded/);
  assert.match(watch.stdout, new RegExp(`${id}: succeeded`));
  const done = (await waitForStatus(id, 'succeeded')) as { steps: { name: string; state: string }[] };
  assert.equal(done.steps.find((s) => s.name === '03-script')?.state, 'skipped');
});

test('a failed validation cannot be skipped; abort destroys the droplet and fails the build', async () => {
  // A root password fails the Marketplace rules: the build must stop before the snapshot.
  const { file, dir } = await failingSpec('abort', '  - run: echo "root:Passw0rd-123" | chpasswd\n');
  await fs.writeFile(path.join(dir, 'scripts/02-flaky.sh'), '#!/bin/bash\ntrue\n', { mode: 0o755 });
  const id = await start(file);
  const waiting = (await waitForStatus(id, 'waiting-for-operator')) as { waiting: { step: string; error: string } };
  assert.equal(waiting.waiting.step, 'validate');
  assert.match(waiting.waiting.error, /root-password: root has a password set/);
  const skip = await stack.client(['skip', id]);
  assert.notEqual(skip.code, 0);
  assert.match(skip.stderr, /step validate cannot be skipped/);
  assert.ok((await liveDroplets()) >= 1, 'the droplet waits with the build');

  const abort = await stack.client(['abort', id, '--reason', 'test abort']);
  assert.equal(abort.code, 0, abort.stderr);
  const failed = (await waitForStatus(id, 'failed')) as { workflowStatus: string; snapshotId?: number };
  assert.equal(failed.workflowStatus, 'FAILED');
  const watch = await stack.client(['watch', id]);
  assert.equal(watch.code, 1, 'watch exits non-zero for a failed build');
  assert.equal(failed.snapshotId, undefined, 'no snapshot was taken');
  await stack.lab.idle();
  assert.equal(await liveDroplets(), 0, 'abort destroyed the droplet');
});

test('a build nobody answers gives up after its operator timeout and cleans up', async () => {
  const { file } = await failingSpec('timeout');
  // 0.002 h = 7.2 s
  const id = await start(file, '--operator-timeout', '0.002');
  const failed = (await waitForStatus(id, 'failed')) as { steps: { name: string; state: string; error?: string }[] };
  assert.ok(
    failed.steps.some((s) => s.name === 'destroy' && s.state === 'succeeded'),
    'the droplet was destroyed',
  );
  await stack.lab.idle();
  assert.equal(await liveDroplets(), 0);
});
