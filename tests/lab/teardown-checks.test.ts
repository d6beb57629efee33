/**
 * The lab tests' shared teardown fails a test that leaks — a droplet it did not delete, a mount
 * or loop device left in its state dir — naming it, and cleans it anyway; so does a build test's
 * stack, for droplets and verify's one-time keys. And a lab test run
 * without root fails with one clear sentence under CI, instead of a trace from deep in nspawn.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { skipUnlessRoot, startTestLab, waitFor } from '../support/lab-api';
import { hostLeftovers, NEEDS_ROOT, requireLabRoot, skipUnlessRootFor } from '../support/teardown';
import { REPO } from '../support/temporal';
import { LAB_TOKEN, startStack } from '../support/stack';
import { createApiClient } from 'dots-wrapper';
import { ed25519FromSeed } from '../../platform/host-key';

const skip = skipUnlessRoot;

test('without root: a clear failure under CI=true (never a skip), a skip outside CI', () => {
  assert.throws(() => requireLabRoot(1000), { message: NEEDS_ROOT });
  assert.doesNotThrow(() => requireLabRoot(0));
  assert.equal(skipUnlessRootFor(1000, 'true'), false, 'under CI the test runs, and fails');
  assert.equal(skipUnlessRootFor(1000, ''), NEEDS_ROOT, 'outside CI it is skipped, saying why');
  assert.equal(skipUnlessRootFor(0, 'true'), false);
});

test('a lab test file run as nobody with CI=true fails, saying it needs root', { skip }, async () => {
  const file = join(REPO, 'dist/tests/lab/droplet-lifecycle.test.js');
  // A test run of its own, not a subtest of this one.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--test', '--test-reporter=spec', file],
      { env: { ...env, CI: 'true', HOME: '/tmp' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
  assert.notEqual(r.code, 0, r.out);
  assert.ok(r.out.includes(NEEDS_ROOT), r.out);
  assert.doesNotMatch(r.out, /# skip [1-9]/, 'nothing skipped');
});

test(
  'a droplet left undeleted and a mount left in the state dir fail the teardown, named, then cleaned',
  { skip },
  async () => {
    const lab = await startTestLab('leakcheck');
    const created = await lab.client.droplet.createDroplet({
      name: 'forgotten',
      region: 'nyc3',
      size: 's-1vcpu-1gb',
      image: 'debian-12-x64',
    });
    const id = created.data.droplet.id;
    await waitFor('droplet active', async () => {
      const d = (await lab.client.droplet.getDroplet({ droplet_id: id })).data.droplet;
      return d.status === 'active' && !d.locked ? true : undefined;
    });
    const stray = join(lab.work, 'state', 'stray');
    await mkdir(stray, { recursive: true });
    await promisify(execFile)('mount', ['-t', 'tmpfs', 'tmpfs', stray]);

    await assert.rejects(lab.dispose(), (err: Error) => {
      assert.match(err.message, /lab test leakcheck left behind/);
      assert.ok(err.message.includes(`droplet ${id} (forgotten`), err.message);
      assert.ok(err.message.includes(`mount ${stray}`), err.message);
      return true;
    });
    assert.deepEqual(await hostLeftovers(lab.machinePrefix, lab.work), [], 'cleaned anyway');
  },
);

test('a droplet the test says it expects is not a leak', { skip }, async () => {
  const lab = await startTestLab('leakok');
  const created = await lab.client.droplet.createDroplet({
    name: 'kept-on-purpose',
    region: 'nyc3',
    size: 's-1vcpu-1gb',
    image: 'debian-12-x64',
  });
  await lab.dispose([created.data.droplet.id]);
  assert.deepEqual(await hostLeftovers(lab.machinePrefix, lab.work), []);
});

test(
  "a build test's stack fails its teardown on a droplet or a one-time verify key left behind, and cleans them",
  { skip },
  async () => {
    const stack = await startStack({ worker: false, aptCache: false });
    const client = createApiClient({ token: LAB_TOKEN, endpoint: stack.lab.endpoint });
    const id = (
      await client.droplet.createDroplet({
        name: 'leaked',
        region: 'nyc3',
        size: 's-1vcpu-1gb',
        image: 'debian-12-x64',
      })
    ).data.droplet.id;
    const pair = ed25519FromSeed(randomBytes(32));
    const key = (await client.sshKey.createSshKey({ name: 'image-forge-verify-abc', public_key: pair.publicOpenSsh }))
      .data.ssh_key.id;
    await assert.rejects(stack.stop(), (err: Error) => {
      assert.match(err.message, /this test stack left behind/);
      assert.ok(err.message.includes(`droplet ${id} (leaked`), err.message);
      assert.ok(err.message.includes(`ssh key ${key} (image-forge-verify-abc)`), err.message);
      return true;
    });
    assert.deepEqual(await hostLeftovers(stack.machinePrefix, stack.dir), [], 'cleaned anyway');
  },
);

test('a stack whose test kept a droplet on purpose, and says so, tears down clean', { skip }, async () => {
  const stack = await startStack({ worker: false, aptCache: false });
  const client = createApiClient({ token: LAB_TOKEN, endpoint: stack.lab.endpoint });
  const id = (
    await client.droplet.createDroplet({ name: 'kept', region: 'nyc3', size: 's-1vcpu-1gb', image: 'debian-12-x64' })
  ).data.droplet.id;
  await stack.stop([id]);
  assert.deepEqual(await hostLeftovers(stack.machinePrefix, stack.dir), []);
});
