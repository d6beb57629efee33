/** What the worker hands its activities: credentials stay here, never in workflow inputs. */
import type { BlobStore } from '../../context/store';
import type { CachePolicy } from '../../context/cache-prune';
import type { DoApi } from '../../platform/digitalocean';
import { ApplicationFailure } from '@temporalio/common';
import { DropletShells } from '../remote/droplet-shells';
import { FailureType } from '../../contract/failures';
import { refusedWorkerVariable } from '../../contract/worker-secrets';
import { hostKeySecretFrom } from '../../platform/host-key';
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
  shells: DropletShells;
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

/** The deps of a worker: the SSH sessions and host-key secret are made from its login key. */
export function activityDeps(base: Omit<ActivityDeps, 'shells' | 'hostKeySecret'>): ActivityDeps {
  const hostKeySecret = hostKeySecretFrom(base.login.privateKey);
  const deps: ActivityDeps = {
    ...base,
    hostKeySecret,
    // The environment is read when a bastion needs its key (tests replace deps.workerEnv), and only
    // a name the worker's operator allowed, like every `fromWorker`.
    shells: new DropletShells(base.login.privateKey, hostKeySecret, (name) => {
      const refusal = refusedWorkerVariable('ssh.bastion.privateKey', name, deps.workerSecrets);
      if (refusal)
        throw ApplicationFailure.create({ message: refusal, type: FailureType.MissingWorkerEnv, nonRetryable: true });
      return deps.workerEnv[name];
    }),
  };
  return deps;
}
