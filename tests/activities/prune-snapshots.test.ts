/**
 * Retention never deletes an image a listing may use: every image this project ever submitted
 * for the family (its own records), and the app's live and in-review images when the Vendor API
 * lets them be read. Runs the activity against the lab (in-memory droplets) with keep: 1.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pruneSnapshots } from '../../activities/prune-snapshots';
import type { ActivityDeps } from '../../activities/runtime/deps';
import { rememberPublished } from '../../activities/records/published';
import { familyTag } from '../../contract/names';
import { runTag } from '../../contract/tags';
import { createLabServer, type LabServer } from '../../lab/api/server';
import { labSnapshot, memoryRuntime } from '../support/memory-runtime';
import { labActivityDeps } from '../support/lab-deps';

const TOKEN = `dop_v1_prune_${process.pid}`;
let work = '';
let lab: LabServer;
let deps: ActivityDeps;

/** A snapshot of the family, made by a build of this project (its run's tag) unless `foreign`. */
async function familySnapshot(name: string, foreign = false): Promise<number> {
  const id = await labSnapshot(lab.origin, TOKEN, name);
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  for (const tag of [familyTag('webcheck'), ...(foreign ? [] : [runTag(`build-${name}`, 'run-1')])]) {
    await fetch(`${lab.endpoint}/tags`, { method: 'POST', headers, body: JSON.stringify({ name: tag }) });
    const resources = [{ resource_id: String(id), resource_type: 'image' }];
    const r = await fetch(`${lab.endpoint}/tags/${tag}/resources`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ resources }),
    });
    assert.equal(r.status, 204);
  }
  await new Promise((res) => setTimeout(res, 1100)); // created_at has whole seconds: keep the order clear
  return id;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'prune-'));
  lab = await createLabServer({
    runtime: memoryRuntime(),
    tokens: [TOKEN],
    stateDir: join(work, 'lab'),
    machinePrefix: `t-prune${process.pid}-`,
    contractCheck: true,
    // No read of the app works: only the project's own records can protect an image.
    vendorListRead: false,
    vendorApps: [{ id: 'app-webcheck', name: 'Webcheck' }],
  });
  deps = labActivityDeps(lab, TOKEN, work).deps;
});
after(async () => {
  await lab.close();
  await rm(work, { recursive: true, force: true });
});

test('keep: 1 deletes old snapshots but never one that was ever published', async () => {
  const foreign = await familySnapshot('webcheck-0', true);
  const published = await familySnapshot('webcheck-1');
  const plain = await familySnapshot('webcheck-2');
  const newest = await familySnapshot('webcheck-3');
  await rememberPublished(deps, 'webcheck', published);

  const r = await pruneSnapshots(deps)({ family: 'webcheck', keep: 1, protect: [newest], appId: 'app-webcheck' });
  assert.deepEqual(
    r.kept.map((s) => s.id),
    [newest],
  );
  assert.deepEqual(
    r.protected.map((s) => s.id),
    [published],
  );
  assert.deepEqual(
    r.deleted.map((s) => s.id),
    [plain],
  );
  const left = await fetch(`${lab.endpoint}/images/${published}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(left.status, 200, 'the published image is still there');
  const gone = await fetch(`${lab.endpoint}/images/${plain}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(gone.status, 404);
  const notOurs = await fetch(`${lab.endpoint}/images/${foreign}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(notOurs.status, 200, 'an image with the family tag that no build of ours made is left alone');
});

test('keep below 1 is refused before anything is listed or deleted', async () => {
  for (const keep of [0, -1, 1.5])
    await assert.rejects(
      pruneSnapshots(deps)({ family: 'webcheck', keep, protect: [] }),
      /refused input: keep: must be (at least 1|a whole number)/,
    );
});
