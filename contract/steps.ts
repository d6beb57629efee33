/** Each step activity's input and result: what the workflow hands a worker and gets back. No secrets. */
import type { BastionPlan, BuildPlan, ProvisionStep, ScriptStep } from './plan';

/** How this build's DigitalOcean API calls retry (spec `api:`; waits in seconds). */
export type ApiRetry = NonNullable<BuildPlan['api']>;

/** What every step activity needs to reach the build droplet. */
export interface DropletRef {
  buildId: string;
  dropletId: number;
  /** The address the worker connects to: public, or private with droplet.connectWithPrivateIp. */
  ipv4: string;
  /** Whose host key the droplet was given, when not the build droplet's (the verify droplet). */
  hostKeyId?: string;
  /** Every SSH connection goes through this jump host (spec ssh.bastion). */
  bastion?: BastionPlan;
  /** The build's API retry settings, for the steps that call DigitalOcean (shutdown). */
  api?: ApiRetry;
}

export interface ProvisionInput {
  buildId: string;
  name: string;
  /** base builds keep their droplet: it is tagged so the janitor leaves it alone. */
  keep: boolean;
  droplet: BuildPlan['droplet'];
  /** Where droplet.userData.path is read from. */
  contextDigest?: string;
  bastion?: BastionPlan;
  /** timeouts.stateMs: how long the droplet may take to become active. */
  stateTimeoutMs?: number;
  api?: ApiRetry;
}

export interface ProvisionResult extends DropletRef {
  dropletName: string;
  /** SHA256 fingerprint of the host key handed to the droplet (public, safe to record). */
  hostKeyFingerprint: string;
  bootSeconds: number;
  /** The image the droplet was made from: what the spec's slug resolved to at this build. */
  baseImageId?: number;
}

export interface StepContext {
  droplet: DropletRef;
  contextDigest: string;
  /** Step name, for the step log. */
  step: string;
}

export interface InstallInput extends StepContext {
  apt: BuildPlan['apt'];
}

export interface UploadInput extends StepContext {
  upload: Extract<ProvisionStep, { kind: 'upload' }>;
}

export interface RunScriptInput extends StepContext {
  script: Extract<ProvisionStep, { kind: 'script' }>;
  env: BuildPlan['env'];
}

export interface AnsibleInput extends StepContext {
  ansible: Extract<ProvisionStep, { kind: 'ansible' }>;
  /** The plan's env: the playbook's process gets it too, as scripts do. */
  env: BuildPlan['env'];
}

export interface FirstBootInput extends StepContext {
  vendor: string;
  firstBoot: string[];
  firstLogin?: string;
}

export interface CommandResult {
  exitCode: number;
  /** Last lines of output, for the step summary. */
  tail: string[];
  seconds: number;
  /** Something the step did not get right that did not fail it (its log not stored whole). */
  warning?: string;
}

export interface UploadResult {
  files: number;
  bytes: number;
  /** Files whose checksum on the droplet was compared with the context. */
  verified: number;
}

export interface InventoryResult {
  os: { id: string; versionId: string; prettyName: string };
  packages: Record<string, string>;
}

export interface ValidationResult {
  passed: number;
  warnings: string[];
  failures: string[];
}

export interface ShutdownResult {
  how: 'graceful' | 'power_off' | 'already-off';
}

export interface SnapshotInput {
  droplet: DropletRef;
  name: string;
  tags: string[];
  /** timeouts.snapshotMs (default 4 h). */
  timeoutMs?: number;
  api?: ApiRetry;
}

export interface SnapshotResult {
  id: number;
  name: string;
  regions: string[];
  sizeGigabytes: number;
}

export interface TransferInput {
  imageId: number;
  region: string;
  /** timeouts.transferMs (default 12 h). */
  timeoutMs?: number;
  api?: ApiRetry;
  /** false (snapshot.waitForTransfer: false): start the transfer and return without waiting. */
  wait?: boolean;
}

export interface VerifyInput {
  buildId: string;
  /** Step name, for the step log. */
  step: string;
  contextDigest: string;
  imageId: number;
  region: string;
  /** Names of the first-boot scripts as installed (001_onboot, …): each must have run once. */
  firstBoot: string[];
  tests: ScriptStep[];
  env: BuildPlan['env'];
  /** The build droplet's network options, for the test droplet too. */
  network?: Pick<BuildPlan['droplet'], 'vpcUuid' | 'privateNetworking' | 'connectWithPrivateIp'>;
  bastion?: BastionPlan;
  stateTimeoutMs?: number;
  api?: ApiRetry;
}

export interface VerifyResult {
  dropletId: number;
  size: string;
  bootSeconds: number;
  firstBoot: { name: string; runs: number }[];
  validation: ValidationResult;
  tests: { label: string; exitCode: number; seconds: number }[];
  /** Things a reviewer might notice that do not fail the image. */
  notes: string[];
}

export interface SnapshotRef {
  id: number;
  name: string;
}

export interface PruneInput {
  family: string;
  keep: number;
  /** The family's Marketplace app: its current image is never deleted. */
  appId?: string;
  /** Never deleted: the image just built, and images published or in review. */
  protect: number[];
  api?: ApiRetry;
}

export interface PruneResult {
  kept: SnapshotRef[];
  deleted: SnapshotRef[];
  protected: SnapshotRef[];
}
