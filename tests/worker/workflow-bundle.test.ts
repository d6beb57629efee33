/**
 * Workers run the workflow code bundled once at build time (issue #20 P5: ~100 MB less peak
 * memory per worker), and never a bundle older than the code: a changed workflow file, or no
 * bundle, means the worker bundles at start as before and says why.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { sourcesDigest, workflowCode, writeWorkflowBundle } from '../../worker/workflow-bundle';

const DIST = path.resolve(__dirname, '..', '..');
let dist = '';

before(async () => {
  // Inside dist/, so the copy resolves @temporalio/workflow from the project's node_modules.
  dist = await mkdtemp(path.join(DIST, 'bundle-test-'));
  for (const room of ['workflows', 'contract'])
    await cp(path.join(DIST, room), path.join(dist, room), { recursive: true });
});

after(async () => {
  if (dist) await rm(dist, { recursive: true, force: true });
});

test('the build made a bundle of the current workflow code, and workers use it', () => {
  const code = workflowCode();
  assert.equal(code.prebuilt, true, code.why);
  assert.ok(code.options.workflowBundle && 'codePath' in code.options.workflowBundle);
  assert.equal(code.options.workflowsPath, undefined);
});

test('no bundle, or one older than the code: the worker bundles at start and says why', async () => {
  assert.match(workflowCode(dist).why ?? '', /no prebuilt workflow bundle/);
  await writeWorkflowBundle(dist);
  const fresh = workflowCode(dist);
  assert.equal(fresh.prebuilt, true, fresh.why);
  const bundle = await readFile(path.join(dist, 'workflows.bundle.js'), 'utf8');
  assert.match(bundle, /verify-retain-publish/, 'the bundle holds the build workflow');
  const was = sourcesDigest(dist);
  await appendFile(path.join(dist, 'workflows', 'build.js'), '\n// edited\n');
  assert.notEqual(sourcesDigest(dist), was);
  const stale = workflowCode(dist);
  assert.equal(stale.prebuilt, false);
  assert.match(stale.why ?? '', /older than the workflow code/);
  assert.ok(stale.options.workflowsPath?.startsWith(dist));
});
