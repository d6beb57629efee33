#!/usr/bin/env node
/**
 * `worker`: holds the DigitalOcean token and the SSH key, and runs build steps. Settings come from
 * the environment (see worker/config.ts, contract/worker-environment.ts and docs/running-a-fleet.md); it fails at
 * start with one clear message for anything missing or wrong. `client worker` runs this file.
 * On SIGTERM or SIGINT it stops polling and lets running steps finish for up to 30 s (run.ts's
 * shutdownGraceTime) before handing them back to Temporal, then exits 0.
 */
// First: refuses an old Node before any SDK loads.
import './node-guard';
import { Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { UserError } from '../contract/user-error';
import { workerSettingsFrom } from './config';
import { connectClient, connectWorker } from '../platform/temporal-connection';
import { createBuildWorker } from './run';
import { restartWithLeanHeap } from './lean-heap';
import { ensureSearchAttributes } from '../platform/search-attributes';
import { startMetricsServer } from './metrics-server';
import { freeLoopbackPort } from './free-port';

async function main(): Promise<number> {
  restartWithLeanHeap();
  const settings = workerSettingsFrom(process.env);
  // The SDK's own exporter listens on loopback only; the worker's server serves its scrape with its own.
  const sdkMetricsPort = settings.metrics ? await freeLoopbackPort() : undefined;
  Runtime.install({
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) },
      ...(sdkMetricsPort
        ? { metrics: { prometheus: { bindAddress: `127.0.0.1:${sdkMetricsPort}`, useSecondsForDurations: true } } }
        : {}),
    },
  });
  const client = await connectClient(settings.temporal);
  await ensureSearchAttributes(client, settings.temporal.namespace).catch(() => undefined);
  await client.close();
  const connection = await connectWorker(settings.temporal);
  const { worker, deps } = await createBuildWorker(settings, connection);
  const metricsServer = settings.metrics
    ? await startMetricsServer({
        ...settings.metrics,
        ...(sdkMetricsPort ? { sdkScrapeUrl: `http://127.0.0.1:${sdkMetricsPort}/metrics` } : {}),
        workerState: () => worker.getState(),
      }).catch((err: unknown) => {
        throw new UserError(
          `cannot serve metrics on IMAGE_FORGE_METRICS=${settings.metrics?.host}:${settings.metrics?.port}: ${err instanceof Error ? err.message : String(err)} (choose a free port)`,
        );
      })
    : undefined;
  const stop = () => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(
    `worker: polling task queue ${settings.taskQueue} on ${settings.temporal.address} (namespace ${settings.temporal.namespace}); contexts from the ${deps.store.description}`,
  );
  await worker.run();
  metricsServer?.close();
  deps.shells.closeAll();
  await connection.close();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const msg =
      err instanceof UserError ? err.message : `unexpected error: ${err instanceof Error ? err.message : String(err)}`;
    process.stderr.write(`worker: ${msg}\n`);
    process.exit(1);
  },
);
