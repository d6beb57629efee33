/** The build workflow's input and result (the manifest), and a matrix build's. No secrets in any of them. */
import type { DropletCost } from './cost';
import type { BuildPlan } from './plan';
import type { InventoryResult, PruneResult, ValidationResult, VerifyResult } from './steps';
import type { PublishOutcome } from './marketplace';
import type { SbomSummary } from './bill-of-materials';
import type { RebuildDecision } from './rebuild';

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
  /** A scheduled run builds anyway once the family's last build is this old (`--rebuild-after`); absent: every run builds. */
  rebuildAfterMs?: number;
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
  /** How long the app may stay pending or in review before the build gives up submitting (default 14 days). */
  busyTimeoutMs?: number;
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
  /** A step that succeeded with a problem worth saying (e.g. its log not stored whole). */
  warning?: string;
}

export interface BuildManifest {
  buildId: string;
  status: 'succeeded' | 'failed';
  mode: BuildMode;
  name: string;
  baseImage: string;
  /** A scheduled run: why it built, or why it skipped (then nothing else was done). */
  rebuild?: RebuildDecision;
  /** The image id baseImage (a slug) resolved to for this build. */
  baseImageId?: number;
  region: string;
  size: string;
  /** transferring: regions whose copy was started and not waited for (snapshot.waitForTransfer: false). */
  snapshot?: { id: number; name: string; regions: string[]; sizeGigabytes: number; transferring?: string[] };
  /** base mode: the droplet kept for inspection. */
  droplet?: { id: number; ipv4: string; ssh: string };
  os?: InventoryResult['os'];
  packages?: Record<string, string>;
  /** The bill of materials in the build store (`client sbom`): counts and keys. */
  sbom?: SbomSummary;
  validation?: ValidationResult;
  /** The image tested on a droplet made from it; `accepted` when an operator accepted a failed test. */
  verify?: { state: 'verified' | 'accepted' | 'skipped'; result?: VerifyResult; error?: string };
  publish?: PublishOutcome;
  retention?: PruneResult;
  steps: StepRecord[];
  /** Droplet-minutes the build paid for (build droplet, test droplet), from its step times. */
  cost?: DropletCost;
  /** Undo steps that failed at the end (each a leak to look at: `client janitor`). */
  undoFailures?: string[];
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
