/**
 * Ansible end to end in the lab. A Packer template with an "ansible" provisioner
 * (tests/build/fixtures/ansible: a role with a template and a handler, group_vars, extra vars with
 * a sensitive variable, tags and skipped tags, a Galaxy file whose sources are in the folder) is
 * imported with `client import-packer` and built: the snapshot holds what the playbook did and no
 * ansible. A playbook whose task fails waits for the operator like a script; `client retry` runs it
 * again with the edited files, and `keepAnsible` leaves ansible-core in the image.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { BuildManifest } from '../../contract/build';
import { startStack } from '../support/stack';
import type { Stack } from '../support/stack';
import { REPO } from '../support/temporal';

const SECRET = 'ansible-build-secret "q" ünï';
let stack: Stack;

before(async () => {
  stack = await startStack({ lab: { timing: { transferDelayMs: 200, maxDiskGiB: 2 } } });
  await stack.stopWorker();
  await stack.startWorker({ extraEnv: { FORGE_TEST_SECRET: SECRET } });
});

after(async () => {
  await stack?.stop();
});

/** The fixture in a folder of the test's own, with the Galaxy role packed as the tarball it names. */
async function fixture(name: string): Promise<string> {
  const dir = path.join(stack.dir, name);
  await fs.cp(path.join(REPO, 'tests/build/fixtures/ansible'), dir, { recursive: true });
  execFileSync('tar', ['-C', dir, '-czf', path.join(dir, 'ansible/vendor/greeter.tar.gz'), 'greeter']);
  return dir;
}

/** A file of the snapshot, read from the lab's archive of it; undefined when it is not there. */
async function imageFile(snapshotId: number, file: string): Promise<string | undefined> {
  const archive = (await stack.lab.state()).archives.find((a) => a.id === snapshotId);
  assert.ok(archive, 'the lab knows the snapshot archive');
  try {
    return execFileSync('tar', ['--zstd', '-xOf', archive.archivePath, `./${file}`], { encoding: 'utf8' });
  } catch {
    return undefined;
  }
}

async function imageListing(snapshotId: number): Promise<string[]> {
  const archive = (await stack.lab.state()).archives.find((a) => a.id === snapshotId);
  assert.ok(archive);
  return execFileSync('tar', ['--zstd', '-tf', archive.archivePath], { maxBuffer: 256 << 20, encoding: 'utf8' })
    .split('\n')
    .map((l) => l.replace(/^\.\//, ''));
}

async function waitForStatus(buildId: string, status: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const r = await stack.client(['status', buildId, '--json']);
    if (r.code === 0) {
      const s = JSON.parse(r.stdout) as Record<string, unknown>;
      if (s.status === status) return s;
      if (s.status === 'failed') throw new Error(`${buildId} failed: ${r.stdout}`);
    }
    if (Date.now() > deadline) throw new Error(`${buildId} never reached ${status}: ${r.stdout}${r.stderr}`);
    await new Promise((res) => setTimeout(res, 2000));
  }
}

test('an imported ansible provisioner builds: the image holds the playbook’s work and no ansible', async () => {
  const dir = await fixture('imported');
  const imported = await stack.client([
    'import-packer',
    path.join(dir, 'template.json'),
    '--root',
    dir,
    '--out',
    path.join(dir, 'build.yaml'),
    '--vendor',
    'forge',
  ]);
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(
    imported.stdout + imported.stderr,
    /sensitive variable "forge_test_secret": read on the worker from FORGE_TEST_SECRET/,
  );
  // No apt work in the lab build beyond the step's own: it keeps the test quick.
  await fs.appendFile(path.join(dir, 'build.yaml'), 'apt:\n  upgrade: false\n');

  const r = await stack.client([
    'start-build',
    path.join(dir, 'build.yaml'),
    '--id',
    'ansible-web',
    '--wait',
    '--json',
  ]);
  assert.equal(r.code, 0, `build failed: ${r.stderr}\n${r.stdout}`);
  const { manifest } = JSON.parse(r.stdout) as { manifest: BuildManifest };
  assert.equal(manifest.verify?.state, 'verified');
  assert.deepEqual(
    manifest.steps.filter((s) => s.name.endsWith('-ansible')).map((s) => [s.name, s.state, s.attempts]),
    [['01-ansible', 'succeeded', 1]],
  );
  const id = manifest.snapshot!.id;
  assert.equal(
    await imageFile(id, 'etc/forge-web/app.conf'),
    '# Ansible managed\nlisten 8080\nmotto from the template\nfamily from group_vars\n',
    'the template, with the extra vars over the role defaults, and group_vars',
  );
  assert.equal(await imageFile(id, 'var/lib/forge-web-reloads'), 'reloaded\n', 'the handler ran once');
  assert.equal(await imageFile(id, 'etc/forge-web/greeter'), 'greeted\n', 'the Galaxy role');
  assert.equal(await imageFile(id, 'etc/forge-web/shout'), 'FROM THE TEMPLATE!\n', 'the Galaxy collection');
  assert.equal(await imageFile(id, 'etc/forge-untagged'), undefined, '--tags web');
  assert.equal(
    (await imageFile(id, 'etc/forge-web/secret.sha'))?.trim(),
    createHash('sha256').update(SECRET).digest('hex'),
    'the sensitive variable, read on the worker',
  );
  // No build tool the spec did not ask for, and nothing ansible left.
  assert.equal(manifest.packages?.['ansible-core'], undefined, JSON.stringify(manifest.packages).slice(0, 300));
  assert.equal(manifest.packages?.['python3-resolvelib'], undefined, 'nor what it pulled in');
  const listing = await imageListing(id);
  assert.deepEqual(
    listing.filter((f) => /^(root\/\.ansible|usr\/bin\/ansible|usr\/lib\/python3\/dist-packages\/ansible\/)/.test(f)),
    [],
  );

  const log = await stack.client(['logs', 'ansible-web', '--step', '01-ansible']);
  assert.match(log.stdout, /RUNNING HANDLER \[web : app config changed\]/);
  assert.match(log.stdout, /password is \*\*\*/, 'the secret is masked in the step log');
  assert.ok(!log.stdout.includes('ansible-build-secret'));
});

test('a failing task waits for the operator; retry runs the edited playbook; keepAnsible keeps ansible-core', async () => {
  const dir = await fixture('retry');
  const site = path.join(dir, 'ansible/site.yml');
  const fixed = await fs.readFile(site, 'utf8');
  await fs.appendFile(site, '    - name: not ready yet\n      fail: { msg: the operator must fix this }\n');
  const spec = [
    'name: ansible-retry',
    'vendor: forge',
    'droplet: { image: debian-12-x64 }',
    'apt: { upgrade: false }',
    'steps:',
    '  - run: echo before',
    '  - ansible:',
    '      playbook: ansible/site.yml',
    '      galaxy: ansible/requirements.yml',
    '      extraVars: { db_password: plain, motto: retried }',
    '      skipTags: [broken]',
    '      keepAnsible: true',
    '    name: configure',
    '',
  ].join('\n');
  await fs.writeFile(path.join(dir, 'build.yaml'), spec);
  const started = await stack.client(['start-build', path.join(dir, 'build.yaml'), '--id', 'ansible-retry', '--json']);
  assert.equal(started.code, 0, started.stderr);

  const waiting = (await waitForStatus('ansible-retry', 'waiting-for-operator')) as {
    waiting: { step: string; skippable: boolean; error: string };
    steps: { name: string; exitCode?: number; tail?: string[] }[];
  };
  assert.equal(waiting.waiting.step, '02-ansible');
  assert.equal(waiting.waiting.skippable, true);
  assert.match(
    waiting.waiting.error,
    /^configure exited with code 2: fatal: \[default\]: FAILED! .*the operator must fix this/,
  );
  assert.equal(waiting.steps.find((s) => s.name === '02-ansible')?.exitCode, 2);

  await fs.writeFile(site, fixed);
  const retry = await stack.client(['retry', 'ansible-retry']);
  assert.equal(retry.code, 0, retry.stderr);
  const done = (await waitForStatus('ansible-retry', 'succeeded')) as {
    steps: { name: string; attempts: number }[];
  };
  const attempts = Object.fromEntries(done.steps.map((s) => [s.name, s.attempts]));
  assert.equal(attempts['02-ansible'], 2, 'the playbook ran again');
  assert.equal(attempts['01-script'], 1);
  const manifest = (await stack.temporal.client.workflow.getHandle('ansible-retry').result()) as BuildManifest;
  assert.match(manifest.packages?.['ansible-core'] ?? '', /^2\./, 'keepAnsible: ansible-core is in the image');
  assert.equal(await imageFile(manifest.snapshot!.id, 'etc/forge-untagged'), 'ran\n', 'no --tags: every task ran');
  const log = await stack.client(['logs', 'ansible-retry', '--step', '02-ansible']);
  assert.match(log.stdout, /the operator must fix this[\s\S]*PLAY RECAP/, 'both attempts are in the step log');
});
