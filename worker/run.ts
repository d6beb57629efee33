/**
 * Builds and runs a worker: reads the login key, registers it with DigitalOcean, connects to
 * Temporal and polls the task queue. Used by `worker/main.ts` and by the tests.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import type { WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { activityDeps } from '../activities/remote/activity-deps';
import type { ActivityDeps } from '../activities/runtime/deps';
import { DoApi } from '../platform/digitalocean';
import { RequestPacer } from '../platform/request-pacer';
import { checkStore, storeFromEnv } from '../context/store-config';
import { DEFAULT_CACHE_POLICY } from '../context/cache-prune';
import { UserError } from '../contract/user-error';
import { parseAptProxy } from '../contract/apt-proxy';
import { parseWorkerSecrets, shortWorkerSecrets } from '../contract/worker-secrets';
import { vendorApiUrl } from './config';
import type { WorkerSettings } from './config';
import { VendorApi } from '../platform/vendor-api';
import { readLoginKey, registerLoginKey } from './login-key';
import { workflowCode, workflowInterceptorModules } from './workflow-bundle';
import { activityMetrics } from './activity-metrics';
import { buildMetricsSinks } from './build-metrics-sinks';

/**
 * How long a stopping worker (SIGTERM) lets running steps finish before handing them back to
 * Temporal; examples/systemd's TimeoutStopSec is above it.
 */
export const SHUTDOWN_GRACE_SECONDS = 30;

export async function createBuildWorker(
  settings: WorkerSettings,
  connection: NativeConnection,
  extra: { timing?: ActivityDeps['timing']; workerOptions?: Partial<WorkerOptions> } = {},
): Promise<{ worker: Worker; deps: ActivityDeps }> {
  // Checked again here for callers that build settings by hand: a credential is never handed out.
  let workerSecrets: string[];
  try {
    workerSecrets = parseWorkerSecrets((settings.workerSecrets ?? []).join(','));
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  // Step logs mask these values: one too short to mask is refused before any build can read it.
  const short = shortWorkerSecrets(workerSecrets, process.env);
  if (short.length > 0) throw new UserError(short.join('; '));
  let aptProxy: string | undefined;
  try {
    aptProxy = settings.aptProxy ? parseAptProxy(settings.aptProxy) : undefined;
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  const login = await readLoginKey(settings.sshKeyPath);
  const api = new DoApi({
    token: settings.token,
    ...(settings.apiUrl ? { endpoint: settings.apiUrl } : {}),
    ...(settings.apiTimeoutMs ? { requestTimeoutMs: settings.apiTimeoutMs } : {}),
    pacer: new RequestPacer(settings.apiPerMinute),
  });
  await registerLoginKey(api, login, `image-forge worker ${os.hostname()}`);
  const cache = settings.cacheDir ?? path.join(os.homedir(), '.cache', 'image-forge');
  const store = storeFromEnv({
    ...process.env,
    ...(settings.storeDir ? { IMAGE_FORGE_STORE_DIR: settings.storeDir } : {}),
  });
  await checkStore(store).catch((err: unknown) => {
    throw new UserError(`the build store is not usable: ${err instanceof Error ? err.message : String(err)}`);
  });
  const deps = activityDeps({
    api,
    login,
    store,
    contextCacheDir: path.join(cache, 'worker-contexts'),
    ...(settings.contextCacheBytes
      ? { contextCache: { ...DEFAULT_CACHE_POLICY, maxBytes: settings.contextCacheBytes } }
      : {}),
    vendor: new VendorApi(vendorApiUrl(settings), settings.vendorToken ?? settings.token, settings.apiTimeoutMs),
    // Only what the operator allowed: nothing else of the worker's environment is within a build's reach.
    workerEnv: Object.fromEntries(workerSecrets.map((n) => [n, process.env[n]])),
    workerSecrets,
    ...(aptProxy ? { aptProxy } : {}),
    ...(extra.timing ? { timing: extra.timing } : {}),
  });
  const code = workflowCode();
  if (!code.prebuilt) console.warn(`worker: ${code.why}; bundling the workflow code at start`);
  const activities = createActivities(deps);
  const worker = await Worker.create({
    connection,
    namespace: settings.temporal.namespace,
    taskQueue: settings.taskQueue,
    ...code.options,
    activities,
    // Metrics from outside the steps and the workflow (a prebuilt bundle already holds the workflow's).
    interceptors: {
      activity: [activityMetrics(Object.keys(activities))],
      ...(code.prebuilt ? {} : { workflowModules: workflowInterceptorModules() }),
    },
    sinks: buildMetricsSinks(),
    maxConcurrentActivityTaskExecutions: settings.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: settings.maxConcurrentWorkflows,
    // Long steps heartbeat; give a stopping worker time to finish or hand them back.
    shutdownGraceTime: `${SHUTDOWN_GRACE_SECONDS}s`,
    ...extra.workerOptions,
  });
  return { worker, deps };
}
