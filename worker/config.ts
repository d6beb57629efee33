/**
 * The worker's settings, from its environment (flags in worker/main.ts override). Names follow
 * Temporal's own tools (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, …) and
 * DigitalOcean's (DIGITALOCEAN_TOKEN).
 */
import { UserError } from '../contract/user-error';
import { parseAptProxy } from '../contract/apt-proxy';
import { parseWorkerSecrets, shortWorkerSecrets } from '../contract/worker-secrets';
import { VENDOR_API } from '../platform/vendor-api';
import { DEFAULT_TASK_QUEUE, temporalSettingsFrom } from '../platform/temporal-settings';
import type { TemporalSettings } from '../platform/temporal-settings';
import { parseMetricsAddress } from './metrics-address';
import type { MetricsAddress } from './metrics-address';

export interface WorkerSettings {
  temporal: TemporalSettings;
  taskQueue: string;
  token: string;
  apiUrl?: string;
  sshKeyPath: string;
  storeDir?: string;
  cacheDir?: string;
  /** Bytes of unpacked build contexts the worker keeps (IMAGE_FORGE_CONTEXT_CACHE_GB). */
  contextCacheBytes?: number;
  maxConcurrentActivities: number;
  maxConcurrentWorkflows: number;
  /** Per-request timeout of DigitalOcean API calls. */
  apiTimeoutMs?: number;
  /**
   * DigitalOcean API calls a minute, across all the worker's builds (IMAGE_FORGE_API_PER_MINUTE,
   * default 240: DigitalOcean allows 250 a minute per token; workers sharing a token share it).
   */
  apiPerMinute: number;
  /** The Vendor API (Marketplace); by default next to apiUrl, or DigitalOcean's. */
  vendorApiUrl?: string;
  /** A token of the team that owns the listing, when not DIGITALOCEAN_TOKEN's. Secret. */
  vendorToken?: string;
  /** Variables of the worker's environment a spec's `fromWorker` may read (IMAGE_FORGE_WORKER_SECRETS). */
  workerSecrets?: string[];
  /**
   * An apt proxy build droplets use while they build (IMAGE_FORGE_APT_PROXY, e.g. the lab's cache).
   * Off by default: real DigitalOcean droplets cannot reach a proxy on the worker's host.
   */
  aptProxy?: string;
  /** Where to serve /metrics, /healthz and /readyz (IMAGE_FORGE_METRICS, e.g. 127.0.0.1:9464). Off by default. */
  metrics?: MetricsAddress;
}

export function workerSettingsFrom(env: Record<string, string | undefined>): WorkerSettings {
  const token = env.DIGITALOCEAN_TOKEN || env.DIGITALOCEAN_ACCESS_TOKEN;
  if (!token)
    throw new UserError(
      'DIGITALOCEAN_TOKEN is not set: give the worker a DigitalOcean API token with write scope (for the lab: any token `client lab api` accepts)',
    );
  const sshKeyPath = env.IMAGE_FORGE_SSH_KEY;
  if (!sshKeyPath)
    throw new UserError(
      'IMAGE_FORGE_SSH_KEY is not set: point it at the SSH private key the worker logs in to build droplets with (e.g. ~/.ssh/id_ed25519)',
    );
  const s: WorkerSettings = {
    temporal: temporalSettingsFrom(env),
    taskQueue: env.TEMPORAL_TASK_QUEUE || DEFAULT_TASK_QUEUE,
    token,
    sshKeyPath,
    maxConcurrentActivities: positive(env.IMAGE_FORGE_MAX_ACTIVITIES, 'IMAGE_FORGE_MAX_ACTIVITIES', 40),
    maxConcurrentWorkflows: positive(env.IMAGE_FORGE_MAX_WORKFLOW_TASKS, 'IMAGE_FORGE_MAX_WORKFLOW_TASKS', 40),
    apiPerMinute: positive(env.IMAGE_FORGE_API_PER_MINUTE, 'IMAGE_FORGE_API_PER_MINUTE', 240),
  };
  try {
    s.workerSecrets = parseWorkerSecrets(env.IMAGE_FORGE_WORKER_SECRETS);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  // Step logs mask the values a build may read: one too short to mask safely stops the worker here.
  const short = shortWorkerSecrets(s.workerSecrets, env);
  if (short.length > 0) throw new UserError(short.join('; '));
  if (env.DIGITALOCEAN_API_URL) s.apiUrl = env.DIGITALOCEAN_API_URL;
  if (env.IMAGE_FORGE_API_TIMEOUT_MS)
    s.apiTimeoutMs = positive(env.IMAGE_FORGE_API_TIMEOUT_MS, 'IMAGE_FORGE_API_TIMEOUT_MS', 30_000);
  if (env.DIGITALOCEAN_VENDOR_API_URL) s.vendorApiUrl = env.DIGITALOCEAN_VENDOR_API_URL;
  if (env.DIGITALOCEAN_VENDOR_TOKEN) s.vendorToken = env.DIGITALOCEAN_VENDOR_TOKEN;
  if (env.IMAGE_FORGE_STORE_DIR) s.storeDir = env.IMAGE_FORGE_STORE_DIR;
  if (env.IMAGE_FORGE_CACHE) s.cacheDir = env.IMAGE_FORGE_CACHE;
  if (env.IMAGE_FORGE_CONTEXT_CACHE_GB) {
    const gb = Number(env.IMAGE_FORGE_CONTEXT_CACHE_GB);
    if (!Number.isFinite(gb) || gb <= 0)
      throw new UserError(
        `IMAGE_FORGE_CONTEXT_CACHE_GB must be a number of GiB above 0 (e.g. 20), not "${env.IMAGE_FORGE_CONTEXT_CACHE_GB}"`,
      );
    s.contextCacheBytes = Math.round(gb * 1024 ** 3);
  }
  if (env.IMAGE_FORGE_APT_PROXY) {
    try {
      s.aptProxy = parseAptProxy(env.IMAGE_FORGE_APT_PROXY);
    } catch (err) {
      throw new UserError((err as Error).message);
    }
  }
  if (env.IMAGE_FORGE_METRICS) s.metrics = parseMetricsAddress(env.IMAGE_FORGE_METRICS);
  return s;
}

/** The Vendor API lives at /api/v1/vendor-portal on the API's host (the lab serves it too). */
export function vendorApiUrl(s: Pick<WorkerSettings, 'apiUrl' | 'vendorApiUrl'>): string {
  if (s.vendorApiUrl) return s.vendorApiUrl.replace(/\/$/, '');
  if (s.apiUrl) return `${new URL(s.apiUrl).origin}/api/v1/vendor-portal`;
  return VENDOR_API;
}

function positive(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${name} must be a whole number of at least 1, not "${v}"`);
  return n;
}
