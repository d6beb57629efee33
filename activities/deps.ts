/** What the worker hands its activities: credentials stay here, never in workflow inputs. */
import type { BlobStore } from '../context/store';
import type { DoApi } from './digitalocean';
import type { DropletShells } from './droplet-shell';
import type { VendorApi } from './vendor-api';

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
  shells: DropletShells;
  /** DigitalOcean's Vendor API (Marketplace), with the worker's token. */
  vendor: VendorApi;
  /** The worker's environment, for spec `env` entries `{ fromWorker: NAME }`. */
  workerEnv: Record<string, string | undefined>;
  /** Timings that tests shorten. */
  timing?: { pollMs?: number; shutdownGraceMs?: number };
}
