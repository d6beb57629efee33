/** Typed inputs and results of the build workflow and its steps. No secrets in any of them. */
import type { BuildPlan, ProvisionStep } from '../spec/plan';

export type BuildMode = 'image' | 'base';

export interface BuildInput {
  buildId: string;
  plan: BuildPlan;
  /** Digest of the packed build context in the store the workers read. */
  contextDigest: string;
  mode: BuildMode;
  snapshotName: string;
  /** How long a failed step waits for an operator before the build gives up and cleans up. */
  operatorTimeoutMs?: number;
}

/** What every step activity needs to reach the build droplet. */
export interface DropletRef {
  buildId: string;
  dropletId: number;
  ipv4: string;
}

export interface ProvisionInput {
  buildId: string;
  name: string;
  /** base builds keep their droplet: it is tagged so the janitor leaves it alone. */
  keep: boolean;
  droplet: BuildPlan['droplet'];
}

export interface ProvisionResult extends DropletRef {
  dropletName: string;
  /** SHA256 fingerprint of the host key handed to the droplet (public, safe to record). */
  hostKeyFingerprint: string;
  bootSeconds: number;
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
}

export interface StepRecord {
  name: string;
  summary: string;
  state: 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'waiting-for-operator';
  startedAt?: string;
  seconds?: number;
  attempts: number;
  error?: string;
  exitCode?: number;
  tail?: string[];
}

export interface BuildManifest {
  buildId: string;
  status: 'succeeded' | 'failed';
  mode: BuildMode;
  name: string;
  baseImage: string;
  region: string;
  size: string;
  snapshot?: { id: number; name: string; regions: string[]; sizeGigabytes: number };
  /** base mode: the droplet kept for inspection. */
  droplet?: { id: number; ipv4: string; ssh: string };
  os?: InventoryResult['os'];
  packages?: Record<string, string>;
  validation?: ValidationResult;
  steps: StepRecord[];
  error?: string;
}
