/** The build spec: every malformed spec gets a message naming the key, the line and what to do. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SpecError, loadSpec } from '../../spec/load';
import { buildSpecJsonSchema } from '../../spec/schema';
import { loadSpecForClient } from '../../client/build-input';

const REPO = path.resolve(__dirname, '..', '..', '..');

async function specDir(yaml: string, files: Record<string, string> = {}): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'spec-'));
  await fs.writeFile(path.join(dir, 'build.yaml'), yaml);
  for (const [rel, body] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fs.writeFile(path.join(dir, rel), body, { mode: 0o755 });
  }
  return path.join(dir, 'build.yaml');
}

async function problems(yaml: string, files: Record<string, string> = {}): Promise<string> {
  const file = await specDir(yaml, files);
  try {
    await loadSpec(file);
  } catch (err) {
    assert.ok(err instanceof SpecError, `expected a SpecError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('the spec was accepted');
}

const BASE = `name: demo
vendor: acme
droplet:
  image: debian-12-x64
`;

test('the example LAMP spec is valid and keeps its order', async () => {
  const { plan } = await loadSpec(path.join(REPO, 'examples/lamp/build.yaml'));
  assert.equal(plan.name, 'lamp');
  assert.deepEqual(
    plan.steps.map((s) => s.kind),
    ['upload', 'upload', 'script', 'script'],
  );
  assert.equal(plan.droplet.size, 's-1vcpu-1gb');
  assert.deepEqual(plan.firstBoot, ['scripts/onboot.sh', 'scripts/onboot-web.sh']);
});

test('defaults: smallest size, nyc3, upgrade on', async () => {
  const { plan } = await loadSpec(await specDir(BASE));
  assert.equal(plan.droplet.size, 's-1vcpu-1gb');
  assert.equal(plan.droplet.region, 'nyc3');
  assert.equal(plan.apt.upgrade, true);
});

test('an unknown key is named with its line', async () => {
  const msg = await problems(`${BASE}scrips: [a.sh]\n`);
  assert.match(msg, /build\.yaml:1:1: unknown key "scrips"/);
});

test('a nested unknown key points at its mapping', async () => {
  const msg = await problems(`${BASE}  sise: s-1vcpu-1gb\n`);
  assert.match(msg, /build\.yaml:4:3: droplet: unknown key "sise"/);
});

test('a wrong type names the key and line', async () => {
  const msg = await problems(`${BASE}apt:\n  packages: nginx\n`);
  assert.match(msg, /build\.yaml:6:13: apt\.packages: must be a list/);
});

test('a missing required key', async () => {
  const msg = await problems('name: demo\ndroplet: {image: debian-12-x64}\n');
  assert.match(msg, /vendor: is required/);
});

test('a missing file names the key and what to do', async () => {
  const msg = await problems(`${BASE}scripts:\n  - scripts/missing.sh\n`);
  assert.match(
    msg,
    /build\.yaml:6:5: scripts\[0\]: scripts\/missing\.sh does not exist in .*: create it or fix the path/,
  );
});

test('a bad mode', async () => {
  const msg = await problems(`${BASE}files:\n  - { src: a.txt, dest: /etc/a.txt, mode: "999" }\n`, { 'a.txt': 'x' });
  assert.match(msg, /files\[0\]\.mode: must be an octal mode in quotes/);
});

test('an absolute src and a relative dest', async () => {
  const msg = await problems(`${BASE}files:\n  - { src: /etc/passwd, dest: etc/passwd }\n`);
  assert.match(msg, /files\[0\]\.src: must be relative to the spec's folder/);
  assert.match(msg, /files\[0\]\.dest: must be an absolute path on the droplet/);
});

test('src may not leave the spec folder', async () => {
  const msg = await problems(`${BASE}files:\n  - { src: ../secret, dest: /x }\n`);
  assert.match(msg, /files\[0\]\.src: must stay inside the spec's folder/);
});

test('a script that is a folder', async () => {
  const msg = await problems(`${BASE}scripts: [scripts]\n`, { 'scripts/a.sh': '#!/bin/sh' });
  assert.match(msg, /scripts\[0\]: scripts must be a file/);
});

test('YAML syntax errors have positions', async () => {
  const msg = await problems(`${BASE}apt: [\n`);
  assert.match(msg, /build\.yaml:\d+:\d+: YAML syntax/);
});

test('duplicate keys are refused', async () => {
  const msg = await problems(`${BASE}name: again\n`);
  assert.match(msg, /YAML syntax: Map keys must be unique/);
});

test('steps and files together are refused', async () => {
  const msg = await problems(`${BASE}files:\n  - { src: a.txt, dest: /a }\nsteps:\n  - run: "true"\n`, {
    'a.txt': 'x',
  });
  assert.match(msg, /steps: use either steps, or files and scripts, not both/);
});

test('env: secrets only by reference to the worker', async () => {
  const { plan } = await loadSpec(
    await specDir(`${BASE}env:\n  LICENSE_KEY: { fromWorker: ACME_LICENSE_KEY }\n  MODE: production\n`),
  );
  assert.deepEqual(plan.env, { LICENSE_KEY: { fromWorker: 'ACME_LICENSE_KEY' }, MODE: { value: 'production' } });
  const msg = await problems(`${BASE}env:\n  bad-name: x\n`);
  assert.match(msg, /env.*must be an environment variable name/);
  // No environment variable can carry a NUL byte: refused here, not a mystery on the droplet.
  assert.match(await problems(`${BASE}env:\n  MODE: "a\\0b"\n`), /env\.MODE.*NUL byte/);
});

test('the ordered steps form keeps uploads and commands interleaved', async () => {
  const { plan } = await loadSpec(
    await specDir(
      `${BASE}steps:\n  - run: mkdir -p /opt/app\n  - upload: { src: app/, dest: /opt/app/ }\n  - script: setup.sh\n`,
      { 'app/x': '1', 'setup.sh': '#!/bin/sh' },
    ),
  );
  assert.deepEqual(
    plan.steps.map((s) => s.kind),
    ['script', 'upload', 'script'],
  );
});

test('the committed JSON Schema matches the spec definition', async () => {
  const committed = JSON.parse(await fs.readFile(path.join(REPO, 'spec/build-spec.schema.json'), 'utf8'));
  assert.deepEqual(committed, buildSpecJsonSchema());
});

test('client start-build refuses what a build cannot honour: a bastion without its host key, oversized user data', async () => {
  const bastion = `${BASE}ssh:\n  bastion: { host: jump.example.com, user: jump }\n`;
  // A valid document (an import may write it so), but no build starts without the bastion's host key.
  await loadSpec(await specDir(bastion));
  await assert.rejects(loadSpecForClient(await specDir(bastion)), (err: Error & { exitCode?: number }) => {
    assert.match(err.message, /ssh\.bastion\.hostKey is needed: the bastion's host key as "ssh-ed25519 AAAA…"/);
    assert.equal(err.exitCode, 2);
    return true;
  });
  const key = `ssh-ed25519 ${Buffer.alloc(51, 1).toString('base64')}`;
  await loadSpecForClient(await specDir(bastion.replace('user: jump }', `user: jump, hostKey: "${key}" }`)));
  const big = `${BASE}  userData: "#!/bin/sh\\n${'x'.repeat(66_000)}"\n`;
  await assert.rejects(loadSpecForClient(await specDir(big)), /at most 64 KiB of user data/);
  assert.match(
    await problems(bastion.replace('user: jump }', 'user: jump, hostKey: "AAAA" }')),
    /ssh\.bastion\.hostKey: must be the bastion's host key/,
  );
});

test("the plan's limits are checked at load too, at the spec's lines (issue #28)", async () => {
  // Nothing in the spec's own schema limits an inline command: the plan's rules, the worker's, do.
  const long = 'x'.repeat(300_000);
  assert.match(
    await problems(`${BASE}steps:\n  - run: ${long}\n`),
    /build\.yaml:6:10: steps\[0\]\.run: is over 256 KiB: put a command this long in a file/,
  );
  // Plan steps are files then scripts: the second plan step is scripts[0].
  assert.match(
    await problems(`${BASE}files:\n  - { src: a.txt, dest: /a }\nscripts:\n  - run: ${long}\n`, { 'a.txt': 'x' }),
    /build\.yaml:8:10: scripts\[0\]\.run: is over 256 KiB/,
  );
  assert.match(
    await problems(`${BASE}tests:\n  - run: ${long}\n`),
    /build\.yaml:6:10: tests\[0\]\.run: is over 256 KiB/,
  );
});
