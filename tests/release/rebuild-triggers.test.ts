/**
 * Rebuild triggers, in the lab: a schedule's first run builds (no earlier build of the family), the
 * next one skips before creating any droplet because nothing changed, and after the lab publishes
 * a new base image under the spec's slug (as DigitalOcean refreshes its base images) the next run
 * builds from it; `client schedule list` says why each run built or skipped.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { BuildManifest } from '../../contract/build';
import { DoApi } from '../../platform/digitalocean';
import { LAB_TOKEN, assertNoLeftovers, startStack } from '../support/stack';
import type { Stack } from '../support/stack';
import { labControl } from '../support/lab-control';
import { setTimeout as sleep } from 'node:timers/promises';

const SLUG = 'debian-12-x64';
let stack: Stack;
let spec: string;

before(async () => {
  stack = await startStack({ lab: { timing: { transferDelayMs: 200, maxDiskGiB: 1 } } });
  const dir = path.join(stack.dir, 'trig');
  await fs.mkdir(dir, { recursive: true });
  spec = path.join(dir, 'build.yaml');
  await fs.writeFile(
    spec,
    `name: trig\nvendor: forge\ndroplet: { image: ${SLUG} }\napt: { upgrade: false }\nscripts:\n  - run: echo built > /etc/trig\n`,
  );
});

after(async () => {
  await stack?.client(['schedule', 'delete', 'rebuild-trig']);
  await stack?.stop();
  if (stack) await assertNoLeftovers(stack.machinePrefix);
});

interface Listed {
  scheduleId: string;
  recent: { buildId: string; outcome: string; built?: boolean; reason?: string }[];
}

async function list(): Promise<Listed | undefined> {
  const r = await stack.client(['schedule', 'list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as Listed[]).find((s) => s.scheduleId === 'rebuild-trig');
}

/** Triggers the schedule and waits for the new run's manifest. */
async function run(): Promise<BuildManifest> {
  const before = (await list())?.recent.length ?? 0;
  const t = await stack.client(['schedule', 'trigger', 'rebuild-trig']);
  assert.equal(t.code, 0, t.stderr);
  for (let i = 0; i < 120; i++) {
    const recent = (await list())?.recent ?? [];
    if (recent.length > before) {
      const id = recent.at(-1)!.buildId;
      return (await stack.temporal.client.workflow.getHandle(id).result()) as BuildManifest;
    }
    await sleep(500);
  }
  assert.fail('the schedule started no run');
}

const created = async () => (await stack.audit()).filter((e) => e.type === 'droplet.created');

test('a schedule skips when nothing changed and builds when the base image behind the slug changed', async () => {
  const c = await stack.client([
    'schedule',
    'create',
    spec,
    '--every',
    '30d',
    '--rebuild-after',
    '30d',
    '--paused',
    '--no-verify',
  ]);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /rebuild trig every 30d when its base image or spec changed, or at least every 30d/);

  const api = new DoApi({ token: LAB_TOKEN, endpoint: stack.lab.endpoint });
  const resolve = async (idOrSlug: string | number) =>
    (
      await api.call('get image', (x) =>
        x.image.getImage(typeof idOrSlug === 'number' ? { image_id: idOrSlug } : { slug: idOrSlug }),
      )
    ).data.image;
  const original = (await resolve(SLUG)).id;

  const first = await run();
  assert.equal(first.status, 'succeeded', first.error);
  assert.equal(first.rebuild?.build, true);
  assert.deepEqual(first.rebuild?.triggers, ['first-build']);
  assert.equal(first.baseImageId, original);
  assert.ok(first.snapshot, 'the first run made an image');

  const dropletsBefore = (await created()).length;
  const second = await run();
  assert.equal(second.rebuild?.build, false);
  assert.equal(second.rebuild?.reason, `nothing changed since build ${first.buildId}`);
  assert.equal(second.baseImageId, original, 'a skipped run records the base image id too');
  assert.equal(second.snapshot, undefined);
  assert.deepEqual(
    second.steps.map((s) => s.name),
    ['check-input', 'decide'],
  );
  assert.equal((await created()).length, dropletsBefore, 'a skipped run creates no droplet');

  // The lab publishes a new base image under the same slug.
  const published = await labControl(stack.lab, `/_lab/distributions/${SLUG}`, {
    method: 'POST',
    body: { description: 'Debian 12 x64 (refreshed)' },
  });
  assert.equal(published.status, 201);
  const body = (await published.json()) as { image: { id: number; slug: string }; replaced: number };
  assert.equal(body.replaced, original);
  const now = await resolve(SLUG);
  assert.equal(now.id, body.image.id);
  assert.notEqual(now.id, original);
  assert.equal(now.slug, SLUG);
  const old = (await resolve(original)) as unknown as { status: string; slug: string | null };
  assert.equal(old.status, 'retired', 'the image it replaced is still found by id, retired');
  assert.equal(old.slug, null);

  const third = await run();
  assert.equal(third.status, 'succeeded', third.error);
  assert.equal(third.rebuild?.build, true);
  assert.deepEqual(third.rebuild?.triggers, ['base-image']);
  assert.equal(third.rebuild?.reason, `base image ${SLUG} changed: ${original} → ${now.id}`);
  assert.equal(third.baseImageId, now.id);
  const newDroplets = (await created()).slice(dropletsBefore);
  assert.deepEqual(
    newDroplets.map((e) => e.image),
    [now.id],
    'the build droplet was made from the new base image',
  );

  const text = await stack.client(['schedule', 'list']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`${first.buildId}: built — no earlier build of this family; succeeded`));
  assert.match(
    text.stdout,
    new RegExp(
      `${second.buildId}: skipped — nothing changed since build ${first.buildId} \\(base image ${original}\\)`,
    ),
  );
  assert.match(
    text.stdout,
    new RegExp(`${third.buildId}: built — base image ${SLUG} changed: ${original} → ${now.id}; succeeded`),
  );
  const json = await list();
  assert.deepEqual(
    json?.recent.map((r) => r.built),
    [true, false, true],
  );
});
