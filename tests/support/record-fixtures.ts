/**
 * Records the histories the replay test checks: real lab builds of the tiny spec — one that
 * completes, one that fails a step, waits for an operator and is retried, one that is aborted.
 * Run (as root) with `node dist/tests/support/record-fixtures.js [prefix]` after a deliberate
 * workflow change that is guarded by a patch, to add histories of the new code beside the old.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { startStack } from './stack';
import { REPO } from './temporal';

async function main(): Promise<void> {
  const stack = await startStack({ lab: { timing: { transferDelayMs: 200, maxDiskGiB: 1 } } });
  const out = path.join(REPO, 'tests/replay/histories');
  // A prefix keeps histories of older workflow code next to the new ones (e.g. `v2`).
  const prefix = process.argv[2] ? `${process.argv[2]}-` : '';
  const save = async (id: string, name: string) => {
    const h = await stack.temporal.client.workflow.getHandle(id).fetchHistory();
    await fs.writeFile(path.join(out, `${prefix}${name}.json`), historyToJSON(h));
    console.log(`recorded ${name}`);
  };
  const waitFor = async (id: string, status: string) => {
    for (;;) {
      const r = await stack.client(['status', id, '--json']);
      if (r.code === 0 && (JSON.parse(r.stdout) as { status: string }).status === status) return;
      await new Promise((res) => setTimeout(res, 1000));
    }
  };
  try {
    await stack.stopWorker();
    await stack.startWorker({ extraEnv: { FORGE_TEST_SECRET: 'not-a-real-secret' } });
    const tiny = path.join(REPO, 'tests/build/fixtures/tiny/build.yaml');
    const ok = await stack.client(['start-build', tiny, '--wait', '--id', 'replay-succeeded']);
    if (ok.code !== 0) throw new Error(ok.stderr);
    await save('replay-succeeded', 'tiny-succeeded');

    // A step that fails until its script is edited: waits, then is retried with the new context.
    const dir = path.join(stack.dir, 'flaky');
    await fs.cp(path.dirname(tiny), dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'scripts/01-hello.sh'), '#!/bin/bash\nexit 4\n', { mode: 0o755 });
    await stack.client(['start-build', path.join(dir, 'build.yaml'), '--id', 'replay-retried']);
    await waitFor('replay-retried', 'waiting-for-operator');
    await save('replay-retried', 'tiny-waiting-for-operator');
    await fs.writeFile(path.join(dir, 'scripts/01-hello.sh'), '#!/bin/bash\necho fixed\n', { mode: 0o755 });
    await stack.client(['retry', 'replay-retried']);
    await waitFor('replay-retried', 'succeeded');
    await save('replay-retried', 'tiny-retried');

    await fs.writeFile(path.join(dir, 'scripts/01-hello.sh'), '#!/bin/bash\nexit 5\n', { mode: 0o755 });
    await stack.client(['start-build', path.join(dir, 'build.yaml'), '--id', 'replay-aborted']);
    await waitFor('replay-aborted', 'waiting-for-operator');
    await stack.client(['abort', 'replay-aborted']);
    await waitFor('replay-aborted', 'failed');
    await save('replay-aborted', 'tiny-aborted');
  } finally {
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
