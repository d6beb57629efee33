/**
 * Building from CI (issue #31 §4): `start-build --wait --junit FILE --summary FILE` writes a JUnit
 * XML report — read back here by an XML parser, with the names CI systems read — and a Markdown
 * summary, for a build that succeeds (its image tests as test cases) and for one whose step fails
 * (the reports are written although the client exits non-zero); with --until-approval, the build
 * job ends (exit 0, reports written) once the build waits for `client approve`. Real lab builds,
 * real Temporal.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { startStack } from '../support/stack';
import type { Stack } from '../support/stack';

let stack: Stack;

before(async () => {
  stack = await startStack({
    lab: {
      timing: { transferDelayMs: 200, maxDiskGiB: 1 },
      vendorApps: [{ id: 'lab-cipub', name: 'Cipub', status: 'approved' }],
    },
  });
});

after(async () => {
  await stack?.stop();
});

async function spec(name: string, body: string): Promise<string> {
  const dir = path.join(stack.dir, name);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(
    path.join(dir, 'build.yaml'),
    `name: ${name}\nvendor: forge\ndroplet: { image: debian-12-x64 }\napt: { upgrade: false }\n${body}`,
  );
  return path.join(dir, 'build.yaml');
}

interface Attrs {
  name: string;
  tests?: string;
  failures?: string;
  time: string;
  classname?: string;
}
interface TestCase extends Attrs {
  failure?: { message: string; '#text'?: string };
  skipped?: unknown;
}
interface Suite extends Attrs {
  testcase?: TestCase[];
}

function readJunit(xml: string): { suites: Attrs; suite: Suite[] } {
  assert.equal(XMLValidator.validate(xml), true, `well-formed XML:\n${xml}`);
  const parsed = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (name) => name === 'testsuite' || name === 'testcase',
  }).parse(xml) as { testsuites: Attrs & { testsuite: Suite[] } };
  assert.ok(parsed.testsuites, `a <testsuites> root:\n${xml}`);
  return { suites: parsed.testsuites, suite: parsed.testsuites.testsuite };
}

async function build(file: string, id: string, extra: string[] = []) {
  const junit = path.join(stack.dir, `${id}.xml`);
  const summary = path.join(stack.dir, `${id}.md`);
  const run = await stack.client([
    'start-build',
    file,
    '--id',
    id,
    '--operator-timeout',
    '0.002',
    '--wait',
    '--junit',
    junit,
    '--summary',
    summary,
    ...extra,
  ]);
  const xml = await fs.readFile(junit, 'utf8').catch(() => '');
  const md = await fs.readFile(summary, 'utf8').catch(() => '');
  assert.ok(xml, `the JUnit report was written (exit ${run.code}):\n${run.stderr}`);
  assert.ok(md, `the summary was written (exit ${run.code}):\n${run.stderr}`);
  return { run, xml, md };
}

test('a succeeded build: a test case per step and per image test, and a summary with snapshot, minutes, sbom', async () => {
  const file = await spec(
    'cigood',
    [
      'scripts:',
      '  - { run: "echo built > /etc/cigood", name: mark the image }',
      'tests:',
      '  - { run: "grep -qx built /etc/cigood", name: the mark is there }',
      '  - { run: "sleep 1; true", name: a second test }',
      '',
    ].join('\n'),
  );
  const { run, xml, md } = await build(file, 'ci-good');
  assert.equal(run.code, 0, run.stderr);
  const { suites, suite } = readJunit(xml);
  const [steps, tests] = suite;
  assert.ok(steps && tests, 'a suite of steps and one of image tests');

  const stepCases = steps.testcase ?? [];
  const names = stepCases.map((c) => c.name);
  for (const step of ['check-input', 'provision', 'snapshot', 'verify', 'destroy'])
    assert.ok(
      names.some((n) => n.startsWith(`${step}: `)),
      `a case for ${step}: ${names.join(' | ')}`,
    );
  assert.ok(names.includes('01-script: run mark the image'), names.join(' | '));
  assert.ok(
    stepCases.every((c) => c.classname === 'image-forge.cigood.steps' && Number(c.time) >= 0 && !c.failure),
    xml,
  );
  assert.ok(Number(stepCases.find((c) => c.name.startsWith('provision: '))!.time) > 0, 'provision took time');
  assert.equal(steps.tests, String(stepCases.length));
  assert.equal(steps.failures, '0');

  const testCases = tests.testcase ?? [];
  assert.deepEqual(
    testCases.map((c) => c.name),
    ['the mark is there', 'a second test'],
  );
  assert.ok(Number(testCases[1]!.time) >= 1, `the second test slept a second: ${testCases[1]!.time}`);
  assert.ok(testCases.every((c) => c.classname === 'image-forge.cigood.tests' && !c.failure));
  assert.equal(tests.tests, '2');
  assert.equal(suites.tests, String(stepCases.length + 2));
  assert.equal(suites.failures, '0');
  assert.ok(Number(suites.time) > 0);

  assert.match(md, /^## Image build `ci-good`: succeeded/m);
  assert.match(md, /\*\*Snapshot:\*\* `cigood-\d{8}T\d{6}Z` \(id \d+\) in nyc3/);
  assert.match(md, /\*\*Droplet-minutes:\*\* [\d.]+ build droplet, [\d.]+ test droplet/);
  assert.match(md, /^\| provision \| succeeded \| \d+\.\d \| create a /m);
  assert.match(md, /^\| the mark is there \| 0 \| \d+\.\d \|$/m);
  assert.match(md, /\*\*Bill of materials:\*\* \d+ packages \(\d+ with a machine-readable licence\), \d+ placed files/);
  assert.match(md, /\*\*Package changes:\*\* no earlier build/);
});

test('a build whose step fails: the failure with its last lines, reports written, exit code non-zero', async () => {
  const file = await spec(
    'cibad',
    ['scripts:', '  - { run: "echo about to fail; exit 3", name: fails on purpose }', ''].join('\n'),
  );
  const { run, xml, md } = await build(file, 'ci-bad', ['--no-verify']);
  assert.notEqual(run.code, 0, 'the client says the build failed');
  const { suites, suite } = readJunit(xml);
  const failed = (suite[0]?.testcase ?? []).filter((c) => c.failure);
  assert.equal(failed.length, 1, xml);
  const [f] = failed;
  assert.equal(f!.name, '01-script: run fails on purpose');
  assert.match(f!.failure!.message, /3/);
  assert.match(f!.failure!['#text'] ?? '', /about to fail/);
  assert.match(f!.failure!['#text'] ?? '', /exit code: 3/);
  assert.equal(suites.failures, '1');
  assert.equal(suite[0]!.failures, '1');
  assert.ok(
    (suite[0]?.testcase ?? []).some((c) => c.name.startsWith('destroy: ') && !c.failure),
    'the undo ran and shows',
  );
  assert.deepEqual(suite[1]?.testcase ?? [], [], 'no image tests');

  assert.match(md, /^## Image build `ci-bad`: failed/m);
  assert.match(md, /\*\*Snapshot:\*\* none/);
  assert.match(md, /^\| 01-script \| failed \| \d+\.\d \| run fails on purpose: .*3/m);
});

test('--until-approval: the reports are written and the client exits 0 once the build waits to publish', async () => {
  const file = await spec(
    'cipub',
    [
      'tests:',
      '  - { run: "test -d /etc", name: etc is there }',
      'marketplace: { appId: lab-cipub, version: "1.0.0", software: [openssh-server] }',
      '',
    ].join('\n'),
  );
  const { run, xml, md } = await build(file, 'ci-pub', ['--publish', '--until-approval']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /waits for approval to publish: client approve ci-pub/);
  const { suites, suite } = readJunit(xml);
  assert.equal(suites.failures, '0');
  const names = (suite[0]?.testcase ?? []).map((c) => c.name);
  assert.ok(
    names.some((n) => n.startsWith('verify: ')),
    names.join(' | '),
  );
  assert.deepEqual(
    (suite[1]?.testcase ?? []).map((c) => c.name),
    ['etc is there'],
    'the image tests, from verify',
  );
  assert.match(md, /^## Image build `ci-pub`: waiting-for-approval/m);
  assert.match(md, /\*\*Snapshot:\*\* id \d+/);
  assert.match(md, /`client approve ci-pub`/);

  // The build still waits: end it the way a person would, keeping nothing running.
  const state = await stack.client(['status', 'ci-pub', '--json']);
  assert.equal((JSON.parse(state.stdout) as { status: string }).status, 'waiting-for-approval');
  const reject = await stack.client(['reject', 'ci-pub', '--reason', 'the test is over']);
  assert.equal(reject.code, 0, reject.stderr);
  await stack.temporal.client.workflow.getHandle('ci-pub').result();
});

test("the summary's package changes: against the family's earlier build (the first test's), by client diff's logic", async () => {
  const file = await spec(
    'cigood',
    ['files:', '  - { src: added.txt, dest: /etc/cigood-added.txt, mode: "0644" }', ''].join('\n'),
  );
  await fs.writeFile(path.join(path.dirname(file), 'added.txt'), 'one more file\n');
  const { run, md } = await build(file, 'ci-good-2', ['--no-verify']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(md, /^\*\*Package changes since `ci-good`:\*\*$/m, md);
  assert.match(md, /^- files added \(1\): \/etc\/cigood-added\.txt$/m, md);
});
