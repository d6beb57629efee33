/**
 * Nothing secret anywhere, and a bad day at DigitalOcean costs nothing: a build with a
 * recognisable token, SSH private key and `env` secret leaves none of them in the workflow
 * history, the worker's log or the CLI's output; with 20 % of API requests failing (429, 5xx
 * with HTML bodies, timeouts, pending events, an errored snapshot action) a build still
 * completes with one droplet created and none left.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { LAB_TOKEN, startStack } from '../support/stack';
import type { Stack } from '../support/stack';
import { REPO } from '../support/temporal';

const TINY = path.join(REPO, 'tests/build/fixtures/tiny/build.yaml');
const SECRET = 'sup3r-s3cret-env-value-7781';
let stack: Stack;

before(async () => {
  stack = await startStack({
    worker: false,
    apiTimeoutMs: 2000,
    lab: { timing: { transferDelayMs: 200, maxDiskGiB: 1 } },
  });
});

after(async () => {
  await stack?.stop();
});

test('no token, private key or env secret in history, worker log or CLI output', async () => {
  const worker = stack.spawnWorker({ FORGE_TEST_SECRET: SECRET });
  const run = await stack.client(['start-build', TINY, '--wait', '--json', '--id', 'secrets']);
  assert.equal(run.code, 0, run.stderr);
  // The worker restarted itself in place with a lean young heap (worker/lean-heap.ts): same process.
  const cmdline = (await fs.readFile(`/proc/${worker.child.pid}/cmdline`, 'utf8')).split('\0');
  assert.ok(cmdline.includes('--max-semi-space-size=2'), cmdline.join(' '));
  const outputs = [run.stdout, run.stderr];
  for (const args of [
    ['status', 'secrets', '--json'],
    ['status', 'secrets'],
    ['logs', 'secrets'],
    ['list', '--json'],
  ]) {
    const r = await stack.client(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    outputs.push(r.stdout, r.stderr);
  }
  const logs = (await stack.client(['logs', 'secrets'])).stdout;
  assert.match(logs, /the secret is \*\*\*/, 'the step log masks the secret');

  const history = historyToJSON(await stack.temporal.client.workflow.getHandle('secrets').fetchHistory());
  await worker.kill('SIGTERM');
  const workerLog = await fs.readFile(worker.logFile, 'utf8');
  const key = await fs.readFile(stack.keyFile, 'utf8');
  const keyBody = key.split('\n').filter((l) => l && !l.startsWith('-----'));
  const places: Record<string, string> = { history, workerLog, cli: outputs.join('\n') };
  for (const [where, text] of Object.entries(places)) {
    assert.ok(text.length > 100, `${where} was read`);
    assert.ok(!text.includes(SECRET), `the env secret is in the ${where}`);
    assert.ok(!text.includes(LAB_TOKEN), `the token is in the ${where}`);
    for (const line of keyBody) assert.ok(!text.includes(line), `a line of the private key is in the ${where}`);
    assert.ok(!text.includes('OPENSSH PRIVATE KEY'), `a private key is in the ${where}`);
  }
});

test('a wrong token: the worker stops at start with one clear message, no token, no droplet', async () => {
  const worker = stack.spawnWorker({ DIGITALOCEAN_TOKEN: 'dop_v1_wrong-token-5521' });
  const code = await new Promise<number | null>((r) => worker.child.once('exit', r));
  const log = await fs.readFile(worker.logFile, 'utf8');
  assert.equal(code, 1);
  assert.match(log, /worker: DigitalOcean refused the token \(HTTP 401\): check DIGITALOCEAN_TOKEN/);
  assert.ok(!log.includes('wrong-token-5521'), 'the token is not echoed');
  assert.doesNotMatch(log, /\n\s+at /, 'no stack trace');
});

test('20 % of API requests fail: the build completes, one droplet created, none left', async () => {
  const audit0 = (await stack.audit()).length;
  const api = '^/v2/';
  stack.lab.faults.reseed(7);
  // About 20 % of all API requests: 429s, HTML 502s, JSON 503s and answers slower than the timeout.
  stack.lab.faults.add({ kind: 'rate-limit', path: api, probability: 0.08, retryAfterSeconds: 1 });
  stack.lab.faults.add({ kind: 'server-error', path: api, probability: 0.08, status: 502, html: true });
  stack.lab.faults.add({ kind: 'server-error', path: api, probability: 0.04, status: 503 });
  stack.lab.faults.add({ kind: 'delay', path: api, probability: 0.06, delayMs: 3000 });
  stack.lab.faults.add({ kind: 'pending-event', probability: 0.3 });
  stack.lab.faults.add({ kind: 'errored-action', actionType: 'snapshot', times: 1 });
  const worker = stack.spawnWorker({ FORGE_TEST_SECRET: SECRET, IMAGE_FORGE_API_TIMEOUT_MS: '2000' });
  try {
    const run = await stack.client(['start-build', TINY, '--wait', '--json', '--id', 'faults']);
    assert.equal(run.code, 0, `${run.stderr}\n${run.stdout}`);
    const out = JSON.parse(run.stdout) as { status: string; snapshot: { id: number } };
    assert.equal(out.status, 'succeeded');
    // Only this build's records: the earlier tests' requests had no faults to meet.
    const audit = (await stack.audit()).slice(audit0);
    const requests = audit.filter((e) => e.type === 'request' && String(e.path).startsWith('/v2/'));
    // Delays answer normally, only too late for the client: the audit shows them by their time.
    const injected = requests.filter((e) => e.fault !== undefined || Number(e.ms) >= 2900);
    const kinds = new Set(injected.map((e) => (e.fault !== undefined ? String(e.fault) : 'delay')));
    console.log(`fault test: ${injected.length} of ${requests.length} API requests faulted (${[...kinds].join(', ')})`);
    assert.ok(
      injected.length >= 0.1 * requests.length && kinds.size >= 3,
      `faults were injected (${injected.length}: ${[...kinds].join(', ')})`,
    );
    const builds = audit.filter((e) => e.type === 'droplet.created');
    assert.equal(builds.filter((e) => !String(e.name).startsWith('verify-')).length, 1, 'one build droplet created');
    assert.ok(
      builds.some((e) => String(e.name).startsWith('verify-')),
      'the image was tested on a droplet of its own',
    );
    assert.ok(
      audit.some((e) => e.type === 'action.errored' || (e.type === 'action.status' && e.status === 'errored')),
      'the snapshot action errored once',
    );
    await stack.lab.idle();
    const state = await stack.lab.state();
    assert.equal(state.droplets.list.filter((d) => d.status !== 'archive').length, 0, 'no droplet left');
  } finally {
    stack.lab.faults.clear();
    await worker.kill('SIGTERM');
  }
});
