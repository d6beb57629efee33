/**
 * `client worker`: the worker as a command of its own — its help lists every setting the worker
 * reads, it runs the worker with those settings (and its flags) on the project's Node, and a
 * SIGTERM stops it cleanly (exit 0), as a service manager expects. `node dist/worker/main.js` on
 * an older Node refuses with one message. Real Temporal dev server and lab API.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ed25519FromSeed } from '../../platform/host-key';
import { REPO, startTemporal } from '../support/temporal';
import { startTestLab, type TestLab } from '../support/lab-api';

const CLIENT = path.join(REPO, 'bin/client');
/** The machine's own Node (20 here), older than package.json's engines. */
const SYSTEM_NODE = '/usr/bin/node';

/** Variables the worker's settings read: worker/config.ts and what it calls for Temporal and the store. */
function variablesRead(): string[] {
  const files = ['worker/config.ts', 'platform/temporal-settings.ts', 'context/store-config.ts'];
  const names = files.flatMap((f) =>
    [...readFileSync(path.join(REPO, f), 'utf8').matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]!),
  );
  return [...new Set(names)].sort();
}

test('client worker --help lists every variable the worker reads, each with a meaning', () => {
  const r = spawnSync(CLIENT, ['worker', '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const read = variablesRead();
  assert.ok(read.length >= 25, `found only ${read.length} variables: is the pattern still right?`);
  for (const name of read) {
    assert.match(r.stdout, new RegExp(`^\\s+${name}\\s+\\S.*$`, 'm'), `${name} is missing from client worker --help`);
  }
  assert.match(r.stdout, /--task-queue <name>/);
  assert.match(r.stdout, /SIGTERM/);
});

test('node dist/worker/main.js on a Node older than engines refuses with one message and exit 1', (t) => {
  const version = spawnSync(SYSTEM_NODE, ['--version'], { encoding: 'utf8' }).stdout.trim();
  assert.ok(existsSync(SYSTEM_NODE) && Number(version.slice(1).split('.')[0]) < 24, `${SYSTEM_NODE} is ${version}`);
  t.diagnostic(`${SYSTEM_NODE} is ${version}`);
  // Settings complete enough that only the Node version can stop it.
  const r = spawnSync(SYSTEM_NODE, [path.join(REPO, 'dist/worker/main.js')], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, DIGITALOCEAN_TOKEN: 'x', IMAGE_FORGE_SSH_KEY: '/nonexistent' },
    timeout: 60_000,
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^worker: needs Node 24 or newer, this is Node 20\.[^\n]*client worker[^\n]*\n$/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(r.stdout, '');
});

let temporal: TestWorkflowEnvironment;
let lab: TestLab;
let dir: string;

before(async () => {
  temporal = await startTemporal();
  lab = await startTestLab('svccmd');
  dir = await fs.mkdtemp(path.join(lab.work, 'worker-'));
});

after(async () => {
  await temporal?.teardown();
  await lab?.dispose();
});

test('client worker runs the worker with its flags, in place, and SIGTERM stops it with exit 0', async () => {
  const keyFile = path.join(dir, 'id_ed25519');
  await fs.writeFile(keyFile, ed25519FromSeed(randomBytes(32)).privateOpenSsh, { mode: 0o600 });
  const queue = `svc-cmd-${process.pid}`;
  const child = spawn(CLIENT, ['worker', '--task-queue', queue], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: temporal.address,
      DIGITALOCEAN_TOKEN: lab.token,
      DIGITALOCEAN_API_URL: lab.server.endpoint,
      IMAGE_FORGE_SSH_KEY: keyFile,
      IMAGE_FORGE_CACHE: path.join(dir, 'cache'),
      IMAGE_FORGE_STORE_DIR: path.join(dir, 'store'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  try {
    const deadline = Date.now() + 120_000;
    while (!out.includes('polling task queue') && child.exitCode === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    assert.match(out, new RegExp(`worker: polling task queue ${queue} on ${temporal.address}`), out);
    // The worker is this very process (bin/client and client exec it): the signal reaches it.
    const described = await temporal.client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: queue },
      taskQueueType: 2, // activities
    });
    assert.equal(described.pollers.length > 0, true, 'the worker polls the queue given by --task-queue');
    const stopAt = Date.now();
    child.kill('SIGTERM');
    const { code, signal } = await exited;
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, out);
    // Idle, it drains at once; the systemd unit's TimeoutStopSec covers the 30 s grace of a busy one.
    assert.ok(Date.now() - stopAt < 30_000, `took ${Date.now() - stopAt} ms to stop`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
