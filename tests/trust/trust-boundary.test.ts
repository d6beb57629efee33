/**
 * The trust boundary (issue #19 §1–§2): a workflow input is checked on the worker before any
 * droplet exists. Builds are started straight through the Temporal client — as anyone who can
 * reach the task queue could — with inputs a spec file could never produce, and with build
 * contexts crafted to escape their folder; each is refused with a clear message and no droplet.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { contextKey, digestOf, packContext, publishContext } from '../../context/pack';
import { ContextError, fetchContext } from '../../context/unpack';
import { LocalDirStore } from '../../context/store';
import { loadSpec } from '../../spec/load';
import { contextPaths } from '../../spec/plan';
import { checkContextPath } from '../../activities/runtime/input-checks';
import { parseWorkerSecrets } from '../../contract/worker-secrets';
import type { BuildInput } from '../../contract/build';
import { LAB_TOKEN, startStack } from '../support/stack';
import type { Stack } from '../support/stack';
import { REPO } from '../support/temporal';
import { craftedTar, linkChain } from '../support/crafted-tar';
import type { TarHeaders as Headers } from '../support/crafted-tar';

const TINY = path.join(REPO, 'tests/build/fixtures/tiny/build.yaml');
const OTHER_SECRET = 'not-allowed-value-4471';
let stack: Stack;
let good: BuildInput;
let n = 0;

before(async () => {
  stack = await startStack({ worker: false });
  await stack.startWorker({ extraEnv: { FORGE_OTHER_SECRET: OTHER_SECRET, FORGE_TEST_SECRET: 'fine-secret-value' } });
  const loaded = await loadSpec(TINY);
  const ctx = await packContext(loaded.dir, contextPaths(loaded.plan));
  await publishContext(new LocalDirStore(stack.storeDir), ctx);
  good = {
    buildId: 'trust-good',
    plan: loaded.plan,
    contextDigest: ctx.digest,
    mode: 'image',
    snapshotName: 'tiny-trust',
    verify: false,
  };
});

after(async () => {
  await stack?.stop();
});

async function dropletsCreated(): Promise<number> {
  return (await stack.audit()).filter((e) => e.type === 'droplet.created').length;
}

/** Starts a build with `input` through the Temporal client; returns its failure and history. */
async function refused(input: BuildInput): Promise<{ message: string; type: string; history: string }> {
  const before = await dropletsCreated();
  const workflowId = `trust-${++n}`;
  const handle = await stack.temporal.client.workflow.start('buildImage', {
    args: [{ ...input, buildId: input.buildId === good.buildId ? workflowId : input.buildId }],
    taskQueue: 'image-forge',
    workflowId,
  });
  const err = await handle.result().then(
    () => assert.fail(`build ${workflowId} succeeded`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, String(err));
  const cause = err.cause;
  assert.ok(cause instanceof ApplicationFailure, String(cause));
  assert.equal(cause.nonRetryable, true);
  assert.equal(await dropletsCreated(), before, 'no droplet was created');
  const history = historyToJSON(await handle.fetchHistory());
  assert.doesNotMatch(history, /"provision"/, 'provision never ran');
  return { message: cause.message, type: cause.type ?? '', history };
}

/** How many attempts check-input made, from a build's history (its started event records the last). */
function checkInputAttempts(history: string): number {
  interface Event {
    eventId: string;
    activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
    activityTaskStartedEventAttributes?: { scheduledEventId?: string; attempt?: number };
  }
  const events = (JSON.parse(history) as { events: Event[] }).events;
  const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'checkInput');
  const started = events.find((e) => e.activityTaskStartedEventAttributes?.scheduledEventId === scheduled?.eventId);
  return started?.activityTaskStartedEventAttributes?.attempt ?? 0;
}

function withPlan(change: (p: BuildInput['plan']) => void): BuildInput {
  const copy = structuredClone(good);
  change(copy.plan);
  return copy;
}

test('§1 a fromWorker the operator did not allow is refused before any droplet; its value goes nowhere', async () => {
  const r = await refused(
    withPlan((p) => {
      p.env.LEAK = { fromWorker: 'FORGE_OTHER_SECRET' };
    }),
  );
  assert.match(r.message, /env LEAK reads FORGE_OTHER_SECRET/);
  assert.match(r.message, /add FORGE_OTHER_SECRET to IMAGE_FORGE_WORKER_SECRETS/);
  assert.equal(r.type, 'MissingWorkerEnv');
  assert.ok(!r.history.includes(OTHER_SECRET), 'the value is not in the history');
  const logs = await fs.readdir(path.join(stack.storeDir, 'logs')).catch(() => []);
  for (const build of logs) {
    for (const f of await fs.readdir(path.join(stack.storeDir, 'logs', build))) {
      const text = await fs.readFile(path.join(stack.storeDir, 'logs', build, f), 'utf8');
      assert.ok(!text.includes(OTHER_SECRET), `the value is in step log ${build}/${f}`);
    }
  }
});

test("§1 the worker's own token is refused even as a fromWorker", async () => {
  for (const name of ['DIGITALOCEAN_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'IMAGE_FORGE_SSH_KEY']) {
    const r = await refused(
      withPlan((p) => {
        p.env.T = { fromWorker: name };
      }),
    );
    assert.match(r.message, new RegExp(`reads ${name} .*which no build may read`));
    assert.ok(!r.history.includes(LAB_TOKEN), 'the token is not in the history');
  }
});

test('§1 a worker whose allow-list names its own credentials refuses to start, saying why', async () => {
  for (const [list, name] of [
    ['ACME_LICENSE_KEY, DIGITALOCEAN_TOKEN', 'DIGITALOCEAN_TOKEN'],
    ['TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_KEY'],
    ['SPACES_SECRET', 'SPACES_SECRET'],
    ['IMAGE_FORGE_SSH_KEY', 'IMAGE_FORGE_SSH_KEY'],
  ] as const) {
    const worker = stack.spawnWorker({ IMAGE_FORGE_WORKER_SECRETS: list });
    const code = await new Promise<number | null>((r) => worker.child.once('exit', r));
    const log = await fs.readFile(worker.logFile, 'utf8');
    assert.equal(code, 1, log);
    assert.match(log, new RegExp(`worker: IMAGE_FORGE_WORKER_SECRETS lists ${name}, which no build may read`));
    assert.doesNotMatch(log, /\n\s+at /, 'no stack trace');
  }
  assert.deepEqual(parseWorkerSecrets(' ACME_LICENSE_KEY ,B_2,,'), ['ACME_LICENSE_KEY', 'B_2']);
});

test('§1 a worker refuses to start with a listed secret too short to mask, naming it, never its value', async () => {
  const worker = stack.spawnWorker({ FORGE_TEST_SECRET: 'pw-1234' });
  const code = await new Promise<number | null>((r) => worker.child.once('exit', r));
  const log = await fs.readFile(worker.logFile, 'utf8');
  assert.equal(code, 1, log);
  assert.match(
    log,
    /^worker: FORGE_TEST_SECRET \(listed in IMAGE_FORGE_WORKER_SECRETS\) is shorter than 8 characters: step logs could not mask it safely/m,
  );
  assert.ok(!log.includes('pw-1234'), 'the value is not shown');
  assert.doesNotMatch(log, /\n\s+at /, 'no stack trace');
});

test('§1 client local start refuses an allow-list naming a credential before starting anything', async () => {
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'forge-local-'));
  const run = await stack.client(['local', 'start'], {
    IMAGE_FORGE_WORKER_SECRETS: 'DIGITALOCEAN_VENDOR_TOKEN',
    IMAGE_FORGE_CACHE: home,
  });
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /IMAGE_FORGE_WORKER_SECRETS lists DIGITALOCEAN_VENDOR_TOKEN, which no build may read/);
  assert.deepEqual(await fs.readdir(home), [], 'nothing was started');
  await fs.rm(home, { recursive: true, force: true });
});

test('§2 bad names, paths and formats in the input are refused before any droplet', async () => {
  const cases: [string, (p: BuildInput['plan']) => void, RegExp][] = [
    ['env name', (p) => (p.env['BAD-NAME; rm'] = { value: 'x' }), /env/],
    ['src climbing out', (p) => (p.steps[0] = { kind: 'upload', src: '../../../etc/passwd', dest: '/x' }), /src/],
    ['absolute src', (p) => (p.steps[0] = { kind: 'upload', src: '/etc/shadow', dest: '/x' }), /src/],
    ['src not normalised', (p) => (p.steps[0] = { kind: 'upload', src: 'files/./etc/tiny/', dest: '/x/' }), /src/],
    ['relative dest', (p) => (p.steps[0] = { kind: 'upload', src: 'files/etc/tiny/', dest: 'etc/tiny/' }), /dest/],
    ['dest with ..', (p) => (p.steps[0] = { kind: 'upload', src: 'files/etc/tiny/', dest: '/etc/../root/' }), /dest/],
    ['missing src', (p) => (p.steps[0] = { kind: 'upload', src: 'files/nothing', dest: '/x' }), /not in the build/],
    ['script path out', (p) => (p.steps[1] = { kind: 'script', path: 'x/../../y.sh', label: 'y' }), /path/],
    ['first-boot out', (p) => (p.firstBoot = ['../onboot.sh']), /firstBoot/],
    ['image slug', (p) => (p.droplet.image = '../../v2/account'), /droplet\.image/],
    ['region', (p) => (p.droplet.region = 'nyc3?x=1'), /droplet\.region/],
    ['size', (p) => (p.droplet.size = 'S 1GB'), /droplet\.size/],
    ['droplet tag', (p) => (p.droplet.tags = ['a b']), /droplet\.tags/],
    ['snapshot region', (p) => (p.snapshot.regions = ['Mars-1']), /snapshot\.regions/],
    ['snapshot tag', (p) => (p.snapshot.tags = ['x/y']), /snapshot\.tags/],
    [
      'app id',
      (p) => (p.marketplace = { appId: '../apps/other', version: '1', reasonForUpdate: 'r', software: [] }),
      /marketplace\.appId/,
    ],
    ['vendor', (p) => (p.vendor = '../../etc'), /vendor/],
    [
      'too many steps',
      (p) => (p.steps = Array.from({ length: 501 }, () => ({ kind: 'script', run: 'true', label: 't' }))),
      /steps/,
    ],
    ['mode', (p) => (p.steps[0] = { kind: 'upload', src: 'files/etc/tiny/', dest: '/x/', mode: '4755' }), /mode/],
    [
      'bastion',
      (p) => (p.ssh = { bastion: { host: 'jump;rm -rf /', port: 22, user: 'root', hostKey: 'ssh-ed25519 AAAA' } }),
      /ssh\.bastion/,
    ],
    ['vpc uuid', (p) => (p.droplet = { ...p.droplet, vpcUuid: '../../v2', privateNetworking: true }), /vpcUuid/],
  ];
  for (const [what, change, where] of cases) {
    const r = await refused(withPlan(change));
    assert.equal(r.type, 'SpecError', `${what}: ${r.message}`);
    assert.match(r.message, /refused input/, what);
    assert.match(r.message, where, `${what}: ${r.message}`);
  }
  for (const [what, change] of [
    ['snapshot name', { snapshotName: 'a/b' }],
    ['context digest', { contextDigest: 'sha256-../../x' }],
    ['build id', { buildId: 'a/b' }],
  ] as const) {
    const r = await refused({ ...good, ...change });
    assert.match(r.message, /refused input/, what);
  }
});

/** Publishes a crafted tar to the store under its digest, as publishContext does. */
async function crafted(entries: [Headers, string?][]): Promise<string> {
  const bytes = await craftedTar(entries);
  const digest = digestOf(bytes);
  await new LocalDirStore(stack.storeDir).put(contextKey(digest), bytes);
  return digest;
}

const ok: [Headers, string][] = [[{ name: 'build.yaml', type: 'file', mode: 0o644 }, 'name: x\n']];
const archives: [string, [Headers, string?][], RegExp][] = [
  ['a ".." entry', [[{ name: '../../escape.sh', mode: 0o755 }, 'x']], /climbs out/],
  ['an absolute name', [[{ name: '/etc/cron.d/evil', mode: 0o644 }, 'x']], /absolute name/],
  ['a symlink outside', [[{ name: 'etc', type: 'symlink', linkname: '../../../../etc' }]], /outside the build context/],
  ['an absolute symlink', [[{ name: 'etc', type: 'symlink', linkname: '/etc' }]], /absolute path/],
  ['a hard link outside', [[{ name: 'shadow', type: 'link', linkname: '../../etc/shadow' }]], /outside the build/],
  [
    'a device node',
    [[{ name: 'mem', type: 'character-device', devmajor: 1, devminor: 1 }]],
    /character-device|Character/i,
  ],
  ['a setuid file', [[{ name: 'su', mode: 0o4755 }, 'x']], /setuid/],
  // Each link inside by its text, l12 is / (issue #28): refused as it is, and whatever uses it.
  ['a chain of links out', linkChain(), /l1 links to l0\/\.\., which leads outside the build context/],
  [
    'a file written through a chain of links',
    [...linkChain(), [{ name: 'l12/escape.sh', mode: 0o755 }, 'x']],
    /l12\/escape\.sh is written through the symlink l12/,
  ],
  [
    'a hard link through a chain of links',
    [...linkChain(), [{ name: 'passwd', type: 'link', linkname: 'l12/etc/passwd' }]],
    /passwd is a hard link through the symlink l12/,
  ],
];

test('§2 build contexts that escape their folder are refused, and no droplet is created', async () => {
  const script = (p: BuildInput['plan']) => {
    p.steps = [{ kind: 'script', run: 'true', label: 'true' }];
    p.firstBoot = [];
  };
  for (const [what, entries, message] of archives) {
    const digest = await crafted([...ok, ...entries]);
    const r = await refused({ ...withPlan(script), contextDigest: digest });
    assert.equal(r.type, 'ContextError', `${what}: ${r.message}`);
    assert.match(r.message, message, `${what}: ${r.message}`);
    const cached = await fs.readdir(path.join(stack.dir, 'cache', 'worker-contexts')).catch(() => [] as string[]);
    assert.ok(!cached.some((d) => d.startsWith(digest)), `${what}: nothing of it stays unpacked`);
    assert.doesNotMatch(r.message, /ENOTEMPTY/, what);
    assert.equal(checkInputAttempts(r.history), 1, `${what}: the refusal is final, not retried`);
  }
  assert.equal(await dropletsCreated(), 0, 'no droplet was created');
  await assert.rejects(fs.stat('/escape.sh'), 'nothing was written outside');
});

test('§2 a context over the size limit is refused; a path through a symlink out of the context is refused', async () => {
  const store = new LocalDirStore(stack.storeDir);
  const digest = await crafted([...ok, [{ name: 'big', mode: 0o644 }, 'x'.repeat(4096)]]);
  const cache = await fs.mkdtemp(path.join(os.tmpdir(), 'forge-ctx-'));
  await assert.rejects(fetchContext(store, digest, cache, { bytes: 2048, entries: 10 }), (e: unknown) => {
    assert.ok(e instanceof ContextError);
    return /more than the limit of 2048/.test(e.message);
  });
  await assert.rejects(fetchContext(store, digest, cache, { bytes: 1 << 20, entries: 1 }), /entries, more than/);
  // A context unpacked before (or tampered with on the worker's disk) with a link out: refused by realpath.
  await fs.mkdir(path.join(cache, 'root'));
  await fs.symlink('/etc', path.join(cache, 'root', 'etc'));
  await assert.rejects(checkContextPath(path.join(cache, 'root'), 'etc/passwd'), /leads outside the build context/);
  await fs.rm(cache, { recursive: true, force: true });
});
