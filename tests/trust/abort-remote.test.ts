/**
 * `client abort` during a long remote script (issue #19 §4): the cancelled activity ends the
 * script's process group on the droplet over a new channel (closing an SSH channel does not end
 * a process without a terminal). Fake SSH; the lab test is in seal.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { runScript } from '../../activities/run-script';
import type { ActivityDeps } from '../../activities/runtime/deps';
import { LocalDirStore } from '../../context/store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('a cancelled script step sends TERM to the script on the droplet', async (t) => {
  // The step log goes to a store of the test's own, removed after.
  const storeDir = mkdtempSync(join(tmpdir(), 'forge-abort-remote-'));
  t.after(() => rmSync(storeDir, { recursive: true, force: true }));
  const commands: string[] = [];
  let finish: (code: number) => void = () => undefined;
  let started: () => void = () => undefined;
  const running = new Promise<void>((r) => (started = r));
  const deps = {
    store: new LocalDirStore(storeDir),
    workerSecrets: [],
    workerEnv: {},
    shells: {
      run: async (_ref: unknown, command: string) => {
        commands.push(command);
        if (command.includes('timeout --kill-after')) {
          started();
          return { exitCode: await new Promise<number>((r) => (finish = r)), seconds: 1 };
        }
        if (command.includes('kill -TERM')) finish(143);
        return { exitCode: 0, seconds: 0 };
      },
      forget: () => undefined,
    },
  } as unknown as ActivityDeps;
  const env = new MockActivityEnvironment();
  const ref = { buildId: 'b', dropletId: 1, ipv4: '10.0.0.1' };
  const outcome = env
    .run(runScript(deps), {
      droplet: ref,
      step: '01-script',
      contextDigest: 'sha256-0',
      script: { kind: 'script' as const, run: 'sleep 900', label: 'sleeps' },
      env: {},
    })
    .catch((e: unknown) => e);
  await running;
  env.cancel('CANCELLED');
  const err = await outcome;
  assert.ok(
    commands.some((c) => /kill -TERM "\$pid"/.test(c) && c.includes('/run/image-forge/pids/01-script')),
    commands.join('\n---\n'),
  );
  assert.match(String(err), /exited with code 143/);
});
