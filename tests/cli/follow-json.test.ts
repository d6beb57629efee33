/**
 * `--wait --json` (and `watch --json`) print nothing until the build ends, so they wait on the
 * server's long poll for the result instead of a describe and a query every second: twenty builds
 * followed by scripts no longer keep the worker answering twenty queries a second (issue #20 P5).
 * Against the real dev server; the handle is a real one, with its calls counted. Following for a
 * person (the text lines) is covered by the operator tests' `client watch`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { followBuild } from '../../client/follow';
import { startTemporal } from '../support/temporal';

let temporal: TestWorkflowEnvironment;
before(async () => {
  temporal = await startTemporal();
});
after(async () => {
  await temporal?.teardown();
});

/** The real handle, with its describe and query calls counted. */
function counted(handle: WorkflowHandle): { handle: WorkflowHandle; calls: { describe: number; query: number } } {
  const calls = { describe: 0, query: 0 };
  const wrapped = Object.assign(Object.create(handle) as WorkflowHandle, {
    describe: () => {
      calls.describe++;
      return handle.describe();
    },
    query: (...args: Parameters<WorkflowHandle['query']>) => {
      calls.query++;
      return handle.query(...args);
    },
  });
  return { handle: wrapped, calls };
}

test('following with --json waits for the end on the long poll: no describe, no query while it runs', async () => {
  // No worker polls this queue: the build sits until it is ended from outside.
  const started = await temporal.client.workflow.start('buildImage', {
    taskQueue: `follow-json-${process.pid}`,
    workflowId: `follow-json-${process.pid}`,
    args: [{}],
  });
  const { handle, calls } = counted(started);
  let ended = false;
  const following = followBuild(handle, { json: true }).then(() => (ended = true));
  await sleep(3000);
  assert.equal(ended, false, 'still following a running build');
  await started.terminate('test over');
  await following;
  assert.deepEqual(calls, { describe: 0, query: 0 });
});
