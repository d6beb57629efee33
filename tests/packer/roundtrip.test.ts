/**
 * A Packer template, imported with `client import-packer`, builds in the lab on debian-12-x64 the
 * way it built under Packer: its upload and script land in the image, and the steps this tool
 * does itself (cloud-init wait, DigitalOcean's cleanup and image check) are dropped with a note.
 * The same template in HCL2 (roundtrip/hcl2/) imports to the very same spec. A second template
 * (roundtrip-idioms/) uses the idioms of issue #29 — a timestamped snapshot name, a script run as
 * another user by execute_command, two builds, hcp_packer_registry, a shell-local post-processor —
 * and its image is checked too, on the same lab.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { BuildManifest } from '../../contract/build';
import { dropletFromImage } from '../support/droplet';
import { LAB_TOKEN, startStack } from '../support/stack';
import type { Stack } from '../support/stack';
import { REPO } from '../support/temporal';

let stack: Stack;

before(async () => {
  stack = await startStack({ lab: { timing: { transferDelayMs: 200, maxDiskGiB: 1 } } });
});

after(async () => {
  await stack?.stop();
});

test('an imported Packer template builds in the lab', async () => {
  const dir = path.join(stack.dir, 'packer');
  await fs.cp(path.join(REPO, 'tests/packer/roundtrip'), dir, { recursive: true });
  const out = path.join(dir, 'build.yaml');
  const imp = await stack.client([
    'import-packer',
    path.join(dir, 'template.json'),
    '--root',
    dir,
    '--out',
    out,
    '--vendor',
    'acme',
  ]);
  assert.equal(imp.code, 0, imp.stderr);
  const said = imp.stdout + imp.stderr;
  assert.match(said, /cloud-init/i, 'the cloud-init wait is recognised');
  assert.match(said, /cleanup/i, 'the cleanup script is recognised');
  const spec = await fs.readFile(out, 'utf8');
  assert.doesNotMatch(spec, /90-cleanup|99-img_check|cloud-init status/, 'built-in steps are not copied');

  // The same template written in HCL2 (variables file, auto var file, locals, formatdate, env in a
  // default) gives the very same spec: what this test builds is what the HCL2 template builds.
  const hclOut = path.join(dir, 'build-hcl2.yaml');
  const hcl = await stack.client([
    'import-packer',
    path.join(dir, 'hcl2'),
    '--root',
    dir,
    '--out',
    hclOut,
    '--vendor',
    'acme',
  ]);
  assert.equal(hcl.code, 0, hcl.stderr);
  const body = (t: string) => t.replace(/^# Converted from .*\n/, '');
  assert.equal(body(await fs.readFile(hclOut, 'utf8')), body(spec));

  const run = await stack.client(['start-build', out, '--wait', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const m = (JSON.parse(run.stdout) as { manifest: BuildManifest }).manifest;
  assert.equal(m.status, 'succeeded');
  assert.match(m.snapshot?.name ?? '', /^roundtrip-snapshot/);

  const d = await dropletFromImage(stack.lab.endpoint, LAB_TOKEN, m.snapshot!.id);
  try {
    const r = await d.run('cat /etc/app/app.conf /etc/app/version');
    assert.equal(r.out, 'greeting = hello from packer\napp 1.2.3\n');
  } finally {
    await d.destroy();
  }
});

test('an imported HCL2 template with a timestamped name and a script run as another user builds in the lab', async () => {
  const dir = path.join(stack.dir, 'packer-idioms');
  await fs.cp(path.join(REPO, 'tests/packer/roundtrip-idioms'), dir, { recursive: true });
  const out = path.join(dir, 'build.yaml');
  const args = ['import-packer', dir, '--root', dir, '--out', out, '--vendor', 'acme'];
  const two = await stack.client(args);
  assert.notEqual(two.code, 0, 'two builds: one must be chosen');
  assert.match(
    two.stderr,
    /2 build blocks \("app" in app\.pkr\.hcl:\d+, "worker" in app\.pkr\.hcl:\d+\).*--build NAME/,
  );
  const imp = await stack.client([...args, '--build', 'app']);
  assert.equal(imp.code, 0, imp.stderr);
  assert.match(imp.stdout, /→ name: idioms: the tool names each snapshot <name>-<UTC timestamp>/);
  assert.match(imp.stdout, /execute_command runs the script as app \(su\)/);
  const spec = await fs.readFile(out, 'utf8');
  assert.match(spec, /^name: idioms$/m);
  assert.match(spec, /- script: scripts\/as-app\.sh\n {4}user: app\n/);

  const run = await stack.client(['start-build', out, '--wait', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const m = (JSON.parse(run.stdout) as { manifest: BuildManifest }).manifest;
  assert.equal(m.status, 'succeeded');
  assert.match(m.snapshot?.name ?? '', /^idioms-\d{8}T\d{6}Z$/, "the spec's name and its own UTC timestamp");

  const d = await dropletFromImage(stack.lab.endpoint, LAB_TOKEN, m.snapshot!.id);
  try {
    const r = await d.run(
      'stat -c "%U:%G %n" /home/app/data /home/app/data/greeting.txt; cat /home/app/data/greeting.txt',
    );
    assert.equal(
      r.out,
      'app:app /home/app/data\napp:app /home/app/data/greeting.txt\nhello from app as app in /home/app\n',
    );
  } finally {
    await d.destroy();
  }
});
