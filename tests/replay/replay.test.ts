/**
 * Recorded histories of real lab builds, replayed against the current workflow code: a change
 * that would break a build already running (one waiting days for an operator, say) fails here.
 * Record new ones with `node dist/tests/support/record-history.js <build-id> <name>`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { REPO } from '../support/temporal';

const DIR = path.join(REPO, 'tests/replay/histories');

test('recorded build histories replay against the current workflow code', async () => {
  const files = (await fs.readdir(DIR)).filter((f) => f.endsWith('.json')).sort();
  assert.ok(files.length >= 1, `no recorded histories in ${DIR}`);
  const bundle = { workflowsPath: require.resolve('../../workflows') };
  for (const f of files) {
    const history = historyFromJSON(JSON.parse(await fs.readFile(path.join(DIR, f), 'utf8')));
    await assert.doesNotReject(Worker.runReplayHistory(bundle, history, f), `history ${f} no longer replays`);
  }
});

test('the same change without its patch breaks running builds: the replay test catches it', async () => {
  // Inventory after cleanup, unguarded: histories recorded with the old order must fail to replay.
  const bundle = { workflowsPath: require.resolve('../support/workflows/unpatched-build') };
  const f = 'tiny-succeeded.json';
  const history = historyFromJSON(JSON.parse(await fs.readFile(path.join(DIR, f), 'utf8')));
  await assert.rejects(Worker.runReplayHistory(bundle, history, f), /[Nn]ondeterminis|DeterminismViolation/);
});
