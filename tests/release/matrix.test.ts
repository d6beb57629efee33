/**
 * A matrix build in the lab: a spec whose matrix varies the base image (Debian 12 and 13) plus a
 * second spec file, as one parent build of three child builds, two at a time. Each variant is an
 * ordinary build (own id, own image family, verified); the parent sums them up for the Web UI,
 * `client status` and its JSON result; never more droplets at once than the concurrency.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { MatrixResult } from '../../contract/build';
import { assertNoLeftovers, startStack } from '../support/stack';
import type { Stack } from '../support/stack';
import { REPO } from '../support/temporal';

let stack: Stack;

before(async () => {
  stack = await startStack({ lab: { timing: { transferDelayMs: 200, maxDiskGiB: 1 } } });
});

after(async () => {
  await stack?.stop();
  if (stack) await assertNoLeftovers(stack.machinePrefix);
});

async function specCopy(name: string, edit: (yaml: string) => string): Promise<string> {
  const dir = path.join(stack.dir, name);
  await fs.cp(path.join(REPO, 'tests/release/fixtures/web'), dir, { recursive: true });
  const file = path.join(dir, 'build.yaml');
  let yaml = await fs.readFile(file, 'utf8');
  yaml = yaml.replace('name: webcheck', `name: ${name}`).replace(/snapshot:[\s\S]*$/, '');
  await fs.writeFile(file, edit(yaml));
  return file;
}

test('a matrix of base images and a second spec: three child builds, two at a time, summed up by the parent', async () => {
  const matrix = await specCopy(
    'webmatrix',
    (y) => `${y}matrix:\n  image: [debian-12-x64, debian-13-x64]\n  concurrency: 2\n`,
  );
  const two = await specCopy('webtwo', (y) => y);

  const refused = await stack.client(['start-build', matrix, two, '--publish']);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--publish does not go with a matrix build/);

  const r = await stack.client(['start-build', matrix, two, '--wait', '--json', '--id', 'build-matrix-test']);
  assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
  const out = JSON.parse(r.stdout) as MatrixResult & { url?: string };
  assert.equal(out.status, 'succeeded');
  assert.deepEqual(
    out.variants.map((v) => [v.key, v.buildId, v.image, v.status, v.verify]),
    [
      [
        'webmatrix-debian-12-x64',
        'build-matrix-test.webmatrix-debian-12-x64',
        'debian-12-x64',
        'succeeded',
        'verified',
      ],
      [
        'webmatrix-debian-13-x64',
        'build-matrix-test.webmatrix-debian-13-x64',
        'debian-13-x64',
        'succeeded',
        'verified',
      ],
      ['webtwo', 'build-matrix-test.webtwo', 'debian-12-x64', 'succeeded', 'verified'],
    ],
  );
  assert.match(out.variants[0]!.os ?? '', /Debian GNU\/Linux 12/);
  assert.match(out.variants[1]!.os ?? '', /Debian GNU\/Linux 13/);
  assert.match(
    out.variants[1]!.snapshot?.name ?? '',
    /^webmatrix-debian-13-x64-\d{8}T\d{6}Z$/,
    'each variant is its own image family',
  );
  assert.equal(new Set(out.variants.map((v) => v.snapshot?.id)).size, 3);

  // The parent's state and result through the CLI.
  const status = await stack.client(['status', 'build-matrix-test', '--json']);
  assert.equal(status.code, 0, status.stderr);
  const s = JSON.parse(status.stdout) as {
    status: string;
    steps: { name: string; state: string }[];
    variants: unknown[];
  };
  assert.equal(s.status, 'succeeded');
  assert.deepEqual(
    s.steps.map((x) => [x.name, x.state]),
    out.variants.map((v) => [v.key, 'succeeded']),
  );
  assert.equal(s.variants.length, 3);
  // What the Web UI shows as the parent's current details: a row per variant with its snapshot.
  const meta = (await stack.temporal.client.workflow
    .getHandle('build-matrix-test')
    .query('__temporal_workflow_metadata')) as { currentDetails?: string };
  for (const v of out.variants)
    assert.ok(
      meta.currentDetails?.includes(`| ${v.key} | ${v.buildId} | succeeded |`) &&
        meta.currentDetails.includes(v.snapshot!.name),
      `Web UI details list ${v.key}`,
    );
  const child = await stack.client(['status', 'build-matrix-test.webtwo', '--json']);
  assert.equal((JSON.parse(child.stdout) as { status: string }).status, 'succeeded', 'a variant is an ordinary build');
  const list = JSON.parse((await stack.client(['list', '--json'])).stdout) as { buildId: string; status: string }[];
  assert.ok(
    list.some((b) => b.buildId === 'build-matrix-test' && b.status === 'succeeded'),
    'client list shows the parent',
  );

  // At most two variants at once: never more than two droplets alive (each build has one at a time).
  let live = 0;
  let peak = 0;
  const seq: string[] = [];
  for (const e of await stack.audit()) {
    if (e.type === 'droplet.created') peak = Math.max(peak, ++live);
    if (e.type === 'droplet.deleted') live--;
    if (e.type === 'droplet.created' || e.type === 'droplet.deleted')
      seq.push(
        `${e.type === 'droplet.created' ? '+' : '-'}${String(e.dropletId)}${e.type === 'droplet.created' ? ` ${String(e.name)}` : ''}`,
      );
  }
  assert.ok(peak <= 2, `at most 2 droplets at once, saw ${peak}: ${seq.join(', ')}`);
  assert.equal(peak, 2, 'two variants did run at once');
  assert.equal((await stack.lab.state()).droplets.list.filter((d) => d.status !== 'archive').length, 0);
});
