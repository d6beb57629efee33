/**
 * Every activity a build worker registers, by the name the workflow calls it: the one list both
 * sides agree on. The names are part of recorded histories: renaming one breaks running builds.
 */
import type {
  AnsibleInput,
  ApiRetry,
  CommandResult,
  DropletRef,
  FirstBootInput,
  InstallInput,
  InventoryResult,
  ProvisionInput,
  ProvisionResult,
  PruneInput,
  PruneResult,
  RunScriptInput,
  ShutdownResult,
  SnapshotInput,
  SnapshotResult,
  StepContext,
  TransferInput,
  UploadInput,
  UploadResult,
  ValidationResult,
  VerifyInput,
  VerifyResult,
} from './steps';
import type { BuildInput } from './build';
import type { SbomInput, SbomSummary } from './bill-of-materials';
import type { AppStatus, PublishAttempt, PublishInput, PublishedRecord } from './marketplace';
import type { LastBuildRecord, RebuildDecision, RebuildInput, RecordBuildInput } from './rebuild';

export interface BuildActivities {
  /** The whole input checked on the worker before anything is created. */
  checkInput(input: BuildInput): Promise<{ checked: true }>;
  provision(input: ProvisionInput): Promise<ProvisionResult>;
  /** The undo of provision: every droplet with the build's tag. */
  destroy(input: { buildId: string; api?: ApiRetry }): Promise<{ destroyed: number[] }>;
  install(input: InstallInput): Promise<CommandResult>;
  upload(input: UploadInput): Promise<UploadResult>;
  runScript(input: RunScriptInput): Promise<CommandResult>;
  /** A playbook run on the build droplet, with ansible-core there only for the step. */
  ansiblePlaybook(input: AnsibleInput): Promise<CommandResult>;
  installFirstBoot(input: FirstBootInput): Promise<UploadResult>;
  inventory(input: StepContext): Promise<InventoryResult>;
  /** The image's bill of materials, into the build store. */
  sbom(input: SbomInput): Promise<SbomSummary>;
  cleanup(input: StepContext): Promise<CommandResult>;
  validate(input: StepContext): Promise<ValidationResult>;
  shutdown(input: DropletRef): Promise<ShutdownResult>;
  snapshot(input: SnapshotInput): Promise<SnapshotResult>;
  /** The undo of snapshot. */
  deleteSnapshot(input: { imageId: number; api?: ApiRetry }): Promise<{ deleted: boolean }>;
  transfer(input: TransferInput): Promise<string[]>;
  verify(input: VerifyInput): Promise<VerifyResult>;
  pruneSnapshots(input: PruneInput): Promise<PruneResult>;
  publish(input: PublishInput): Promise<PublishAttempt>;
  /** null: no read of the app works (the Vendor API documents none). */
  reviewStatus(input: { appId: string }): Promise<AppStatus | null>;
  lastPublished(input: { family: string }): Promise<PublishedRecord | null>;
  recordPublished(record: PublishedRecord): Promise<void>;
  /** A scheduled run, before provision: build or skip, and why. */
  decideRebuild(input: RebuildInput): Promise<RebuildDecision>;
  /** A finished image build, remembered for the next decision. */
  recordBuild(input: RecordBuildInput): Promise<LastBuildRecord>;
}
