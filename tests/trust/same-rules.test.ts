/**
 * One set of rules on both sides (issue #28 §6): a plan the client accepts, the worker accepts.
 * Each bad value below is refused by the client (`client validate` and `client start-build`, with
 * file:line:col, before anything starts) and by the worker's check-input, with the same rule.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { checkInput } from '../../activities/check-input';
import type { ActivityDeps } from '../../activities/runtime/deps';
import { loadSpec } from '../../spec/load';
import type { BuildInput } from '../../contract/build';
import type { BuildPlan } from '../../contract/plan';
import { MATRIX_MAX_CONCURRENCY, matrixProblems } from '../../contract/plan-checks';
import { REPO } from '../support/temporal';

/** check-input runs as an activity of the build's own workflow (its id is the build's). */
const asBuild = new MockActivityEnvironment({
  workflowExecution: { workflowId: 'same-rules', runId: 'run-same-rules' },
});

const BASE = 'name: demo\nvendor: acme\ndroplet:\n  image: debian-12-x64\n';

interface BadPlan {
  what: string;
  /** Appended to BASE. */
  yaml: string;
  /** Where the client must point, and the key it must name. */
  at: string;
  key: string;
  /** The same value, as the plan a workflow input carries. */
  change: (plan: BuildPlan) => void;
  /** The worker's field name. */
  field: string;
}

const BAD: BadPlan[] = [
  {
    what: 'a region that is not a slug',
    yaml: 'snapshot:\n  regions: ["NYC 3"]\n',
    at: '6:13',
    key: 'snapshot.regions[0]',
    change: (p) => (p.snapshot.regions = ['NYC 3']),
    field: 'input.plan.snapshot.regions.0',
  },
  {
    what: 'an app id of 70 characters',
    yaml: `marketplace:\n  appId: ${'a'.repeat(70)}\n`,
    at: '6:10',
    key: 'marketplace.appId',
    change: (p) => (p.marketplace = { appId: 'a'.repeat(70) }),
    field: 'input.plan.marketplace.appId',
  },
  {
    what: 'a script timeout over 115m',
    yaml: 'scripts:\n  - { run: "true", timeout: 116m }\n',
    at: '6:29',
    key: 'scripts[0].timeout',
    change: (p) => (p.steps = [{ kind: 'script', run: 'true', label: 'true', timeoutMs: 116 * 60_000 }]),
    field: 'input.plan.steps.0.timeoutMs',
  },
  {
    what: 'keep 0',
    yaml: 'snapshot:\n  keep: 0\n',
    at: '6:9',
    key: 'snapshot.keep',
    change: (p) => (p.snapshot.keep = 0),
    field: 'input.plan.snapshot.keep',
  },
  {
    what: 'a step name that is shell',
    yaml: `scripts:\n  - { run: "true", name: '"$(x)' }\n`,
    at: '6:26',
    key: 'scripts[0].name',
    change: (p) => (p.steps = [{ kind: 'script', run: 'true', label: '"$(x)', name: '"$(x)' }]),
    field: 'input.plan.steps.0.name',
  },
  {
    what: 'a user name that is a shell command',
    yaml: 'steps:\n  - { run: "true", user: "app;reboot" }\n',
    at: '6:26',
    key: 'steps[0].user',
    change: (p) => (p.steps = [{ kind: 'script', run: 'true', label: 'true', user: 'app;reboot' }]),
    field: 'input.plan.steps.0.user',
  },
  {
    what: 'a user name that is an option',
    yaml: 'steps:\n  - { script: setup.sh, user: "-c" }\n',
    at: '6:31',
    key: 'steps[0].user',
    change: (p) => (p.steps = [{ kind: 'script', path: 'setup.sh', label: 'setup.sh', user: '-c' }]),
    field: 'input.plan.steps.0.user',
  },
  {
    what: 'an apt package that is not a name',
    yaml: 'apt:\n  packages: ["nginx;reboot"]\n',
    at: '6:14',
    key: 'apt.packages[0]',
    change: (p) => (p.apt.packages = ['nginx;reboot']),
    field: 'input.plan.apt.packages.0',
  },
  {
    // The spec's schema has no size limit here: the plan's rules, which the loader runs too, do.
    what: 'an env value over 64 KiB',
    yaml: `env:\n  MODE: ${'x'.repeat(70_000)}\n`,
    at: '6:9',
    key: 'env.MODE',
    change: (p) => (p.env = { MODE: { value: 'x'.repeat(70_000) } }),
    field: 'input.plan.env.MODE.value',
  },
];

let dir: string;
let good: BuildInput;

/** Only the allow-list: the check must refuse before it reads the build context or anything else. */
const workerDeps = new Proxy({} as ActivityDeps, {
  get: (_t, prop) => {
    if (prop === 'then') return undefined;
    if (prop === 'workerSecrets') return [];
    throw new Error(`check-input reached deps.${String(prop)} before refusing the plan`);
  },
});

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'same-rules-'));
  await fs.writeFile(path.join(dir, 'good.yaml'), BASE);
  good = {
    buildId: 'same-rules',
    plan: (await loadSpec(path.join(dir, 'good.yaml'))).plan,
    contextDigest: `sha256-${'0'.repeat(64)}`,
    mode: 'image',
    snapshotName: 'demo-1',
  };
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function client(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO, 'dist/client/main.js'), ...args], {
      // Nothing to reach: a client that got past the checks would fail differently.
      env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:9', IMAGE_FORGE_STORE_DIR: path.join(dir, 'store') },
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stderr }));
  });
}

/** The client's rule for `bad`, from "build.yaml:L:C: key: rule". */
async function clientRefusal(bad: BadPlan, command: 'validate' | 'start-build'): Promise<string> {
  const file = path.join(dir, `${command}.yaml`);
  await fs.writeFile(file, BASE + bad.yaml);
  const r = await client([command, file]);
  assert.notEqual(r.code, 0, `${bad.what}: client ${command} accepted it`);
  const line = r.stderr.split('\n').find((l) => l.includes(`${command}.yaml:${bad.at}: ${bad.key}: `));
  assert.ok(line, `${bad.what}: client ${command} names ${bad.key} at ${bad.at}:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /connect|ECONNREFUSED|store/i, `${bad.what}: refused before reaching anything`);
  return line.slice(line.indexOf(`${bad.key}: `) + bad.key.length + 2);
}

/** The worker's rule for `bad`, from check-input's "refused input: field: rule". */
async function workerRefusal(bad: BadPlan): Promise<string> {
  const plan = structuredClone(good.plan);
  bad.change(plan);
  const err = await asBuild.run(checkInput(workerDeps), { ...good, plan }).then(
    () => assert.fail(`${bad.what}: check-input accepted it`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApplicationFailure, String(err));
  assert.equal(err.nonRetryable, true);
  const prefix = `refused input: ${bad.field}: `;
  assert.ok(err.message.startsWith(prefix), `${bad.what}: the worker names ${bad.field}: ${err.message}`);
  return err.message.slice(prefix.length);
}

for (const bad of BAD) {
  test(`client and worker refuse ${bad.what} with the same rule`, async () => {
    const rule = await workerRefusal(bad);
    assert.equal(await clientRefusal(bad, 'validate'), rule);
    assert.equal(await clientRefusal(bad, 'start-build'), rule);
  });
}

test('the plan of a good spec passes check-input up to the build context', async () => {
  // The only thing left to check is the context on disk, which the proxy above does not give.
  await assert.rejects(asBuild.run(checkInput(workerDeps), good), /check-input reached deps\.\w+ before refusing/);
});

test('client start-build refuses a matrix over the limits the matrix workflow applies', async () => {
  const file = path.join(dir, 'matrix.yaml');
  await fs.writeFile(file, `${BASE}matrix:\n  size: [s-1vcpu-1gb, s-2vcpu-2gb]\n`);
  const wide = MATRIX_MAX_CONCURRENCY + 1;
  const r = await client(['start-build', file, '--concurrency', String(wide)]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim(), `client: ${matrixProblems(wide, 2)[0]}`);
  const many = `${BASE}matrix:\n  size: [${Array.from({ length: 11 }, (_, i) => `s-${i}`).join(', ')}]\n  region: [${Array.from({ length: 10 }, (_, i) => `abc${i}`).join(', ')}]\n`;
  await fs.writeFile(file, many);
  const r2 = await client(['start-build', file]);
  assert.equal(r2.code, 2);
  assert.equal(r2.stderr.trim(), `client: ${matrixProblems(2, 110)[0]}`);
});
