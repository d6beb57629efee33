/**
 * The `ansible:` step's rules, where each side checks them: the spec (a message at the key's line),
 * the plan rules the client and the worker share (a forged plan refused the same way), and the
 * activity, which refuses a bad value before it reaches the store, the droplet or a secret.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { SpecError, loadSpec } from '../../spec/load';
import { contextPaths } from '../../spec/plan';
import { planIssues } from '../../contract/plan-schema';
import type { AnsibleStep, BuildPlan } from '../../contract/plan';
import { ansiblePlaybook } from '../../activities/ansible-playbook';
import { checkBuildInput } from '../../activities/runtime/input-checks';
import type { ActivityDeps } from '../../activities/runtime/deps';
import type { BuildInput } from '../../contract/build';

const BASE = 'name: demo\nvendor: acme\ndroplet:\n  image: debian-12-x64\n';
const PLAY = { 'ansible/site.yml': '- hosts: all\n  tasks: []\n', 'ansible/requirements.yml': 'roles: []\n' };

async function specDir(yaml: string, files: Record<string, string> = PLAY): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ansible-spec-'));
  await fs.writeFile(path.join(dir, 'build.yaml'), yaml);
  for (const [rel, body] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fs.writeFile(path.join(dir, rel), body);
  }
  return path.join(dir, 'build.yaml');
}

async function problems(yaml: string, files: Record<string, string> = PLAY): Promise<string> {
  try {
    await loadSpec(await specDir(yaml, files));
  } catch (err) {
    assert.ok(err instanceof SpecError, `expected a SpecError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('the spec was accepted');
}

test('an ansible step becomes a plan step: the folder sent is the playbook’s, extra vars keep their types', async () => {
  const { plan } = await loadSpec(
    await specDir(
      `${BASE}steps:\n  - run: echo before\n  - ansible:\n      playbook: ansible/site.yml\n      galaxy: ansible/requirements.yml\n` +
        `      extraVars: { port: 8080, debug: true, motto: hi, password: { fromWorker: DB_PASSWORD } }\n` +
        `      env: { ANSIBLE_NOCOLOR: "True" }\n      user: app\n      tags: [config, web]\n      skipTags: [slow]\n` +
        `      keepAnsible: true\n    timeout: 20m\n    name: configure the app\n`,
    ),
  );
  assert.deepEqual(plan.steps[1], {
    kind: 'ansible',
    playbook: 'ansible/site.yml',
    dir: 'ansible',
    galaxy: 'ansible/requirements.yml',
    extraVars: {
      port: { value: 8080 },
      debug: { value: true },
      motto: { value: 'hi' },
      password: { fromWorker: 'DB_PASSWORD' },
    },
    env: { ANSIBLE_NOCOLOR: 'True' },
    user: 'app',
    tags: ['config', 'web'],
    skipTags: ['slow'],
    keepAnsible: true,
    label: 'configure the app',
    name: 'configure the app',
    timeoutMs: 20 * 60_000,
  });
  // The whole folder is packed, so its roles and group_vars reach the worker.
  assert.ok(contextPaths(plan).includes('ansible'));
  // In `scripts:` too; a bare entry is labelled by its playbook, with no empty lists.
  const scripts = await loadSpec(
    await specDir(`${BASE}scripts:\n  - ansible: { playbook: ansible/site.yml, dir: ansible/ }\n`),
  );
  assert.deepEqual(scripts.plan.steps, [
    { kind: 'ansible', playbook: 'ansible/site.yml', dir: 'ansible', label: 'ansible ansible/site.yml' },
  ]);
});

test('a bad ansible entry is named at its line, field by field (not as "none of the step forms")', async () => {
  const msg = await problems(
    `${BASE}steps:\n  - ansible:\n      playbook: ansible/site.yml\n      extraVars: { "bad name": 1, ok: { fromWorker: "a b" } }\n` +
      `      tags: ["a,b", "$(reboot)"]\n      user: "root; rm -rf /"\n    timeout: 3h\n`,
  );
  assert.match(
    msg,
    /build\.yaml:8:\d+: steps\[0\]\.ansible\.extraVars\.bad name: key "bad name" must be an Ansible variable name/,
  );
  assert.match(
    msg,
    /build\.yaml:8:\d+: steps\[0\]\.ansible\.extraVars\.ok\.fromWorker: must be an environment variable name/,
  );
  assert.match(msg, /build\.yaml:9:14: steps\[0\]\.ansible\.tags\[0\]: must be an Ansible tag: .*no commas/);
  assert.match(msg, /build\.yaml:9:\d+: steps\[0\]\.ansible\.tags\[1\]: must be an Ansible tag/);
  assert.match(msg, /build\.yaml:10:13: steps\[0\]\.ansible\.user: must be a user name on the droplet/);
  assert.match(msg, /build\.yaml:11:14: steps\[0\]\.timeout: must be at most 100m/);
  assert.doesNotMatch(msg, /must be \{ upload/, 'the entry is reported as the ansible step its key names');
});

test('paths: inside the spec’s folder, in a folder of it, the playbook and requirements inside the folder sent', async () => {
  const step = (a: string) => `${BASE}steps:\n  - ansible: ${a}\n`;
  assert.match(await problems(step('{ playbook: ../site.yml }')), /steps\[0\]\.ansible\.playbook: must stay inside/);
  assert.match(await problems(step('{ playbook: /etc/site.yml }')), /must be relative to the spec's folder/);
  assert.match(
    await problems(step('{ playbook: site.yml }'), { 'site.yml': '[]' }),
    /build\.yaml:6:26: steps\[0\]\.ansible\.playbook: must be in a folder of the spec's folder \(e\.g\. ansible\/site\.yml\)/,
  );
  assert.match(
    await problems(step('{ playbook: ansible/site.yml, dir: ansible/roles }')),
    /steps\[0\]\.ansible\.playbook: must be inside ansible\/roles, the folder sent to the droplet/,
  );
  assert.match(
    await problems(step('{ playbook: ansible/site.yml, galaxy: other/requirements.yml }'), {
      ...PLAY,
      'other/requirements.yml': '[]',
    }),
    /steps\[0\]\.ansible\.galaxy: must be inside ansible, the folder sent to the droplet/,
  );
  assert.match(
    await problems(step('{ playbook: ansible/missing.yml }')),
    /build\.yaml:6:26: steps\[0\]\.ansible\.playbook: ansible\/missing\.yml does not exist/,
  );
  assert.match(
    await problems(step('{ playbook: ansible/site.yml, dir: ansible/site.yml/x }')),
    /must be inside ansible\/site\.yml\/x/,
  );
  assert.match(
    await problems(`${BASE}steps:\n  - ansible: { playbook: ansible/sub }\n`, { ...PLAY, 'ansible/sub/x': '' }),
    /steps\[0\]\.ansible\.playbook: ansible\/sub must be a file, not a folder/,
  );
  assert.match(
    await problems(step('{ playbook: ansible/site.yml, env: { ANSIBLE_HOME: /tmp/x } }')),
    /steps\[0\]\.ansible\.env: must not set ANSIBLE_HOME, ANSIBLE_LOCAL_TEMP, ANSIBLE_REMOTE_TEMP/,
  );
  const big = 'x'.repeat(70_000);
  assert.match(
    await problems(step(`{ playbook: ansible/site.yml, extraVars: { big: ${big} } }`)),
    /steps\[0\]\.ansible\.extraVars\.big: is over 64 KiB: put a value this big in the playbook's group_vars/,
  );
});

const good: AnsibleStep = { kind: 'ansible', playbook: 'ansible/site.yml', dir: 'ansible', label: 'ansible' };
const plan = (s: Record<string, unknown>): BuildPlan => ({
  name: 'demo',
  vendor: 'acme',
  droplet: { image: 'debian-12-x64', region: 'nyc3', size: 's-1vcpu-1gb', tags: [] },
  apt: { upgrade: false, packages: [] },
  steps: [{ ...good, ...s } as AnsibleStep],
  firstBoot: [],
  env: {},
  snapshot: { regions: [], tags: [] },
  tests: [],
});
const issues = (s: Record<string, unknown>) =>
  planIssues(plan(s))
    .map((i) => `${i.path.join('.')}: ${i.message}`)
    .join('\n');

test('a forged plan is refused by the rules client and worker share: paths, names, tags, sizes', () => {
  assert.equal(issues({}), '');
  const hostile: [Record<string, unknown>, RegExp][] = [
    [{ playbook: '/etc/shadow' }, /steps\.0\.playbook: must be a normalised path inside the build context/],
    [{ playbook: 'ansible/../../x.yml' }, /steps\.0\.playbook: must be a normalised path/],
    [{ dir: '.' }, /steps\.0\.dir: must be a normalised path/],
    [{ playbook: 'elsewhere/site.yml' }, /steps\.0\.playbook: must be inside ansible/],
    [{ playbook: 'ansiblex/site.yml' }, /steps\.0\.playbook: must be inside ansible/],
    [{ galaxy: 'other/req.yml' }, /steps\.0\.galaxy: must be inside ansible/],
    [{ galaxy: 'ansible/' }, /steps\.0\.galaxy: must be a requirements file/],
    [{ tags: ['web,db'] }, /steps\.0\.tags\.0: must be an Ansible tag/],
    [{ skipTags: ["x'; reboot; '"] }, /steps\.0\.skipTags\.0: must be an Ansible tag/],
    [{ tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }, /steps\.0\.tags: has more than 50 tags/],
    [{ user: 'app --' }, /steps\.0\.user: must be a user name/],
    [{ user: '-oProxyCommand' }, /steps\.0\.user: must be a user name/],
    [{ env: { 'A B': 'x' } }, /steps\.0\.env\.A B: must be an environment variable name/],
    [{ env: { ANSIBLE_REMOTE_TEMP: '/' } }, /steps\.0\.env: must not set/],
    [{ env: { X: 'a\0b' } }, /NUL byte/],
    [{ extraVars: { 'a-b': { value: 1 } } }, /steps\.0\.extraVars\.a-b: must be an Ansible variable name/],
    [{ extraVars: { a: { value: 'x\0' } } }, /steps\.0\.extraVars\.a/],
    [{ extraVars: { a: { value: Infinity } } }, /steps\.0\.extraVars\.a/],
    [{ extraVars: { a: { value: 'x'.repeat(65 * 1024) } } }, /over 64 KiB/],
    [{ extraVars: { a: { fromWorker: 'no such' } } }, /steps\.0\.extraVars\.a/],
    [
      { extraVars: Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`v${i}`, { value: i }])) },
      /steps\.0\.extraVars: has more than 200 variables/,
    ],
    [{ label: 'two\nlines' }, /steps\.0\.label: must be one line of text/],
    [{ timeoutMs: 101 * 60_000 }, /steps\.0\.timeoutMs: must be at most 100m/],
    [{ keepAnsible: 'yes' }, /steps\.0\.keepAnsible/],
    [{ kind: 'playbook' }, /steps\.0\.kind/],
  ];
  for (const [s, want] of hostile) assert.match(issues(s), want, JSON.stringify(s).slice(0, 80));
});

/** Dependencies that fail the test if anything reaches them (the allow-list aside). */
const untouchable = new Proxy({} as ActivityDeps, {
  get: (_t, prop) => {
    if (prop === 'then') return undefined;
    if (prop === 'workerSecrets') return ['ALLOWED'];
    throw new Error(`the activity reached deps.${String(prop)} before refusing its input`);
  },
});
const ref = { buildId: 'b', dropletId: 1, ipv4: '10.0.0.1' };
const digest = `sha256-${'0'.repeat(64)}`;

async function refused(s: Record<string, unknown>, want: RegExp, env: BuildPlan['env'] = {}): Promise<void> {
  const run = ansiblePlaybook(untouchable)({
    droplet: ref,
    step: '02-ansible',
    contextDigest: digest,
    ansible: { ...good, ...s } as AnsibleStep,
    env,
  });
  const err = await run.then(
    () => assert.fail('accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApplicationFailure, String(err));
  assert.equal(err.nonRetryable, true);
  assert.match(err.message, want);
}

test('the activity refuses a forged step before it reaches the store, the droplet or a secret', async () => {
  await refused({ playbook: '../etc/passwd' }, /refused input: ansible\.playbook/);
  await refused({ tags: ['a,b'] }, /refused input: ansible\.tags\.0/);
  await refused({ user: 'root;id' }, /refused input: ansible\.user/);
  await refused({ dir: 'x', playbook: 'ansible/site.yml' }, /refused input: ansible\.playbook: must be inside x/);
  // A secret the worker's operator did not allow, or one of the worker's own credentials.
  await refused({ extraVars: { token: { fromWorker: 'NOT_LISTED' } } }, /NOT_LISTED .*the worker does not allow it/);
  await refused({ extraVars: { token: { fromWorker: 'DIGITALOCEAN_TOKEN' } } }, /the worker's own credential/);
  await refused({}, /the worker does not allow it/, { X: { fromWorker: 'NOT_LISTED' } });
  const badStep = ansiblePlaybook(untouchable)({
    droplet: ref,
    step: '../02',
    contextDigest: digest,
    ansible: good,
    env: {},
  });
  await assert.rejects(badStep, /refused input: step/);
});

test('check-input refuses an extra variable read from a worker variable the operator did not allow', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ansible-ctx-'));
  await fs.mkdir(path.join(dir, 'ansible'));
  await fs.writeFile(path.join(dir, 'ansible/site.yml'), '[]');
  const input = (extraVars: AnsibleStep['extraVars']): BuildInput => ({
    buildId: 'b-1',
    plan: { ...plan({}), steps: [{ ...good, ...(extraVars ? { extraVars } : {}) }] },
    contextDigest: digest,
    mode: 'image',
    snapshotName: 'demo-1',
  });
  await checkBuildInput(input({ a: { fromWorker: 'ALLOWED' } }), ['ALLOWED'], async () => dir);
  await assert.rejects(
    checkBuildInput(input({ a: { fromWorker: 'OTHER' } }), ['ALLOWED'], async () => dir),
    /env extraVars\.a reads OTHER from the worker's environment, but the worker does not allow it/,
  );
  // Every path is checked inside the unpacked context.
  await assert.rejects(
    checkBuildInput({ ...input(undefined), plan: { ...plan({ playbook: 'ansible/gone.yml' }) } }, [], async () => dir),
    /plan\.steps\.0\.playbook: ansible\/gone\.yml is not in the build context/,
  );
});
