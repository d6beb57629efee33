/**
 * `--base`: the build stops before cleanup and keeps its droplet for the vendor to inspect — the
 * manifest says how to SSH in, the droplet is up with the files in place, and the janitor leaves
 * it alone unless asked (--include-base).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { connectSsh, exec } from '../../platform/ssh';
import type { BuildManifest } from '../../contract/build';
import { startStack } from '../support/stack';
import type { Stack } from '../support/stack';
import { REPO } from '../support/temporal';

let stack: Stack;

before(async () => {
  stack = await startStack({ lab: { timing: { transferDelayMs: 200, maxDiskGiB: 1 } } });
  await stack.stopWorker();
  await stack.startWorker({ extraEnv: { FORGE_TEST_SECRET: 'base-secret' } });
});

after(async () => {
  await stack?.stop();
});

test('--base keeps the droplet, with the work done and no snapshot', async () => {
  const run = await stack.client([
    'start-build',
    path.join(REPO, 'tests/build/fixtures/tiny/build.yaml'),
    '--base',
    '--wait',
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout) as { snapshot: unknown; manifest: BuildManifest };
  assert.equal(out.snapshot, null, 'no snapshot in base mode');
  const m = out.manifest;
  assert.ok(m.droplet, 'the manifest names the kept droplet');
  assert.equal(m.droplet.ssh, `ssh root@${m.droplet.ipv4}`);
  assert.ok(
    !m.steps.some((s) => ['cleanup', 'shutdown', 'snapshot', 'destroy'].includes(s.name)),
    'stopped before cleanup',
  );

  const conn = await connectSsh({
    host: m.droplet.ipv4,
    username: 'root',
    privateKey: await fs.readFile(stack.keyFile),
    readyTimeoutMs: 30_000,
  });
  let text = '';
  await exec(conn, 'cat /etc/tiny/tiny.conf; ls /var/lib/cloud/scripts/per-instance/', {
    onStdout: (b) => (text += b.toString()),
  });
  conn.end();
  assert.equal(text, 'tiny = yes\n001_onboot\n');

  const janitor = await stack.client(['janitor', '--json']);
  assert.deepEqual(
    (JSON.parse(janitor.stdout) as { orphans: unknown[] }).orphans,
    [],
    'the janitor leaves a kept droplet alone',
  );
  const sweep = await stack.client(['janitor', '--yes', '--include-base']);
  assert.match(sweep.stdout, new RegExp(`deleted droplet ${m.droplet.id}`));
  await stack.lab.idle();
  assert.equal((await stack.lab.state()).droplets.list.filter((d) => d.status !== 'archive').length, 0);
});
