/**
 * A build whose client and worker share no folder: the client packs the spec into a real S3
 * server (versitygw), the worker fetches it by digest from there and writes its step logs there,
 * and `client logs` reads them back. Wrong credentials stop the worker at start with one clear
 * message.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { startS3Stack } from '../support/s3-stack';
import type { S3Stack } from '../support/s3-stack';
import type { S3Server } from '../support/s3-server';
import type { Stack } from '../support/stack';
import { REPO } from '../support/temporal';

let fleet: S3Stack;
let stack: Stack;
let s3: S3Server;

before(async () => {
  fleet = await startS3Stack();
  ({ stack, s3 } = fleet);
});

after(async () => {
  await fleet?.stop();
});

test('client and worker share only the bucket: the build succeeds and its logs are readable', async () => {
  const clientDir = path.join(stack.dir, 'client-only');
  const worker = stack.spawnWorker({ ...fleet.machineEnv('worker-only'), FORGE_TEST_SECRET: 's3-test-secret' });
  try {
    const env = fleet.machineEnv('client-only');
    const run = await stack.client(
      ['start-build', path.join(REPO, 'tests/build/fixtures/tiny/build.yaml'), '--wait', '--json', '--id', 's3-build'],
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { status: string; snapshot: { id: number } };
    assert.equal(out.status, 'succeeded');
    const bucketFiles = await fs.readdir(path.join(s3.root, s3.bucket, 'contexts'));
    assert.equal(bucketFiles.filter((f) => f.endsWith('.tar')).length, 1, 'the context is in the bucket');
    assert.ok(
      !(await fs.stat(path.join(clientDir, 'contexts')).then(
        () => true,
        () => false,
      )),
      'nothing went to a local folder',
    );
    const logs = await stack.client(['logs', 's3-build', '--step', '02-script'], env);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /hello from/, 'step logs come back from the bucket');
  } finally {
    await worker.kill('SIGTERM');
  }
});

test('wrong S3 credentials: the worker stops at start with one clear message', async () => {
  const worker = stack.spawnWorker({ ...s3.env, AWS_SECRET_ACCESS_KEY: 'wrong-secret-value-1234' });
  const code = await new Promise<number | null>((r) => worker.child.once('exit', r));
  const log = await fs.readFile(worker.logFile, 'utf8');
  assert.equal(code, 1);
  assert.match(log, /worker: the build store is not usable: .*AWS_ACCESS_KEY_ID/);
  assert.ok(!log.includes('wrong-secret-value-1234'));
  assert.doesNotMatch(log, /\n\s+at /);
});
