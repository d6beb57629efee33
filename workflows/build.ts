/**
 * The build recipe: check, provision, install, upload, run scripts, first boot, clean, validate,
 * shut down, snapshot, transfer, verify, retain, publish. RECIPE below is the whole of it, in
 * order: each entry names its step (as `client retry` and the Web UI do), its summary, its retry
 * kind, the pure function that makes its input (recipe/inputs.ts) and its undo, which is
 * registered the moment the step has something to undo and unwound newest first on any ending
 * (undo.ts). recipe/run.ts walks the list.
 */
import * as wf from '@temporalio/workflow';
import { StepRunner } from './steps/runner';
import { ApprovalDesk, publishToMarketplace } from './publish-to-marketplace';
import { Undo } from './undo';
import { control, each, step, undo } from './recipe/entry';
import type { Build, Changes, RecipeEntry, StepEntry } from './recipe/entry';
import { inputs, specStepName } from './recipe/inputs';
import { runRecipe } from './recipe/run';
import type { BuildInput, BuildManifest } from '../contract/build';

/**
 * Behaviour changes since builds were first recorded, each behind a Temporal patch so a build
 * started by older code replays unchanged. `guarded: false` is for the test that shows what
 * happens without the patch (the recorded histories stop replaying).
 */
export function behaviourChanges(guarded = true): Changes {
  return {
    inventoryAfterCleanup: () => (guarded ? wf.patched('inventory-after-cleanup') : true),
    /** Destroy the build droplet once the image exists; verify, retain, publish. */
    release: () => (guarded ? wf.patched('verify-retain-publish') : true),
    /** The worker checks the whole input (paths, names, allowed secrets) before anything is created. */
    checkInput: () => (guarded ? wf.patched('check-input-first') : true),
    /** Record the image's bill of materials (the sbom step) right after the inventory. */
    sbom: () => (guarded ? wf.patched('sbom') : true),
    /** snapshot.waitForTransfer: false — start the transfers, do not wait for them. */
    transferNoWait: () => (guarded ? wf.patched('transfer-no-wait') : true),
    /** A scheduled run decides before provision whether to build; every image build is recorded for that. */
    rebuildTriggers: () => (guarded ? wf.patched('rebuild-triggers') : true),
    /** The build droplet goes as soon as the snapshot exists, not after the copies to other regions. */
    destroyBeforeTransfer: () => (guarded ? wf.patched('destroy-before-transfer') : true),
  };
}

export async function buildImage(input: BuildInput): Promise<BuildManifest> {
  return runBuild(perRun(input), behaviourChanges());
}

/** A schedule starts every run with the same input: each run takes its id and snapshot name from itself. */
function perRun(input: BuildInput): BuildInput {
  if (input.buildId && input.snapshotName) return input;
  const buildId = input.buildId || wf.workflowInfo().workflowId;
  // The same stamp as the client's (20261127T050000Z), so manual and scheduled snapshots sort together.
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return { ...input, buildId, snapshotName: input.snapshotName || `${input.plan.name}-${stamp}` };
}

export async function runBuild(input: BuildInput, changes: Changes): Promise<BuildManifest> {
  const { plan } = input;
  const steps = new StepRunner(input);
  const manifest: BuildManifest = {
    buildId: input.buildId,
    status: 'failed',
    mode: input.mode,
    name: plan.name,
    baseImage: plan.droplet.image,
    region: plan.droplet.region,
    size: plan.droplet.size,
    steps: steps.records,
  };
  const build: Build = {
    input,
    manifest,
    changes,
    steps,
    approvals: new ApprovalDesk(steps),
    undos: new Map(),
    notes: new Set(),
    startedAt: new Date(wf.workflowInfo().startTime).toISOString(),
    // Asked first, as builds have always asked it: the snapshot's tags and the release depend on it.
    release: changes.release(),
  };
  return runRecipe(RECIPE, build, new Undo());
}

const plural = (n: number, word: string) => `${n} ${word}${n > 1 ? 's' : ''}`;

/** The spec's steps, in order: an upload, or a script or playbook the operator may skip. */
function specSteps(b: Build): StepEntry[] {
  return b.input.plan.steps.map((s, i) => {
    const name = specStepName(i, s);
    if (s.kind === 'upload')
      return step({
        name,
        summary: () => `upload ${s.src} to ${s.dest}`,
        retry: 'long',
        activity: 'upload',
        input: (b, d) => inputs.upload(b, d, name, s),
      });
    // No patch: only a plan with an ansible step comes here, and no build before this code had one.
    // Skippable like a script: the step removes ansible-core even when the playbook fails.
    if (s.kind === 'ansible')
      return step({
        name,
        summary: () => `run ${s.label}`,
        retry: 'long',
        leeway: 'skip',
        activity: 'ansiblePlaybook',
        input: (b, d) => inputs.ansiblePlaybook(b, d, name, s),
      });
    return step({
      name,
      summary: () => `run ${s.label}`,
      retry: 'long',
      leeway: 'skip',
      activity: 'runScript',
      input: (b, d) => inputs.runScript(b, d, name, s),
    });
  });
}

/** A copy of the snapshot to each of the spec's other regions, at once. */
function transfers(b: Build): StepEntry[] {
  // snapshot.waitForTransfer: false starts each copy and goes on (the manifest lists them as transferring).
  const noWait = b.input.plan.snapshot.waitForTransfer === false && b.changes.transferNoWait();
  return b.input.plan.snapshot.regions.map((region) =>
    step({
      name: `transfer-${region}`,
      summary: () => `${noWait ? 'start copying' : 'copy'} the snapshot to ${region}`,
      retry: 'long',
      activity: 'transfer',
      input: (b) => inputs.transfer(b, region, noWait),
    }),
  );
}

/** inventory (and the bill of materials after it): before cleanup in builds recorded before that changed. */
const inventory = (when: (b: Build) => boolean): RecipeEntry[] => [
  step({
    name: 'inventory',
    summary: () => 'record OS and package versions',
    retry: 'quick',
    activity: 'inventory',
    when,
    input: inputs.onDroplet('inventory'),
    done: (b, inventory) => {
      b.manifest.os = inventory.os;
      b.manifest.packages = inventory.packages;
    },
  }),
  step({
    name: 'sbom',
    summary: () => 'record the bill of materials (CycloneDX, SPDX)',
    retry: 'quick',
    activity: 'sbom',
    when: (b) => when(b) && b.changes.sbom(),
    input: inputs.sbom,
    done: (b, sbom) => {
      b.manifest.sbom = sbom;
      b.steps.progress.sbom = sbom;
    },
  }),
];

/** The recipe, in order. A step left out by its `when` leaves no record. */
export const RECIPE: readonly RecipeEntry[] = [
  // A workflow input may come from anyone who can reach the task queue: the worker checks it
  // before a droplet exists, and a refusal ends the build (there is nothing to clean up).
  step({
    name: 'check-input',
    summary: () => 'check the build input on the worker',
    retry: 'quick',
    leeway: 'final',
    activity: 'checkInput',
    when: (b) => b.changes.checkInput(),
    input: inputs.checkInput,
    failed: (b, err) => {
      b.manifest.error = err instanceof Error ? err.message : String(err);
      b.steps.end('failed');
    },
  }),
  // A scheduled run builds only when something changed (or a periodic rebuild is due): decided
  // before any droplet exists, so a skipped run costs one API read.
  step({
    name: 'decide',
    summary: () => 'decide whether to rebuild (base image, spec, timer)',
    retry: 'quick',
    leeway: 'final',
    activity: 'decideRebuild',
    when: (b) => b.changes.rebuildTriggers() && b.input.scheduled === true,
    input: (b) => inputs.decideRebuild(b, b.startedAt),
    done: (b, decision) => {
      b.manifest.rebuild = decision;
      if (decision.baseImageId !== undefined) b.manifest.baseImageId = decision.baseImageId;
      return decision.build ? undefined : 'stop';
    },
  }),
  step({
    name: 'provision',
    summary: (b) => {
      const d = b.input.plan.droplet;
      return `create a ${d.size} droplet from ${d.image} in ${d.region}`;
    },
    retry: 'long',
    activity: 'provision',
    input: inputs.provision,
    done: (b, droplet) => {
      b.steps.progress.dropletId = droplet.dropletId;
      if (droplet.baseImageId !== undefined) b.manifest.baseImageId = droplet.baseImageId;
      b.droplet = inputs.dropletRef(b, droplet);
    },
    // Registered before provision runs: a provision that fails half-way may still have created
    // the droplet, and the undo finds it by this build's tag, not by its id.
    undo: undo({
      what: 'destroy the build droplet',
      registered: 'before',
      name: 'destroy',
      summary: () => 'destroy the build droplet',
      retry: 'persistent',
      activity: 'destroy',
      input: inputs.destroy,
    }),
  }),
  step({
    name: 'install',
    summary: (b) => {
      const n = b.input.plan.apt.packages.length;
      return n > 0 ? `install ${n} apt packages` : 'upgrade apt packages';
    },
    retry: 'long',
    activity: 'install',
    when: (b) => b.input.plan.apt.upgrade || b.input.plan.apt.packages.length > 0,
    input: inputs.install,
  }),
  each({ name: "the spec's steps", parallel: false, items: specSteps }),
  step({
    name: 'first-boot',
    summary: (b) => {
      const n = b.input.plan.firstBoot.length + (b.input.plan.firstLogin ? 1 : 0);
      return `install ${plural(n, 'first-boot and first-login script')}`;
    },
    retry: 'quick',
    activity: 'installFirstBoot',
    when: (b) => b.input.plan.firstBoot.length > 0 || b.input.plan.firstLogin !== undefined,
    input: inputs.installFirstBoot,
  }),
  control(
    'a base build stops before cleanup and keeps its droplet for the vendor to inspect',
    (b) => {
      b.undos.get('provision')!.keep('a base build keeps its droplet for the vendor to inspect');
      const { dropletId, ipv4 } = b.droplet!;
      const bastion = b.input.plan.ssh?.bastion;
      const jump = bastion ? `-J ${bastion.user}@${bastion.host}:${bastion.port} ` : '';
      b.manifest.droplet = { id: dropletId, ipv4, ssh: `ssh ${jump}root@${ipv4}` };
      return 'stop';
    },
    (b) => b.input.mode === 'base',
  ),
  // Cleanup ends with a full upgrade, so the manifest's package versions are read after it.
  // Builds started before this change (waiting for an operator, say) keep the old order.
  ...inventory((b) => !b.changes.inventoryAfterCleanup()),
  step({
    name: 'cleanup',
    summary: () => 'clean logs, history, temp files and apt caches; upgrade; zero free space',
    retry: 'long',
    activity: 'cleanup',
    input: inputs.onDroplet('cleanup'),
  }),
  ...inventory((b) => b.changes.inventoryAfterCleanup()),
  step({
    name: 'validate',
    summary: () => 'check the image against the Marketplace rules',
    retry: 'quick',
    activity: 'validate',
    input: inputs.onDroplet('validate'),
    done: (b, validation) => {
      b.manifest.validation = validation;
    },
  }),
  step({
    name: 'shutdown',
    summary: () => 'remove login keys and power off',
    retry: 'long',
    activity: 'shutdown',
    input: inputs.shutdown,
  }),
  step({
    name: 'snapshot',
    summary: (b) => `snapshot as ${b.input.snapshotName}`,
    retry: 'long',
    activity: 'snapshot',
    input: inputs.snapshot,
    done: (b, snap) => {
      b.steps.progress.snapshotId = snap.id;
      b.manifest.snapshot = { ...snap };
      b.snapshot = snap;
    },
    // Until the image passes verify, a failed or aborted build deletes it.
    undo: undo({
      what: 'delete the snapshot',
      registered: 'after',
      when: (b) => b.release,
      name: 'delete-snapshot',
      summary: (b) => `delete snapshot ${b.snapshot!.id}: the build did not finish`,
      retry: 'persistent',
      activity: 'deleteSnapshot',
      input: inputs.deleteSnapshot,
      undone: (b) => delete b.manifest.snapshot,
    }),
  }),
  // A copy to another region needs only the image: nobody pays for the droplet while it runs.
  control(
    'destroy the build droplet before the copies to other regions',
    async (b) => {
      await b.undos.get('provision')!.runNow();
      b.notes.add('droplet destroyed');
    },
    (b) => b.release && b.changes.destroyBeforeTransfer(),
  ),
  each({
    name: 'transfers',
    parallel: true,
    when: (b) => b.input.plan.snapshot.regions.length > 0,
    items: transfers,
    doneAll: (b, regions) => {
      const snapshot = b.manifest.snapshot!;
      snapshot.regions = [...new Set([...b.snapshot!.regions, ...(regions as string[][]).flat()])];
      if (b.input.plan.snapshot.waitForTransfer === false && b.changes.transferNoWait()) {
        const transferring = b.input.plan.snapshot.regions.filter((r) => !snapshot.regions.includes(r));
        if (transferring.length > 0) snapshot.transferring = transferring;
      }
    },
  }),
  // Builds recorded before the release (verify, retention, publish) end with the snapshot.
  control(
    'builds recorded before the release end here',
    () => 'stop',
    (b) => !b.release,
  ),
  // The image stands on its own: the build droplet goes now, not after days of review.
  control(
    'destroy the build droplet',
    (b) => b.undos.get('provision')!.runNow(),
    (b) => !b.notes.has('droplet destroyed'),
  ),
  step({
    name: 'verify',
    summary: (b) => `test the image on a new droplet made from snapshot ${b.snapshot!.id}`,
    retry: 'long',
    leeway: 'accept',
    activity: 'verify',
    when: (b) => b.input.verify !== false,
    otherwise: (b) => (b.manifest.verify = { state: 'skipped' }),
    // The test droplet carries the build tag: should verify end without destroying it (a lost
    // worker, then an abort), the build droplet's undo finds it.
    before: (b) => b.undos.get('provision')!.rearm(),
    input: inputs.verify,
    done: (b, result) => {
      b.manifest.verify = { state: 'verified', result };
      b.undos.get('provision')!.keep('verify destroyed its test droplet');
    },
    accepted: (b, error) => {
      b.manifest.verify = { state: 'accepted', error };
      b.undos.get('provision')!.keep('verify destroyed its test droplet');
    },
  }),
  control('keep the image: it passed verify, was accepted, or verify was skipped', (b) => {
    const state = b.manifest.verify!.state;
    b.undos.get('snapshot')!.keep(state === 'skipped' ? 'verify was skipped (--no-verify)' : `the image was ${state}`);
  }),
  step({
    name: 'record-build',
    summary: () => 'remember this build for the next scheduled run',
    retry: 'quick',
    activity: 'recordBuild',
    when: (b) => b.changes.rebuildTriggers(),
    input: (b, d) => inputs.recordBuild(b, d, b.startedAt),
  }),
  step({
    name: 'retention',
    summary: (b) => `keep the newest ${plural(b.input.plan.snapshot.keep!, 'snapshot')} of ${b.input.plan.name}`,
    retry: 'quick',
    activity: 'pruneSnapshots',
    when: (b) => b.input.plan.snapshot.keep !== undefined,
    input: (b) => inputs.pruneSnapshots(b, b.input.plan.snapshot.keep!),
    done: (b, retention) => {
      b.manifest.retention = retention;
    },
  }),
  control(
    'publish to the Marketplace after a person approves',
    async (b) => {
      b.manifest.publish = await publishToMarketplace(b.steps, b.approvals, {
        input: b.input,
        marketplace: b.input.plan.marketplace!,
        imageId: b.snapshot!.id,
        os: b.manifest.os,
        packages: b.manifest.packages ?? {},
        ...(b.manifest.baseImageId !== undefined ? { baseImageId: b.manifest.baseImageId } : {}),
      });
    },
    (b) => b.input.publish === true && b.input.plan.marketplace !== undefined,
  ),
];
