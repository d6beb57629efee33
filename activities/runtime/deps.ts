/** What the worker hands its activities: credentials stay here, never in workflow inputs. */
import type { BlobStore } from '../../context/store';
import type { CachePolicy } from '../../context/cache-prune';
import type { DoApi } from '../../platform/digitalocean';
import type { DropletSessions } from './droplet-sessions';
import { checkDropletRef, refuseIf } from './input-checks';
import { apiRetryProblems, bastionProblems, dropletProblems, timeoutProblems } from '../../contract/plan-checks';
import type { ApiRetry, DropletRef } from '../../contract/steps';
import type { BastionPlan, DropletPlan } from '../../contract/plan';
import type { VendorApi } from '../../platform/vendor-api';

export interface LoginKey {
  /** The worker's SSH private key (OpenSSH or PEM). Secret. */
  privateKey: Buffer;
  /** "ssh-ed25519 AAAA…" */
  publicKey: string;
  /** MD5 colon-hex, as DigitalOcean names keys. */
  md5Fingerprint: string;
}

export interface ActivityDeps {
  api: DoApi;
  login: LoginKey;
  /** Derives build droplets' host keys; secret. */
  hostKeySecret: Buffer;
  store: BlobStore;
  /** Where this worker caches unpacked build contexts. */
  contextCacheDir: string;
  /** How much of them it keeps (IMAGE_FORGE_CONTEXT_CACHE_GB); by default 20 GiB, none unused for 14 days. */
  contextCache?: CachePolicy;
  shells: DropletSessions;
  /** DigitalOcean's Vendor API (Marketplace), with the worker's token. */
  vendor: VendorApi;
  /** The worker's environment, for spec `env` entries `{ fromWorker: NAME }`. */
  workerEnv: Record<string, string | undefined>;
  /** The names of workerEnv a spec may read (IMAGE_FORGE_WORKER_SECRETS); every other name is refused. */
  workerSecrets: readonly string[];
  /** The worker's apt proxy for build droplets (IMAGE_FORGE_APT_PROXY); from its config, never a build's input. */
  aptProxy?: string;
  /** Timings that tests shorten. */
  timing?: { pollMs?: number; shutdownGraceMs?: number };
}

/** The plan fields an API-calling activity takes from its input (droplet, bastion, API retries, timeouts). */
export interface CheckedInput {
  /** The droplet the step reaches (every field, its bastion and API settings included). */
  ref?: DropletRef;
  droplet?: Partial<DropletPlan>;
  bastion?: BastionPlan | undefined;
  api?: ApiRetry | undefined;
  /** name → milliseconds */
  timeouts?: Record<string, number | undefined>;
}

/** Checks what an activity takes from its input; returns deps whose API calls retry as the build says. */
export function depsForInput(deps: ActivityDeps, input: CheckedInput): ActivityDeps {
  if (input.ref) checkDropletRef(input.ref);
  const problems = [
    ...(input.droplet ? dropletProblems(input.droplet) : []),
    ...bastionProblems(input.bastion),
    ...apiRetryProblems(input.api),
  ];
  for (const [name, ms] of Object.entries(input.timeouts ?? {})) {
    if (ms !== undefined)
      problems.push(...timeoutProblems({ stateMs: ms }).map((p) => p.replace('timeouts.stateMs', name)));
  }
  refuseIf(problems);
  return input.api ? { ...deps, api: deps.api.withRetry(input.api) } : deps;
}
