/** The Temporal chain in CI: the go-installed CLI's dev server, a worker, a workflow and an activity. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from '@temporalio/worker';
import { startTemporal } from '../support/temporal';

test('a workflow runs on the real dev server', async () => {
  const env = await startTemporal();
  try {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'chain',
      workflowsPath: require.resolve('../support/workflows/hello'),
      activities: { greet: async (name: string) => `hello, ${name}` },
    });
    const result = await worker.runUntil(
      env.client.workflow.execute('hello', { taskQueue: 'chain', workflowId: `hello-${Date.now()}`, args: ['lab'] }),
    );
    assert.equal(result, 'hello, lab');
    const sys = await env.client.workflowService.getSystemInfo({});
    assert.ok(sys.serverVersion, 'the server reports its version');
  } finally {
    await env.teardown();
  }
});
