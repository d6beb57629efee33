/**
 * The seal covers every user (issue #28 §2): a build that gives a new user a copy of root's .ssh,
 * as DigitalOcean's initial-server-setup tutorial does, makes an image without the builder's key
 * — verify passes on a droplet made from it, and with --no-verify the snapshot itself holds none.
 * And the seal reads every authorized_keys* again after removing the key: one it could not
 * change fails the step, and no image is made.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { BuildManifest } from '../../contract/build';
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

/** The tutorial's steps, verbatim: https://www.digitalocean.com/community/tutorials/initial-server-setup-with-debian-11 */
async function sammySpec(name: string, then = ''): Promise<string> {
  const dir = path.join(stack.dir, name);
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, 'build.yaml');
  await fs.writeFile(
    file,
    `name: ${name}\nvendor: forge\ndroplet: { image: debian-12-x64 }\napt: { upgrade: false, packages: [rsync] }\n` +
      'scripts:\n' +
      "  - run: adduser --disabled-password --gecos '' sammy && rsync --archive --chown=sammy:sammy ~/.ssh /home/sammy\n" +
      then,
  );
  return file;
}

/** One file of the snapshot the build made, as the lab keeps it (a zstd tar of the droplet's disk). */
async function snapshotFile(snapshotId: number, file: string): Promise<string> {
  const archive = (await stack.lab.state()).archives.find((a) => a.id === snapshotId);
  assert.ok(archive, 'the lab knows the snapshot archive');
  return execFileSync('tar', ['--zstd', '-xOf', archive.archivePath, `./${file}`], { encoding: 'utf8' });
}

async function buildSammy(name: string, extra: string[]) {
  // A failed step gives up after a few seconds instead of waiting for an operator.
  const r = await stack.client([
    'start-build',
    await sammySpec(name),
    '--wait',
    '--json',
    '--operator-timeout',
    '0.002',
    ...extra,
  ]);
  assert.equal(r.code, 0, `build failed: ${r.stderr}\n${r.stdout}`);
  const out = JSON.parse(r.stdout) as { status: string; snapshot: { id: number }; manifest: BuildManifest };
  assert.equal(out.status, 'succeeded');
  const builderBlob = stack.worker!.deps.login.publicKey.split(/\s+/)[1]!;
  const sammyKeys = await snapshotFile(out.snapshot.id, 'home/sammy/.ssh/authorized_keys');
  assert.ok(!sammyKeys.includes(builderBlob), `the builder's key is in sammy's authorized_keys: ${sammyKeys}`);
  await stack.lab.idle();
  const live = (await stack.lab.state()).droplets.list.filter((d) => d.status !== 'archive');
  assert.deepEqual(live, [], 'no droplet left');
  return out.manifest;
}

test("a user given root's .ssh: the image holds no builder's key, and verify passes", async () => {
  const manifest = await buildSammy('sammy', []);
  assert.equal(manifest.verify?.state, 'verified', JSON.stringify(manifest.verify));
  assert.deepEqual(manifest.verify?.result?.validation.failures, []);
});

test("a user given root's .ssh, --no-verify: the snapshot holds no builder's key", async () => {
  const manifest = await buildSammy('sammynv', ['--no-verify']);
  assert.equal(manifest.verify?.state, 'skipped', 'verify did not run');
});

test("a builder's key the seal cannot remove fails the seal: no power-off through the API, no image", async () => {
  // sammy's .ssh is mounted read-only for the rest of this boot, the seal's included.
  const file = await sammySpec(
    'sammyro',
    '  - run: mount --bind /home/sammy/.ssh /home/sammy/.ssh && mount -o remount,bind,ro /home/sammy/.ssh\n',
  );
  const id = 'sammy-read-only';
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
  assert.notEqual(outcome, 'succeeded');
  const state = await buildState(stack, id);
  const shutdown = state?.steps.find((s) => s.name === 'shutdown');
  assert.equal(shutdown?.state, 'failed', JSON.stringify(state?.steps));
  assert.match(
    shutdown?.error ?? '',
    /the builder's login key is still in \/home\/sammy\/\.ssh\/authorized_keys after removing it/,
  );
  const audit = (await stack.audit()).slice(from);
  assert.ok(!audit.some((e) => e.type === 'image.created'), 'no image was made');
  assert.ok(
    !audit.some((e) => e.type === 'action.status' && ['power_off', 'shutdown'].includes(String(e.actionType))),
    'nothing powered the droplet off through the API',
  );
  await stack.lab.idle();
  const live = (await stack.lab.state()).droplets.list.filter((d) => d.status !== 'archive');
  assert.deepEqual(live, [], 'no droplet left');
});
