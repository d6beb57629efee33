import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { startStack } from '../support/stack';
import { REPO } from '../support/temporal';

test('tiny build', async () => {
  const stack = await startStack({ worker: false });
  try {
    await stack.startWorker({ extraEnv: { FORGE_TEST_SECRET: 'sup3r-s3cret-value' } });
    const r = await stack.client(['start-build', path.join(REPO, 'tests/build/fixtures/tiny/build.yaml'), '--wait', '--json']);
    const j = JSON.parse(r.stdout); console.log(JSON.stringify(j.manifest.steps.map((s: {name: string; seconds: number; attempts: number}) => [s.name, s.seconds, s.attempts]))); console.log(r.stderr);
    assert.equal(r.code, 0);
  } finally {
    await stack.stop();
  }
});
