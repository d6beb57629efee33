/**
 * No image leaves with the builder's key (issue #19 §3): a seal that fails fails the build — no
 * power-off through the API, no snapshot — and verify, on a droplet made from the image and
 * logged in to with a one-time key, fails for any key left in any user's authorized_keys*, the
 * builder's included, and shows that the builder's key does not open the droplet. And (§4) the
 * undo finishes when one compensation fails.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { buildState } from '../support/build-state';
import { startStack } from '../support/stack';
import type { Stack } from '../support/stack';

let stack: Stack;

before(async () => {
  stack = await startStack({ lab: { timing: { transferDelayMs: 200, maxDiskGiB: 1 } } });
});

after(async () => {
  await stack?.stop();
});

async function spec(name: string, body: string, files: Record<string, string> = {}): Promise<string> {
  const dir = path.join(stack.dir, name);
  await fs.mkdir(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) await fs.writeFile(path.join(dir, f), text, { mode: 0o755 });
  await fs.writeFile(
    path.join(dir, 'build.yaml'),
    `name: ${name}\nvendor: forge\ndroplet: { image: debian-12-x64 }\napt: { upgrade: false }\n${body}`,
  );
  return path.join(dir, 'build.yaml');
}

/** Runs a build to its end (a failed step gives up after a few seconds); returns its state and new audit records. */
async function build(file: string, id: string) {
  const from = (await stack.audit()).length;
  const start = await stack.client(['start-build', file, '--id', id, '--operator-timeout', '0.002']);
  assert.equal(start.code, 0, start.stderr);
  const outcome = await stack.temporal.client.workflow
    .getHandle(id)
    .result()
    .then(
      () => 'succeeded',
      (e: unknown) => String(e),
    );
  const state = await buildState(stack, id);
  assert.ok(state, 'the build has a state');
  await stack.lab.idle();
  const live = (await stack.lab.state()).droplets.list.filter((d) => d.status !== 'archive');
  assert.deepEqual(live, [], 'no droplet left');
  return { outcome, state, audit: (await stack.audit()).slice(from) };
}

test('a seal that fails fails the build: no power-off through the API, no snapshot', async () => {
  // A /root/.bash_history folder: cleanup goes on past it, the seal (`: > /root/.bash_history`) cannot.
  const file = await spec(
    'sealfail',
    'scripts:\n  - run: rm -f /root/.bash_history && mkdir -p /root/.bash_history/x\n',
  );
  const { outcome, state, audit } = await build(file, 'seal-fails');
  assert.notEqual(outcome, 'succeeded');
  const shutdown = state.steps.find((s) => s.name === 'shutdown');
  assert.equal(shutdown?.state, 'failed', JSON.stringify(state.steps));
  assert.match(shutdown?.error ?? '', /seal the image.*exited with code/);
  assert.ok(!state.steps.some((s) => s.name === 'snapshot'), 'no snapshot step ran');
  assert.ok(!audit.some((e) => e.type === 'image.created'), 'no image was made');
  const apiPowerOff = audit.filter(
    (e) => e.type === 'action.status' && ['power_off', 'shutdown'].includes(String(e.actionType)),
  );
  assert.deepEqual(apiPowerOff, [], 'nothing powered the droplet off through the API');
});

test("verify fails for any key on a droplet made from the image, the builder's included, and any other way in", async () => {
  // The builder's key kept aside passes validate and the seal (no authorized_keys holds it); a
  // first-boot script gives it to a user of its own, appends a key to root's whose comment is the
  // droplet's login key (its type and blob), and has sshd ask a command for keys.
  const file = await spec(
    'keyleak',
    'scripts:\n  - run: cp /root/.ssh/authorized_keys /etc/forge-builder-key\nfirstBoot: [onboot.sh]\n',
    {
      'onboot.sh':
        '#!/bin/bash\nuseradd -m -s /bin/bash app\nmkdir -p /home/app/.ssh\n' +
        'cp /etc/forge-builder-key /home/app/.ssh/authorized_keys && chown -R app: /home/app/.ssh\n' +
        'login=$(head -n1 /root/.ssh/authorized_keys | cut -d" " -f1,2)\n' +
        'echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKxPlantedKeyPlantedKeyPlantedKeyPlanted0 $login" >> /root/.ssh/authorized_keys\n' +
        "printf 'AuthorizedKeysCommand /usr/local/bin/keys %%u\\nAuthorizedKeysCommandUser nobody\\n' > /etc/ssh/sshd_config.d/keys.conf\n",
    },
  );
  const { outcome, state, audit } = await build(file, 'key-leak');
  assert.notEqual(outcome, 'succeeded');
  assert.equal(state.steps.find((s) => s.name === 'validate')?.state, 'succeeded', 'validate passed');
  const verify = state.steps.find((s) => s.name === 'verify');
  assert.equal(verify?.state, 'failed', JSON.stringify(state.steps));
  const error = verify?.error ?? '';
  assert.match(error, /the builder's login key opens a droplet made from the image as app \(/);
  assert.match(error, /\/home\/app\/\.ssh\/authorized_keys holds 1 key/);
  assert.match(error, /\/root\/\.ssh\/authorized_keys holds 1 key/);
  assert.match(error, /\/etc\/ssh\/sshd_config\.d\/keys\.conf sets AuthorizedKeysCommand \/usr\/local\/bin\/keys %u/);
  assert.ok(
    audit.some((e) => e.type === 'image.deleted'),
    'the failed image was deleted',
  );
  // The test droplet was logged in to with a one-time key, registered for it and deleted after.
  const created = audit.filter((e) => e.type === 'key.created').length;
  const deleted = audit.filter((e) => e.type === 'key.deleted').length;
  assert.ok(created >= 1 && deleted === created, `one-time keys: ${created} created, ${deleted} deleted`);
});

test('undo always finishes: the snapshot delete is refused, the build droplet is removed all the same', async () => {
  // The transfer fails for good, so the build ends with its build droplet still there; then its
  // first undo (delete the snapshot) is refused by DigitalOcean.
  stack.lab.faults.add({ kind: 'errored-action', actionType: 'transfer' });
  stack.lab.faults.add({ kind: 'refused', method: 'DELETE', path: '^/v2/images/\\d+$' });
  try {
    const file = await spec('undo', 'scripts:\n  - run: "true"\nsnapshot: { regions: [sfo3] }\n');
    const { outcome, state, audit } = await build(file, 'undo-fails');
    assert.notEqual(outcome, 'succeeded');
    const del = state.steps.find((s) => s.name === 'delete-snapshot');
    const destroy = state.steps.filter((s) => s.name === 'destroy');
    assert.equal(del?.state, 'failed', JSON.stringify(state.steps));
    assert.equal(destroy.at(-1)?.state, 'succeeded', 'the droplet undo ran after the failed one');
    const built = audit.find((e) => e.type === 'droplet.created');
    assert.ok(built && audit.some((e) => e.type === 'droplet.deleted' && e.dropletId === built.dropletId));
    assert.ok(!audit.some((e) => e.type === 'image.deleted'), 'the snapshot delete was refused');
  } finally {
    stack.lab.faults.clear();
  }
});

test('a hung script fails its step after its timeout, saying which script and how long', async () => {
  const file = await spec('hung', 'scripts:\n  - { run: "sleep 600", name: hangs, timeout: 4s }\n');
  const t0 = Date.now();
  const { outcome, state } = await build(file, 'hung-script');
  assert.notEqual(outcome, 'succeeded');
  const step = state.steps.find((s) => s.name === '01-script');
  assert.match(step?.error ?? '', /^script hangs timed out after 4s/);
  assert.ok(Date.now() - t0 < 240_000, 'the build did not wait for the script');
});

test('client abort during a long remote script ends the build, and the droplet with the script, within 30 s', async () => {
  const file = await spec('long', 'scripts:\n  - { run: "sleep 900", name: sleeps }\n');
  const id = 'abort-long';
  const start = await stack.client(['start-build', file, '--id', id]);
  assert.equal(start.code, 0, start.stderr);
  for (let i = 0; ; i++) {
    const s = await buildState(stack, id);
    if (s?.steps.some((x) => x.name === '01-script' && x.state === 'running')) break;
    assert.ok(i < 600, 'the script started');
    await new Promise((r) => setTimeout(r, 500));
  }
  await new Promise((r) => setTimeout(r, 3000));
  const t0 = Date.now();
  const abort = await stack.client(['abort', id, '--reason', 'too slow']);
  assert.equal(abort.code, 0, abort.stderr);
  const err = await stack.temporal.client.workflow
    .getHandle(id)
    .result()
    .then(
      () => undefined,
      (e: unknown) => e as { cause?: Error },
    );
  assert.match(String(err?.cause?.message), /build aborted: too slow/);
  await stack.lab.idle();
  const live = (await stack.lab.state()).droplets.list.filter((d) => d.status !== 'archive');
  assert.deepEqual(live, [], 'the droplet (and the script on it) is gone');
  assert.ok(Date.now() - t0 < 30_000, `the build ended ${Date.now() - t0} ms after the abort`);
});
