/**
 * A worker and the client reach Temporal over TLS with an API key, as with Temporal Cloud: the
 * dev server behind a TLS front (a CA made here, an HTTP/2 proxy demanding the key). A wrong CA
 * and a missing API key are refused, each with one message saying what to check.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { connectClient, connectWorker } from '../../platform/temporal-connection';
import { temporalSettingsFrom } from '../../platform/temporal-settings';
import { UserError } from '../../contract/user-error';
import { makeCa, startTlsProxy, type TestCa, type TlsProxy } from '../support/tls-proxy';
import { startTemporal } from '../support/temporal';

const API_KEY = 'test-api-key-0123456789';
let env: TestWorkflowEnvironment;
let work = '';
let ca: TestCa;
let other: TestCa;
let proxy: TlsProxy;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'temporal-tls-'));
  ca = makeCa(work, 'right');
  other = makeCa(work, 'wrong');
  env = await startTemporal();
  proxy = await startTlsProxy({ upstream: env.address, ca, apiKey: API_KEY });
});
after(async () => {
  await proxy?.close();
  await env?.teardown();
  await rm(work, { recursive: true, force: true });
});

const settings = (extra: Record<string, string>) =>
  temporalSettingsFrom({
    TEMPORAL_ADDRESS: proxy.address,
    TEMPORAL_TLS: 'true',
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
    ...extra,
  });

async function refused(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof UserError, `a UserError, not ${String(err)}`);
    return err.message;
  }
  assert.fail('the connection was accepted');
}

test('worker and client over TLS with an API key: a workflow runs end to end', async () => {
  const s = settings({ TEMPORAL_TLS_CA: ca.caFile, TEMPORAL_API_KEY: API_KEY });
  const native = await connectWorker(s);
  const worker = await Worker.create({
    connection: native,
    taskQueue: 'tls',
    workflowsPath: require.resolve('../support/workflows/hello'),
    activities: { greet: async (name: string) => `hello, ${name}` },
  });
  const running = worker.run();
  try {
    const conn = await connectClient(s);
    const client = new Client({ connection: conn });
    const r = await client.workflow.execute('hello', {
      taskQueue: 'tls',
      workflowId: `tls-${Date.now()}`,
      args: ['tls'],
    });
    assert.equal(r, 'hello, tls');
    await conn.close();
  } finally {
    worker.shutdown();
    await running;
    await native.close();
  }
});

test('a server certificate from another CA is refused: check TEMPORAL_TLS_CA', async () => {
  const s = settings({ TEMPORAL_TLS_CA: other.caFile, TEMPORAL_API_KEY: API_KEY });
  for (const msg of [await refused(connectClient(s)), await refused(connectWorker(s))]) {
    assert.match(msg, /TLS .*Temporal at 127\.0\.0\.1:\d+.*TEMPORAL_TLS_CA/, msg);
    assert.doesNotMatch(msg, new RegExp(API_KEY));
  }
});

test('a missing or wrong API key is refused: check TEMPORAL_API_KEY, and the key is never shown', async () => {
  for (const key of [undefined, 'wrong-key-value']) {
    const s = settings({ TEMPORAL_TLS_CA: ca.caFile, ...(key ? { TEMPORAL_API_KEY: key } : {}) });
    for (const msg of [await refused(connectClient(s)), await refused(connectWorker(s))]) {
      assert.match(msg, /refused the connection.*TEMPORAL_API_KEY/, msg);
      assert.doesNotMatch(msg, /wrong-key-value/);
    }
  }
});
