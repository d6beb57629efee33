/** Typed inputs and results of the build workflow and its steps. No secrets in any of them. */
import type { BuildPlan, ProvisionStep, ScriptStep } from '../spec/plan';

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
  /** Test the image on a droplet made from the snapshot (default true; `--no-verify`). */
  verify?: boolean;
  /** Publish to the spec's Marketplace app after a person approves (`--publish`). */
  publish?: boolean;
  /** Started by a schedule: buildId and snapshotName are made per run; an unchanged rebuild is not published. */
  scheduled?: boolean;
  /** Waits of the publish step; tests shorten them. */
  publishTiming?: PublishTiming;
}

export interface PublishTiming {
  /** How long to wait for a person's approval before giving up (default 7 days). */
  approvalTimeoutMs?: number;
  /** Wait before trying again when the app is pending or in review (default 1 h). */
  busyRetryMs?: number;
  /** First wait between looks at the review (default 15 min, doubling to 12 h). */
  reviewPollMs?: number;
  /** How long to follow a review before giving up (default 30 days). */
  reviewTimeoutMs?: number;
}

/** What every step activity needs to reach the build droplet. */
export interface DropletRef {
  buildId: string;
  dropletId: number;
  ipv4: string;
  /** Whose host key the droplet was given, when not the build droplet's (the verify droplet). */
  hostKeyId?: string;
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
}

export interface PruneResult {
  kept: SnapshotRef[];
  deleted: SnapshotRef[];
  protected: SnapshotRef[];
}

export interface PublishInput {
  buildId: string;
  appId: string;
  imageId: number;
  version: string;
  reasonForUpdate: string;
  osVersion: string;
  softwareIncluded: { name: string; version: string }[];
}

/** What the Vendor API said: `busy` is its 400 (pending or in review): wait and try again. */
export type PublishAttempt = { kind: 'submitted'; status: AppStatus } | { kind: 'busy'; message: string };

export interface AppStatus {
  value: string;
  lastUpdated?: string;
  reason?: string;
  imageId?: number;
}

export interface PublishedRecord {
  family: string;
  appId: string;
  imageId: number;
  buildId: string;
  packages: Record<string, string>;
  review: string;
  at: string;
}

export interface PublishOutcome {
  state: 'rejected-by-operator' | 'approval-timed-out' | 'unchanged' | 'submitted' | 'approved' | 'review-rejected' | 'review-timed-out';
  by?: string;
  reason?: string;
  /** Times the Vendor API said the app was busy before it took the update. */
  busyRetries?: number;
  review?: AppStatus;
}

export interface StepRecord {
  name: string;
  summary: string;
  state: 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'accepted' | 'waiting-for-operator' | 'waiting';
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
  /** The image tested on a droplet made from it; `accepted` when an operator accepted a failed test. */
  verify?: { state: 'verified' | 'accepted' | 'skipped'; result?: VerifyResult; error?: string };
  publish?: PublishOutcome;
  retention?: PruneResult;
  steps: StepRecord[];
  error?: string;
}

/** A parent build of several variants (a spec's matrix, or several spec files). */
export interface MatrixInput {
  buildId: string;
  name: string;
  /** Variants built at once. */
  concurrency: number;
  /** memo: where each spec lives, for `client retry` of a variant after an edit. */
  children: { key: string; input: BuildInput; memo?: Record<string, unknown> }[];
}

export interface MatrixVariantResult {
  key: string;
  buildId: string;
  status: 'succeeded' | 'failed';
  image: string;
  region: string;
  size: string;
  snapshot?: BuildManifest['snapshot'];
  verify?: NonNullable<BuildManifest['verify']>['state'];
  os?: string;
  seconds: number;
  error?: string;
}

export interface MatrixResult {
  buildId: string;
  status: 'succeeded' | 'failed';
  variants: MatrixVariantResult[];
}
