/**
 * What each step of the recipe is given: pure functions of the build's input and of what earlier
 * steps returned (no Temporal, no side effects), so they are unit-tested on their own. A field the
 * spec does not set is left out, not sent empty: the inputs of older specs stay as they were, and
 * recorded histories replay.
 */
import { familyTag, firstBootName } from '../../contract/names';
import type { BuildInput, BuildManifest } from '../../contract/build';
import type { AnsibleStep, BuildPlan, ProvisionStep, ScriptStep, UploadStep } from '../../contract/plan';
import type { RebuildInput, RecordBuildInput } from '../../contract/rebuild';
import type { SbomInput } from '../../contract/bill-of-materials';
import type {
  AnsibleInput,
  ApiRetry,
  DropletRef,
  FirstBootInput,
  InstallInput,
  ProvisionInput,
  ProvisionResult,
  PruneInput,
  RunScriptInput,
  SnapshotInput,
  SnapshotResult,
  StepContext,
  TransferInput,
  UploadInput,
  VerifyInput,
} from '../../contract/steps';

/** The build so far: its input, and what the steps before the current one returned. */
export interface SoFar {
  readonly input: BuildInput;
  readonly manifest: BuildManifest;
  /** provision's droplet, as every later step addresses it. */
  readonly droplet?: DropletRef & Pick<ProvisionResult, 'baseImageId'>;
  readonly snapshot?: SnapshotResult;
  /** Answers of the patches the inputs depend on (see behaviourChanges in build.ts). */
  readonly release: boolean;
}

const plan = (b: SoFar): BuildPlan => b.input.plan;
const api = (b: SoFar): { api?: ApiRetry } => (plan(b).api ? { api: plan(b).api } : {});
const bastion = (b: SoFar) => (plan(b).ssh?.bastion ? { bastion: plan(b).ssh!.bastion! } : {});
const stateTimeout = (b: SoFar) =>
  plan(b).timeouts?.stateMs !== undefined ? { stateTimeoutMs: plan(b).timeouts!.stateMs! } : {};

/** The droplet's address, for a step that needs it before provision returned (a bug in the recipe). */
export function dropletOf(b: SoFar): DropletRef {
  if (!b.droplet) throw new Error('the recipe used the build droplet before provision made it');
  return b.droplet;
}

function snapshotOf(b: SoFar): SnapshotResult {
  if (!b.snapshot) throw new Error('the recipe used the snapshot before the snapshot step made it');
  return b.snapshot;
}

/** A step on the build droplet: the droplet and the step's name (its log and host key use both). */
const on = (b: SoFar, step: string, digest: string): StepContext => ({
  droplet: dropletOf(b),
  step,
  contextDigest: digest,
});

export const inputs = {
  checkInput: (b: SoFar): BuildInput => b.input,

  decideRebuild: (b: SoFar, startedAt: string): RebuildInput => ({
    family: plan(b).name,
    plan: plan(b),
    contextDigest: b.input.contextDigest,
    at: startedAt,
    ...(b.input.rebuildAfterMs !== undefined ? { rebuildAfterMs: b.input.rebuildAfterMs } : {}),
    ...api(b),
  }),

  provision: (b: SoFar, digest: string): ProvisionInput => ({
    buildId: b.input.buildId,
    name: plan(b).name,
    keep: b.input.mode === 'base',
    droplet: plan(b).droplet,
    ...(plan(b).droplet.userData ? { contextDigest: digest } : {}),
    ...bastion(b),
    ...stateTimeout(b),
    ...api(b),
  }),

  /** The build droplet as every later step addresses it. */
  dropletRef: (b: SoFar, droplet: ProvisionResult): DropletRef => ({
    buildId: b.input.buildId,
    dropletId: droplet.dropletId,
    ipv4: droplet.ipv4,
    ...bastion(b),
    ...api(b),
  }),

  destroy: (b: SoFar) => ({ buildId: b.input.buildId, ...api(b) }),

  install: (b: SoFar, digest: string): InstallInput => ({ ...on(b, 'install', digest), apt: plan(b).apt }),

  upload: (b: SoFar, digest: string, step: string, upload: UploadStep): UploadInput => ({
    ...on(b, step, digest),
    upload,
  }),

  runScript: (b: SoFar, digest: string, step: string, script: ScriptStep): RunScriptInput => ({
    ...on(b, step, digest),
    script,
    env: plan(b).env,
  }),

  ansiblePlaybook: (b: SoFar, digest: string, step: string, ansible: AnsibleStep): AnsibleInput => ({
    ...on(b, step, digest),
    ansible,
    env: plan(b).env,
  }),

  installFirstBoot: (b: SoFar, digest: string): FirstBootInput => ({
    ...on(b, 'first-boot', digest),
    vendor: plan(b).vendor,
    firstBoot: plan(b).firstBoot,
    ...(plan(b).firstLogin ? { firstLogin: plan(b).firstLogin } : {}),
  }),

  onDroplet: (step: string) => (b: SoFar, digest: string) => on(b, step, digest),

  sbom: (b: SoFar, digest: string): SbomInput => ({
    ...on(b, 'sbom', digest),
    name: plan(b).name,
    buildId: b.input.buildId,
    snapshotName: b.input.snapshotName,
    vendor: plan(b).vendor,
    uploads: plan(b).steps.filter((p) => p.kind === 'upload'),
    firstBoot: plan(b).firstBoot,
    ...(plan(b).firstLogin ? { firstLogin: plan(b).firstLogin } : {}),
  }),

  shutdown: (b: SoFar): DropletRef => dropletOf(b),

  snapshot: (b: SoFar): SnapshotInput => ({
    droplet: dropletOf(b),
    name: b.input.snapshotName,
    tags: b.release ? [...plan(b).snapshot.tags, familyTag(plan(b).name)] : plan(b).snapshot.tags,
    ...(plan(b).timeouts?.snapshotMs !== undefined ? { timeoutMs: plan(b).timeouts!.snapshotMs! } : {}),
    ...api(b),
  }),

  deleteSnapshot: (b: SoFar) => ({ imageId: snapshotOf(b).id, ...api(b) }),

  transfer: (b: SoFar, region: string, noWait: boolean): TransferInput => ({
    imageId: snapshotOf(b).id,
    region,
    ...(plan(b).timeouts?.transferMs !== undefined ? { timeoutMs: plan(b).timeouts!.transferMs! } : {}),
    ...api(b),
    ...(noWait ? { wait: false } : {}),
  }),

  verify: (b: SoFar, digest: string): VerifyInput => ({
    buildId: b.input.buildId,
    step: 'verify',
    contextDigest: digest,
    imageId: snapshotOf(b).id,
    region: plan(b).droplet.region,
    firstBoot: plan(b).firstBoot.map((src, i) => firstBootName(i, src)),
    tests: plan(b).tests ?? [],
    env: plan(b).env,
    ...verifyNetwork(plan(b).droplet),
    ...bastion(b),
    ...stateTimeout(b),
    ...api(b),
  }),

  recordBuild: (b: SoFar, digest: string, startedAt: string): RecordBuildInput => ({
    family: plan(b).name,
    buildId: b.input.buildId,
    image: plan(b).droplet.image,
    ...(b.manifest.baseImageId !== undefined ? { baseImageId: b.manifest.baseImageId } : {}),
    contextDigest: digest,
    plan: plan(b),
    snapshotId: snapshotOf(b).id,
    startedAt,
  }),

  pruneSnapshots: (b: SoFar, keep: number): PruneInput => ({
    family: plan(b).name,
    keep,
    protect: [snapshotOf(b).id],
    ...api(b),
    ...(plan(b).marketplace ? { appId: plan(b).marketplace!.appId } : {}),
  }),
};

/** The name of the spec's i-th step (01-upload, 02-script, 03-ansible, …): its log, its host key and `client retry` use it. */
export function specStepName(i: number, s: ProvisionStep): string {
  return `${String(i + 1).padStart(2, '0')}-${s.kind}`;
}

/** The build droplet's network options the test droplet shares (none: the input stays as before). */
function verifyNetwork(d: BuildPlan['droplet']) {
  const network = {
    ...(d.vpcUuid !== undefined ? { vpcUuid: d.vpcUuid } : {}),
    ...(d.privateNetworking !== undefined ? { privateNetworking: d.privateNetworking } : {}),
    ...(d.connectWithPrivateIp !== undefined ? { connectWithPrivateIp: d.connectWithPrivateIp } : {}),
  };
  return Object.keys(network).length > 0 ? { network } : {};
}
