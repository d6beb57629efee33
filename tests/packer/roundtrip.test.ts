/**
 * A Packer template, imported with `client import-packer`, builds in the lab on debian-12-x64 the
 * way it built under Packer: its upload and script land in the image, and the steps this tool
 * does itself (cloud-init wait, DigitalOcean's cleanup and image check) are dropped with a note.
 * The same template in HCL2 (roundtrip/hcl2/) imports to the very same spec.
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
