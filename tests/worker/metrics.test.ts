/**
 * The worker's metrics, as an operator's Prometheus sees them: a worker process started with
 * IMAGE_FORGE_METRICS runs a lab build while a real Prometheus scrapes it every second; PromQL then
 * shows the build's outcome and its step durations, next to the Temporal SDK's own metrics. The
 * endpoint also answers /healthz and /readyz, and never shows a secret. The Grafana dashboard in
 * examples/ queries only metrics the worker exports.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LAB_TOKEN, startStack } from '../support/stack';
import type { Stack, WorkerProcess } from '../support/stack';
import { startPrometheus } from '../support/prometheus';
import type { Prometheus } from '../support/prometheus';
import { REPO } from '../support/temporal';
import { freeLoopbackPort } from '../../worker/free-port';
import { metricNamesInExpr, metricNamesExposed } from '../support/metric-names';

let stack: Stack;
let worker: WorkerProcess;
let prometheus: Prometheus | undefined;
let metricsUrl: string;
const secret = `metrics-secret-${randomBytes(12).toString('hex')}`;

async function untilReady(w: WorkerProcess, url: string): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    const log = await fs.readFile(w.logFile, 'utf8').catch(() => '');
    if (w.child.exitCode !== null || Date.now() > deadline) throw new Error(`worker not ready:\n${log}`);
    await sleep(250);
  }
}

/** Waits for a PromQL query to satisfy `ok` (Prometheus scrapes every second). */
async function eventually(promql: string, ok: (v: number | undefined) => boolean): Promise<number | undefined> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await prometheus!.query(promql);
    if (ok(v) || Date.now() > deadline) return v;
    await sleep(500);
  }
}

before(async () => {
  stack = await startStack({ worker: false });
  const port = await freeLoopbackPort();
  metricsUrl = `http://127.0.0.1:${port}`;
  worker = stack.spawnWorker({ IMAGE_FORGE_METRICS: `127.0.0.1:${port}`, FORGE_TEST_SECRET: secret });
  await untilReady(worker, metricsUrl);
  prometheus = await startPrometheus([`127.0.0.1:${port}`]);
});

after(async () => {
  await prometheus?.stop();
  await worker?.kill('SIGTERM');
  await stack?.stop();
});

test('a build shows in Prometheus: its outcome, its step durations, and the SDK worker metrics', async () => {
  const run = await stack.client([
    'start-build',
    path.join(REPO, 'tests/build/fixtures/tiny/build.yaml'),
    '--wait',
    '--json',
  ]);
  assert.equal(run.code, 0, run.stderr);

  const succeeded = await eventually('sum(image_forge_builds_ended_total{outcome="succeeded"})', (v) => v === 1);
  assert.equal(succeeded, 1, 'builds ended with outcome succeeded');
  assert.equal(await prometheus!.query('sum(image_forge_builds_started_total)'), 1, 'one build started');
  const provisions = await prometheus!.query('sum(image_forge_step_duration_seconds_count{step="provision"})');
  assert.ok((provisions ?? 0) >= 1, `provision timed at least once, got ${provisions}`);
  const apiOk = await prometheus!.query('sum(image_forge_digitalocean_requests_total{status=~"2.."})');
  assert.ok((apiOk ?? 0) >= 1, `DigitalOcean requests counted, got ${apiOk}`);
  const uploaded = await prometheus!.query('sum(image_forge_uploaded_bytes_total)');
  assert.ok((uploaded ?? 0) > 0, `bytes uploaded counted, got ${uploaded}`);
  // The build droplet was made and destroyed: none alive, and its time was counted.
  assert.equal(await prometheus!.query('image_forge_droplets_alive'), 0);
  const paid = await prometheus!.query('sum(image_forge_droplet_seconds_total)');
  assert.ok((paid ?? 0) > 0, `droplet time counted, got ${paid}`);
  // The SDK's own worker metrics come through the same address.
  const sdk = await prometheus!.query('count({__name__=~"temporal_.+", job="image-forge-worker"})');
  assert.ok((sdk ?? 0) > 0, 'the Temporal SDK metrics are scraped from the same endpoint');
});

test('/healthz and /readyz answer 200, and /metrics holds no secret', async () => {
  assert.equal((await fetch(`${metricsUrl}/healthz`)).status, 200);
  assert.equal((await fetch(`${metricsUrl}/readyz`)).status, 200);
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  assert.ok(text.includes('image_forge_builds_ended_total'), 'the worker metrics are served');
  assert.ok(!text.includes(secret), 'the worker secret is not in /metrics');
  assert.ok(!text.includes(LAB_TOKEN), 'the API token is not in /metrics');
  assert.ok(!text.includes(stack.dir), 'no path of the stack is in /metrics');
});

test('every query of the Grafana dashboard names a metric the worker exports', async () => {
  const dashboard = JSON.parse(
    await fs.readFile(path.join(REPO, 'examples/grafana/image-forge-worker.json'), 'utf8'),
  ) as unknown;
  const exprs: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (k === 'expr' && typeof x === 'string') exprs.push(x);
        else walk(x);
      }
  };
  walk(dashboard);
  assert.ok(exprs.length >= 5, `the dashboard has queries (${exprs.length})`);
  const exposed = metricNamesExposed(await (await fetch(`${metricsUrl}/metrics`)).text());
  for (const expr of exprs) {
    const names = metricNamesInExpr(expr);
    assert.ok(names.length > 0, `no metric found in ${expr}`);
    for (const name of names)
      assert.ok(
        exposed.has(name),
        `${name} (in ${expr}) is not exported by the worker; it exports ${[...exposed].sort().join(' ')}`,
      );
  }
});
