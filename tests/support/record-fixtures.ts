/**
 * Records the histories the replay test checks: real lab builds of the tiny spec — one that
 * completes, one that fails a step, waits for an operator and is retried, one that is aborted.
 * Run (as root) with `node dist/tests/support/record-fixtures.js [prefix]` after a deliberate
 * workflow change that is guarded by a patch, to add histories of the new code beside the old.
 * `record-fixtures.js <prefix> release` records the release steps instead: a build waiting for
 * approval, one published through a busy app and a review, and a matrix build.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { labControl } from './lab-control';
import { startStack } from './stack';
import type { Stack } from './stack';
import { REPO } from './temporal';

async function main(): Promise<void> {
  const stack = await startStack({
    lab: { timing: { transferDelayMs: 200, maxDiskGiB: 1 } },
  });
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
  if (process.argv[3] === 'release') {
    try {
      await recordRelease(stack, save, waitFor);
    } finally {
      await stack.stop();
    }
    return;
  }
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

async function recordRelease(
  stack: Stack,
  save: (id: string, name: string) => Promise<void>,
  waitFor: (id: string, status: string) => Promise<void>,
): Promise<void> {
  const web = path.join(REPO, 'tests/release/fixtures/web/build.yaml');
  await labControl(stack.lab, '/_lab/vendor-apps', {
    method: 'POST',
    body: {
      id: 'lab-webcheck',
      name: 'Webcheck',
      status: 'inReview',
      review: { pendingMs: 500, inReviewMs: 500 },
    },
  });
  const fast = ['--review-poll', '0.015', '--busy-retry', '0.03'];
  await stack.client(['start-build', web, '--publish', '--id', 'replay-published', ...fast]);
  await waitFor('replay-published', 'waiting-for-approval');
  await save('replay-published', 'web-waiting-for-approval');
  await stack.client(['approve', 'replay-published']);
  await waitFor('replay-published', 'waiting-for-review');
  await labControl(stack.lab, '/_lab/vendor-apps/lab-webcheck', { method: 'POST', body: { status: 'approved' } });
  await waitFor('replay-published', 'succeeded');
  await save('replay-published', 'web-published');

  const dir = path.join(stack.dir, 'matrix');
  await fs.cp(path.dirname(web), dir, { recursive: true });
  const yaml = (await fs.readFile(path.join(dir, 'build.yaml'), 'utf8'))
    .replace('name: webcheck', 'name: webmatrix')
    .replace(/snapshot:[\s\S]*$/, 'matrix:\n  image: [debian-12-x64, debian-13-x64]\n');
  await fs.writeFile(path.join(dir, 'build.yaml'), yaml);
  const m = await stack.client([
    'start-build',
    path.join(dir, 'build.yaml'),
    '--wait',
    '--no-verify',
    '--id',
    'replay-matrix',
  ]);
  if (m.code !== 0) throw new Error(m.stderr);
  await save('replay-matrix', 'web-matrix');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
