/**
 * Bad input gets one clear message, a non-zero exit and no stack trace — and nothing is created:
 * malformed specs fail before any server is contacted; unknown builds and unreachable servers
 * are named as such.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { REPO, startTemporal } from '../support/temporal';

let temporal: TestWorkflowEnvironment;
let dir: string;

before(async () => {
  temporal = await startTemporal();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cli-'));
});

after(async () => {
  await temporal?.teardown();
  await fs.rm(dir, { recursive: true, force: true });
});

function client(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO, 'dist/client/main.js'), ...args], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: temporal.address,
        IMAGE_FORGE_STORE_DIR: path.join(dir, 'store'),
        ...env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

function oneClearMessage(stderr: string): void {
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  assert.match(stderr, /^client: /);
}

test('a malformed spec: exit 2, the key and line, nothing started', async () => {
  await fs.writeFile(
    path.join(dir, 'bad.yaml'),
    'name: Bad Name\nvendor: acme\ndroplet: {image: debian-12-x64}\nfiles:\n  - {src: missing.txt, dest: relative/path}\n',
  );
  const r = await client(['start-build', path.join(dir, 'bad.yaml')]);
  assert.equal(r.code, 2);
  oneClearMessage(r.stderr);
  assert.match(r.stderr, /bad\.yaml:1:7: name: use lowercase letters/);
  assert.match(r.stderr, /files\[0\]\.dest: must be an absolute path on the droplet/);
  const list = await client(['list', '--json']);
  assert.deepEqual(JSON.parse(list.stdout), [], 'no build was started');
});

test('a missing spec file', async () => {
  const r = await client(['start-build', path.join(dir, 'nope.yaml')]);
  assert.equal(r.code, 2);
  oneClearMessage(r.stderr);
  assert.match(r.stderr, /cannot read .*nope\.yaml: check the path/);
});

test('client validate: exit 0 when valid, 1 with the problems when not', async () => {
  const ok = await client(['validate', path.join(REPO, 'examples/lamp/build.yaml')]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /valid \(4 steps, 5 apt packages, 2 first-boot scripts\)/);
  await fs.writeFile(
    path.join(dir, 'v.yaml'),
    'name: v\nvendor: acme\ndroplet: {image: debian-12-x64}\nscripts: [gone.sh]\n',
  );
  const bad = await client(['validate', path.join(dir, 'v.yaml')]);
  assert.equal(bad.code, 1);
  oneClearMessage(bad.stderr);
  assert.match(bad.stderr, /v\.yaml:4:11: scripts\[0\]: gone\.sh does not exist/);
});

test("a symlink out of the spec's folder: start-build and validate refuse it, naming it; nothing started", async () => {
  const home = await fs.mkdtemp(path.join(dir, 'home-'));
  await fs.writeFile(path.join(home, 'credentials'), 'aws_secret_access_key = not-for-droplets\n');
  const spec = await fs.mkdtemp(path.join(dir, 'spec-'));
  await fs.mkdir(path.join(spec, 'files'));
  await fs.symlink(path.join(home, 'credentials'), path.join(spec, 'files/app.conf'));
  await fs.writeFile(
    path.join(spec, 'build.yaml'),
    'name: links\nvendor: acme\ndroplet: {image: debian-12-x64}\nfiles:\n  - {src: files/app.conf, dest: /etc/app.conf}\n',
  );
  const refusal = new RegExp(
    `build\\.yaml:5:11: files\\[0\\]\\.src: files/app\\.conf links to ${home}/credentials, outside the spec's folder ${spec}: copy the file into the folder instead of linking to it`,
  );
  const store = path.join(dir, 'links-store');
  const start = await client(['start-build', path.join(spec, 'build.yaml')], { IMAGE_FORGE_STORE_DIR: store });
  assert.equal(start.code, 2, start.stderr);
  oneClearMessage(start.stderr);
  assert.match(start.stderr, refusal);
  assert.doesNotMatch(start.stderr, /not-for-droplets/);
  const list = await client(['list', '--json']);
  assert.deepEqual(JSON.parse(list.stdout), [], 'no build was started');
  await assert.rejects(fs.readdir(store), 'nothing was packed or stored');

  const validate = await client(['validate', path.join(spec, 'build.yaml')]);
  assert.equal(validate.code, 1, validate.stderr);
  oneClearMessage(validate.stderr);
  assert.match(validate.stderr, refusal);

  // A link inside the folder is fine.
  await fs.rm(path.join(spec, 'files/app.conf'));
  await fs.writeFile(path.join(spec, 'app.conf'), 'port = 80\n');
  await fs.symlink('../app.conf', path.join(spec, 'files/app.conf'));
  const ok = await client(['validate', path.join(spec, 'build.yaml')]);
  assert.equal(ok.code, 0, ok.stderr);
});

test('an unknown build id', async () => {
  for (const cmd of ['status', 'watch', 'logs', 'retry', 'skip', 'abort']) {
    const r = await client([cmd, 'no-such-build']);
    assert.equal(r.code, 1, cmd);
    oneClearMessage(r.stderr);
    assert.match(r.stderr, /no build with id no-such-build in namespace default: see `client list`/, cmd);
  }
});

test('an unreachable Temporal server', async () => {
  const r = await client(['status', 'x'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  assert.equal(r.code, 1);
  oneClearMessage(r.stderr);
  assert.match(r.stderr, /cannot reach Temporal at 127\.0\.0\.1:1/);
});

test('the JSON Schema command prints the spec schema', async () => {
  const r = await client(['schema']);
  assert.equal(r.code, 0);
  const schema = JSON.parse(r.stdout) as { properties: Record<string, unknown> };
  assert.ok(schema.properties.firstBoot && schema.properties.droplet);
});

test('release commands: usage errors and unknown names get one clear message', async () => {
  const spec = path.join(REPO, 'tests/release/fixtures/web/build.yaml');
  const cases: [string[], number, RegExp][] = [
    [['schedule', 'create', spec], 2, /give exactly one of --every 30d or --cron/],
    [['schedule', 'create', spec, '--every', 'monthly'], 2, /--every must be a number and a unit/],
    [['schedule', 'pause', 'rebuild-nothing'], 1, /no schedule rebuild-nothing/],
    [['start-build', spec, '--publish', '--base'], 2, /--publish and --base do not go together/],
    [['start-build', spec, '--publish', '--review-poll', '0'], 2, /--review-poll must be a positive number/],
    [['approve', 'build-nothing'], 1, /no build with id build-nothing/],
    [['reject', 'build-nothing'], 2, /required option '--reason <text>'/],
  ];
  for (const [args, code, message] of cases) {
    const r = await client(args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  const matrix = path.join(dir, 'matrix.yaml');
  await fs.writeFile(matrix, (await fs.readFile(spec, 'utf8')) + 'matrix: { concurrency: 2 }\n');
  const r = await client(['validate', matrix]);
  assert.equal(r.code, 1);
  assert.match(r.stdout + r.stderr, /matrix: name at least one of image, size or region to vary/);
});
