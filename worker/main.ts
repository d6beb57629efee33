#!/usr/bin/env node
/**
 * `worker`: holds the DigitalOcean token and the SSH key, and runs build steps. Settings come from
 * the environment (see worker/config.ts, contract/worker-environment.ts and the README); it fails at
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

async function main(): Promise<number> {
  restartWithLeanHeap();
  Runtime.install({ telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }) } } });
  const settings = workerSettingsFrom(process.env);
  const client = await connectClient(settings.temporal);
  await ensureSearchAttributes(client, settings.temporal.namespace).catch(() => undefined);
  await client.close();
  const connection = await connectWorker(settings.temporal);
  const { worker, deps } = await createBuildWorker(settings, connection);
  const stop = () => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(
    `worker: polling task queue ${settings.taskQueue} on ${settings.temporal.address} (namespace ${settings.temporal.namespace}); contexts from the ${deps.store.description}`,
  );
  await worker.run();
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
