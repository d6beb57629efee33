/**
 * Nothing a droplet prints can exhaust the worker, and no secret gets through (issue #28 §3, §4),
 * on a real lab droplet over the worker's own SSH sessions: a script that prints 3 GiB without a
 * newline ends as it decides, with the worker's memory bounded and another step on the same
 * droplet going on meanwhile; a secret printed in pieces, on stdout and stderr, by a script and by
 * a non-script step, never shows in the step log nor in what `client status` prints.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { runScriptOn } from '../../../activities/remote/script';
import { runOnDroplet } from '../../../activities/remote/run-on-droplet';
import { stepLogKey } from '../../../activities/runtime/step-log';
import { LINE_CUT_NOTE } from '../../../activities/runtime/output-lines';
import type { ActivityDeps } from '../../../activities/runtime/deps';
import type { DropletShells } from '../../../activities/remote/droplet-shells';
import type { DropletRef } from '../../../contract/steps';
import { stepLines } from '../../../client/commands/status';
import type { TestDroplet } from '../../support/droplet';
import { pinnedDroplet } from '../../support/pinned-droplet';
import { startTestLab, type TestLab } from '../../support/lab-api';
import { labActivityDeps } from '../../support/lab-deps';

const SECRET = `lic-${randomBytes(8).toString('hex')}-ünï✓`;
let lab: TestLab;
let droplet: TestDroplet;
let ref: DropletRef;
let shells: DropletShells;
let deps: ActivityDeps;

before(async () => {
  lab = await startTestLab('output-bounds');
  ({ droplet, ref, shells } = await pinnedDroplet(lab, `output-bounds-${process.pid}`));
  await mkdir(join(lab.work, 'w'), { recursive: true });
  ({ deps } = labActivityDeps(lab.server, lab.token, join(lab.work, 'w'), {
    workerEnv: { ACME_LICENSE: SECRET },
    workerSecrets: ['ACME_LICENSE'],
  }));
  deps.shells = shells;
});

after(async () => {
  shells?.closeAll();
  await droplet?.destroy();
  await lab?.dispose();
});

async function stepLog(step: string): Promise<string> {
  return ((await deps.store.get(stepLogKey(ref.buildId, step))) ?? Buffer.alloc(0)).toString();
}

test('3 GiB without a newline: the step ends as the script decides, memory stays bounded, another step goes on', async () => {
  const rss0 = process.memoryUsage().rss;
  let rssMax = rss0;
  let lagMax = 0;
  let last = Date.now();
  const sampler = setInterval(() => {
    const now = Date.now();
    lagMax = Math.max(lagMax, now - last - 100);
    last = now;
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
  }, 100).unref();
  // Counts what the worker read from the droplet (the flood's 3 GiB, and a few bytes of the other steps).
  let received = 0;
  const floodDeps = {
    ...deps,
    shells: Object.assign(Object.create(shells) as DropletShells, {
      run: (r: DropletRef, command: string, opts: Parameters<DropletShells['run']>[2] = {}) =>
        shells.run(r, command, {
          ...opts,
          onOutput: (c: Buffer, stream: 'stdout' | 'stderr') => {
            received += c.length;
            opts.onOutput?.(c, stream);
          },
        }),
    }),
  };
  const t0 = Date.now();
  let flooding = true;
  const flood = runScriptOn(
    floodDeps,
    ref,
    '05-flood',
    'sha256-none',
    {
      kind: 'script',
      label: 'prints 3 GiB on one line',
      run: 'head -c 3G /dev/zero\necho\necho "after the flood"\nexit 3',
    },
    {},
  ).then(
    () => new Error('the script exits 3, yet its step succeeded'),
    (e: unknown) => e,
  );
  void flood.finally(() => (flooding = false));
  // Meanwhile, other steps on the same droplet (another build's, as far as the worker can tell) run.
  let others = 0;
  await new Promise((r) => setTimeout(r, 2000));
  // A worker that falls behind (the same output, joined again and again) would take far longer.
  const deadline = t0 + 300_000;
  while (flooding && Date.now() < deadline) {
    const r = await runScriptOn(
      deps,
      ref,
      `06-other-${others}`,
      'sha256-none',
      {
        kind: 'script',
        label: 'a short step',
        run: 'echo short-step-ok',
      },
      {},
    );
    assert.deepEqual(r.tail, ['short-step-ok']);
    if (flooding) others++;
    await new Promise((r) => setTimeout(r, 500));
  }
  clearInterval(sampler);
  assert.ok(!flooding, 'the 3 GiB step ended within 5 minutes');
  const err = await flood;
  const seconds = (Date.now() - t0) / 1000;
  console.log(
    `3 GiB step: ${seconds.toFixed(1)} s; rss ${rss0 >> 20} → max ${rssMax >> 20} MiB; event loop lag max ${lagMax} ms; ${others} other steps meanwhile`,
  );
  assert.ok(received > 3 * 2 ** 30, `3 GiB reached the worker (${received} bytes)`);
  assert.ok(err instanceof ApplicationFailure, String(err));
  assert.equal(err.message, 'prints 3 GiB on one line exited with code 3: after the flood');
  assert.ok(others >= 2, `other steps ran while the flood went on (${others})`);
  assert.ok(rssMax - rss0 < 200 << 20, `the worker's memory grew by ${(rssMax - rss0) >> 20} MiB`);
  assert.ok(lagMax < 3000, `the worker's event loop was held up for ${lagMax} ms`);
  const log = await stepLog('05-flood');
  assert.ok(log.length < 64 << 10, `the step log holds ${log.length} characters`);
  assert.match(
    log,
    new RegExp(`^\\0{16384}${LINE_CUT_NOTE.replace(/[[\]]/g, '\\$&')}\\nafter the flood\\n\\[exit code 3\\]\\n$`, 'm'),
  );
});

test('a secret printed in pieces, on stdout and stderr, is in no step log and nowhere in client status', async () => {
  // The secret goes out a few bytes per write (one cuts its ü in half), and whole on stderr.
  const pieces = 'printf "%s" "$LIC" | while IFS= read -r -n 5 -d "" part; do printf "%s" "$part"; sleep 0.05; done';
  const err = await runScriptOn(
    deps,
    ref,
    '07-leaky',
    'sha256-none',
    {
      kind: 'script',
      label: 'prints its licence',
      run: [
        `printf 'key: '; ${pieces}; echo`,
        'printf "%s" "$LIC" | head -c 27; sleep 0.2; printf "%s" "$LIC" | tail -c +28; echo " <- split mid-character"',
        'echo "err: $LIC" >&2',
        'printf "%s\\n" "$LIC" > /root/leaked',
        'exit 1',
      ].join('\n'),
    },
    { LIC: { fromWorker: 'ACME_LICENSE' } },
  ).then(
    () => assert.fail('the script exits 1'),
    (e: unknown) => e as ApplicationFailure,
  );
  // A step that is not a script (cleanup, validate, verify …) masks it too: it was given no env.
  const cleanup = await runOnDroplet(deps, ref, 'cleanup', 'cleanup', 'cat /root/leaked; cat /root/leaked >&2');
  const details = err.details?.[0] as { exitCode: number; tail: string[] };
  const status = stepLines({
    steps: [
      {
        name: '07-leaky',
        summary: 'run prints its licence',
        state: 'failed',
        attempts: 1,
        error: err.message,
        ...details,
      },
      { name: 'cleanup', summary: 'cleanup', state: 'failed', attempts: 1, error: 'x', tail: cleanup.tail },
    ],
  }).join('\n');
  const logs = `${await stepLog('07-leaky')}${await stepLog('cleanup')}`;
  for (const [where, text] of Object.entries({ status, logs })) {
    for (const part of [SECRET, SECRET.slice(0, 16), SECRET.slice(-12)])
      assert.ok(!text.includes(part), `${where} shows ${part === SECRET ? 'the secret' : 'part of it'}:\n${text}`);
  }
  assert.match(logs, /^key: \*\*\*$/m);
  assert.match(logs, /^\*\*\* <- split mid-character$/m);
  assert.match(logs, /^err: \*\*\*$/m);
  assert.equal(cleanup.tail.filter((l) => l === '***').length, 2, cleanup.tail.join('\n'));
  assert.match(status, /error: prints its licence exited with code 1: (err: )?\*\*\*/);
  assert.match(status, /^ {6}\| key: \*\*\*$/m);
});
