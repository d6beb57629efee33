/**
 * A step whose log cannot be written to the store (issue #19 §4) still runs, and says so: the
 * warning is in the step's result, in its record, and in `client status` — never silently lost,
 * and never carrying the log's text or a secret.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runOnDroplet } from '../../../activities/remote/run-on-droplet';
import { StepLog } from '../../../activities/runtime/step-log';
import type { ActivityDeps } from '../../../activities/runtime/deps';
import type { BlobStore } from '../../../context/store';
import { stepLines } from '../../../client/commands/status';

const SECRET = 'hunter2-secret-value';
const failing = {
  append: () => Promise.reject(new Error(`disk full writing logs/b/step (${SECRET})`)),
} as unknown as BlobStore;
const working = { append: () => Promise.resolve() } as unknown as BlobStore;

test('a log the store refuses: a warning naming the cause, the secret masked; a stored log: none', async () => {
  const lost = new StepLog(failing, 'logs/b/step', [SECRET]);
  lost.write('some output\n');
  await lost.close();
  assert.match(lost.warning ?? '', /the step log could not be stored whole \(disk full writing logs\/b\/step/);
  assert.ok(!lost.warning!.includes(SECRET), lost.warning);
  assert.ok(!lost.warning!.includes('some output'));

  const kept = new StepLog(working, 'logs/b/step');
  kept.write('some output\n');
  await kept.close();
  assert.equal(kept.warning, undefined);
});

test('the step succeeds with the warning in its result, and client status shows it under the step', async () => {
  const deps = {
    store: failing,
    shells: {
      run: async (_ref: unknown, _cmd: string, opts: { onOutput?: (c: Buffer) => void }) => {
        opts.onOutput?.(Buffer.from('hello\n'));
        return { exitCode: 0, seconds: 0.1 };
      },
    },
  } as unknown as ActivityDeps;
  const r = await runOnDroplet(
    deps,
    { buildId: 'b', dropletId: 1, ipv4: '10.0.0.1' },
    '01-script',
    'says hello',
    'echo hello',
  );
  assert.equal(r.exitCode, 0);
  assert.match(r.warning ?? '', /could not be stored whole/);

  const lines = stepLines({
    steps: [
      {
        name: '01-script',
        summary: 'run says hello',
        state: 'succeeded',
        attempts: 1,
        seconds: 0.1,
        warning: r.warning!,
      },
    ],
  });
  assert.match(lines.join('\n'), /^ {6}warning: the step log could not be stored whole/m);
});
