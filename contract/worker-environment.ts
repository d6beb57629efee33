/**
 * Every setting the worker reads from its environment, with its meaning: the one table that
 * `client worker --help` and examples/systemd/image-forge-worker.env.example are written from
 * (tests/worker/worker-command.test.ts checks that every variable worker/config.ts and what it
 * calls read is listed here).
 */
export interface WorkerVariable {
  name: string;
  meaning: string;
  /** A credential: the example env file leaves it empty and the unit keeps its file at mode 0600. */
  secret?: boolean;
}

export const WORKER_ENVIRONMENT: readonly WorkerVariable[] = [
  { name: 'DIGITALOCEAN_TOKEN', meaning: 'DigitalOcean API token with write scope (required)', secret: true },
  { name: 'DIGITALOCEAN_ACCESS_TOKEN', meaning: 'read when DIGITALOCEAN_TOKEN is not set', secret: true },
  { name: 'IMAGE_FORGE_SSH_KEY', meaning: 'SSH private key the worker logs in to build droplets with (required)' },
  { name: 'DIGITALOCEAN_API_URL', meaning: 'DigitalOcean API endpoint (default https://api.digitalocean.com)' },
  { name: 'DIGITALOCEAN_VENDOR_API_URL', meaning: "Marketplace Vendor API endpoint (default: next to the API's)" },
  {
    name: 'DIGITALOCEAN_VENDOR_TOKEN',
    meaning: 'token of the team owning the listing, when not DIGITALOCEAN_TOKEN',
    secret: true,
  },
  { name: 'TEMPORAL_ADDRESS', meaning: 'Temporal frontend host:port (default 127.0.0.1:7233)' },
  { name: 'TEMPORAL_NAMESPACE', meaning: 'Temporal namespace (default default)' },
  { name: 'TEMPORAL_TASK_QUEUE', meaning: 'task queue the worker polls (default image-forge; --task-queue)' },
  { name: 'TEMPORAL_API_KEY', meaning: 'Temporal Cloud API key (turns TLS on)', secret: true },
  { name: 'TEMPORAL_TLS', meaning: 'true: connect to Temporal over TLS' },
  { name: 'TEMPORAL_TLS_CERT', meaning: 'client certificate for mTLS (turns TLS on)' },
  { name: 'TEMPORAL_TLS_KEY', meaning: "client certificate's private key for mTLS" },
  { name: 'TEMPORAL_TLS_CA', meaning: "CA that signed Temporal's server certificate" },
  { name: 'TEMPORAL_TLS_SERVER_NAME', meaning: "name in Temporal's server certificate, when not its address" },
  { name: 'IMAGE_FORGE_MAX_ACTIVITIES', meaning: 'build steps the worker runs at once (default 40)' },
  { name: 'IMAGE_FORGE_MAX_WORKFLOW_TASKS', meaning: 'workflow tasks the worker runs at once (default 40)' },
  {
    name: 'IMAGE_FORGE_API_PER_MINUTE',
    meaning: 'DigitalOcean API calls a minute across all builds (default 240 of 250)',
  },
  { name: 'IMAGE_FORGE_API_TIMEOUT_MS', meaning: 'timeout of one DigitalOcean API request, in ms' },
  {
    name: 'IMAGE_FORGE_METRICS',
    meaning: 'address to serve /metrics, /healthz and /readyz on, e.g. 127.0.0.1:9464 (off when unset)',
  },
  {
    name: 'IMAGE_FORGE_WORKER_SECRETS',
    meaning: "comma-separated variables a spec's fromWorker may read (8+ chars each)",
  },
  { name: 'IMAGE_FORGE_APT_PROXY', meaning: 'apt proxy build droplets use while they build (off by default)' },
  { name: 'IMAGE_FORGE_CACHE', meaning: 'cache folder: build contexts, local store (default ~/.cache/image-forge)' },
  { name: 'IMAGE_FORGE_CONTEXT_CACHE_GB', meaning: 'GiB of unpacked build contexts the worker keeps' },
  { name: 'IMAGE_FORGE_STORE_DIR', meaning: 'build store folder, when not in S3 (default <cache>/store)' },
  { name: 'IMAGE_FORGE_S3_BUCKET', meaning: 'S3 bucket of the build store (instead of a folder)' },
  { name: 'IMAGE_FORGE_S3_ENDPOINT', meaning: 'S3 endpoint, e.g. https://nyc3.digitaloceanspaces.com' },
  { name: 'IMAGE_FORGE_S3_REGION', meaning: 'S3 region (default us-east-1)' },
  { name: 'IMAGE_FORGE_S3_PREFIX', meaning: 'key prefix of the build store in the bucket' },
  { name: 'IMAGE_FORGE_S3_FORCE_PATH_STYLE', meaning: '1 or 0: path-style S3 URLs' },
  { name: 'AWS_ACCESS_KEY_ID', meaning: 'S3 access key (read by the AWS SDK)', secret: true },
  { name: 'AWS_SECRET_ACCESS_KEY', meaning: 'S3 secret key (read by the AWS SDK)', secret: true },
];

/** The table as `--help` prints it: one line a variable. */
export function workerEnvironmentHelp(): string {
  const width = Math.max(...WORKER_ENVIRONMENT.map((v) => v.name.length));
  return WORKER_ENVIRONMENT.map((v) => `  ${v.name.padEnd(width)}  ${v.meaning}`).join('\n');
}
