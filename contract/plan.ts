/**
 * A build plan: the spec normalised into what the workflow runs. It holds no secrets and no host
 * paths — files are named by their path inside the build context (the packed spec folder).
 */
export interface UploadStep {
  kind: 'upload';
  /** Path inside the build context; a trailing slash copies a folder's contents. */
  src: string;
  dest: string;
  mode?: string;
}

export interface ScriptStep {
  kind: 'script';
  /** Path inside the build context, or undefined for an inline command. */
  path?: string;
  run?: string;
  label: string;
  /** The spec's `name:` for an inline command (then also its label): checked as a step name. */
  name?: string;
  /** Ends the script (and fails its step) after this long; DEFAULT_SCRIPT_TIMEOUT_MS when absent. */
  timeoutMs?: number;
  /** Runs the script as this user, in a login shell (runuser -l), with the step's env; default root. */
  user?: string;
}

/** A script runs at most this long unless its spec entry says `timeout:` (the step's own limit is 2 h). */
export const DEFAULT_SCRIPT_TIMEOUT_MS = 60 * 60_000;
export const MAX_SCRIPT_TIMEOUT_MS = 115 * 60_000;

/** "90s", "45m", "2h", "1h30m", "500ms" (Packer's durations) → milliseconds. */
export function durationMs(text: string): number {
  if (!/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(text)) throw new Error(`not a duration: ${text}`);
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) ms += Number(m[1]) * unit[m[2]!]!;
  return Math.round(ms);
}

export function formatDuration(ms: number): string {
  if (ms % 3600_000 === 0) return `${ms / 3600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

/**
 * A playbook run on the build droplet against the droplet itself (`-c local`), with ansible-core
 * installed from the distribution's packages for the step and removed after it (with what it
 * pulled in) unless `keepAnsible`. Paths are inside the build context.
 */
export interface AnsibleStep {
  kind: 'ansible';
  /** The playbook, inside `dir`. */
  playbook: string;
  /** The folder sent to the droplet (the playbook's, with its roles, group_vars, templates). */
  dir: string;
  /** A Galaxy requirements file inside `dir`: its roles and collections are installed before the run. */
  galaxy?: string;
  /** Passed with `-e`; a `fromWorker` value is read on the worker, like env secrets. */
  extraVars?: Record<string, AnsibleVar>;
  /** Environment of the ansible run (Packer's ansible_env_vars), on top of the plan's env. */
  env?: Record<string, string>;
  /** Runs ansible-playbook as this user (Packer's `user`); root when absent. */
  user?: string;
  tags?: string[];
  skipTags?: string[];
  /** Leave ansible-core on the image. */
  keepAnsible?: boolean;
  label: string;
  name?: string;
  /** Ends the playbook (and fails its step) after this long; DEFAULT_SCRIPT_TIMEOUT_MS when absent. */
  timeoutMs?: number;
}

export type AnsibleVar = { value: string | number | boolean } | { fromWorker: string };

/**
 * An ansible step's own limit: the step also installs and removes ansible-core, and the whole
 * step must end within its activity's 2 h.
 */
export const MAX_ANSIBLE_TIMEOUT_MS = 100 * 60_000;

export type ProvisionStep = UploadStep | ScriptStep | AnsibleStep;

export type EnvSource = { value: string } | { fromWorker: string };

export interface BuildPlan {
  name: string;
  vendor: string;
  droplet: DropletPlan;
  /** Reach droplets through this jump host (build and verify). */
  ssh?: { bastion: BastionPlan };
  /** Packer-style timeouts, in milliseconds. */
  timeouts?: { stateMs?: number; snapshotMs?: number; transferMs?: number };
  /** How DigitalOcean API calls are retried (waits in seconds). */
  api?: { retryMax?: number; retryWaitMin?: number; retryWaitMax?: number };
  apt: { upgrade: boolean; packages: string[] };
  steps: ProvisionStep[];
  firstBoot: string[];
  firstLogin?: string;
  env: Record<string, EnvSource>;
  /** waitForTransfer false: the build ends once the transfers have started. */
  snapshot: { name?: string; regions: string[]; tags: string[]; keep?: number; waitForTransfer?: boolean };
  /** Run on a fresh droplet made from the snapshot (the verify step). */
  tests: ScriptStep[];
  marketplace?: MarketplacePlan;
}

/** An SSH jump host. Its own host key is pinned from the spec: a bastion without one is refused. */
export interface BastionPlan {
  host: string;
  port: number;
  user: string;
  /** "ssh-ed25519 AAAA…" (as in known_hosts, without the host name). */
  hostKey?: string;
  /** A worker environment variable naming the bastion's private key file; default: the worker's login key. */
  privateKey?: { fromWorker: string };
}

export interface DropletPlan {
  image: string;
  region: string;
  size: string;
  tags: string[];
  vpcUuid?: string;
  privateNetworking?: boolean;
  ipv6?: boolean;
  /** Installs DigitalOcean's agent (/opt/digitalocean): the image check fails unless a step removes it. */
  monitoring?: boolean;
  /** The worker connects to the droplet's private IPv4. */
  connectWithPrivateIp?: boolean;
  /** Cloud-init user data, combined with the tool's own cloud-config: inline text, or a context path. */
  userData?: { text: string } | { path: string };
}

export interface MarketplacePlan {
  appId: string;
  /** Each field left out of the plan is left out of the update: the listing keeps its value. */
  version?: string;
  reasonForUpdate?: string;
  /** A literal, or "detect": the image's PRETTY_NAME from /etc/os-release. */
  osVersion?: string;
  /** Listed in softwareIncluded; a bare name (older plans) means version "detect". */
  software?: (string | SoftwareEntry)[];
}

export interface SoftwareEntry {
  name: string;
  /** A literal, or "detect": the version of the Debian package `package` (default: name) on the image. */
  version?: string;
  /** The Debian package whose version "detect" reads, when not the entry's name. */
  package?: string;
  releaseNotes?: string;
  website?: string;
  licenseType?: string;
  licenseLink?: string;
}

/** One variant of a matrix build: what it changes in the droplet. */
export interface MatrixVariant {
  /** e.g. "debian-13-x64-s-1vcpu-1gb": part of the child build's id and image name. */
  key: string;
  droplet: BuildPlan['droplet'];
}
