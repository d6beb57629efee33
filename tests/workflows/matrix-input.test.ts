/**
 * A matrix input is checked before any child starts (issue #28 §6): its concurrency and its
 * number of variants have the same limits the client applies (contract/plan-checks.ts). Started
 * straight through the Temporal client, as anyone who can reach the task queue could.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { workflowCode } from '../../worker/workflow-bundle';
import { MATRIX_MAX_CHILDREN, MATRIX_MAX_CONCURRENCY, matrixProblems } from '../../contract/plan-checks';
import type { BuildInput, MatrixInput } from '../../contract/build';
import { startTemporal } from '../support/temporal';

const QUEUE = 'matrix-input-test';
let env: TestWorkflowEnvironment;
let running: Promise<void>;
let worker: Worker;
let n = 0;

before(async () => {
  env = await startTemporal();
  // No activities: a refused matrix never gets as far as a child build.
  worker = await Worker.create({ connection: env.nativeConnection, taskQueue: QUEUE, ...workflowCode().options });
  running = worker.run();
});

after(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

function child(i: number): MatrixInput['children'][number] {
  return { key: `v${i}`, input: { buildId: `m.v${i}`, plan: { droplet: {} } } as unknown as BuildInput };
}

async function refusal(concurrency: number, variants: number): Promise<string> {
  const workflowId = `matrix-input-${++n}`;
  const input: MatrixInput = {
    buildId: workflowId,
    name: 'web',
    concurrency,
    children: Array.from({ length: variants }, (_, i) => child(i)),
  };
  const handle = await env.client.workflow.start('buildMatrix', { args: [input], taskQueue: QUEUE, workflowId });
  const err = await handle.result().then(
    () => assert.fail('the matrix ran'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, String(err));
  assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
  assert.equal(err.cause.nonRetryable, true);
  assert.doesNotMatch(historyToJSON(await handle.fetchHistory()), /start_?child_?workflow/i, 'no child started');
  return err.cause.message;
}

test('a matrix with too many variants at once, or too many variants, is refused before any child starts', async () => {
  for (const [concurrency, variants] of [
    [0, 2],
    [MATRIX_MAX_CONCURRENCY + 1, 2],
    [2, MATRIX_MAX_CHILDREN + 1],
  ] as const) {
    const message = await refusal(concurrency, variants);
    const rule = matrixProblems(concurrency, variants)[0]!;
    assert.equal(message, `refused workflow input: ${rule}`);
  }
});
