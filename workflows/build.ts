/**
 * The build recipe: provision, install, upload, run scripts, first boot, clean, validate, shut
 * down, snapshot, transfer, verify, retain, publish — each step's undo registered the moment the
 * step has something to undo, and unwound newest first on any ending (undo.ts).
 */
import * as wf from '@temporalio/workflow';
import { ApplicationFailure, isCancellation } from '@temporalio/workflow';
import { LONG, PERSISTENT, QUICK, call } from './calls';
import { StepRunner } from './steps/runner';
import { ApprovalDesk, publishToMarketplace } from './publish';
import { Undo } from './undo';
import { dropletCost } from '../contract/cost';
import { familyTag, firstBootName } from '../contract/names';
import type { BuildInput, BuildManifest } from '../contract/build';
import type { ApiRetry, DropletRef, InventoryResult, SnapshotResult, ValidationResult } from '../contract/steps';

/**
 * Behaviour changes since builds were first recorded, each behind a Temporal patch so a build
 * started by older code replays unchanged. `guarded: false` is for the test that shows what
 * happens without the patch (the recorded histories stop replaying).
 */
export function behaviourChanges(guarded = true) {
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

export async function runBuild(
  input: BuildInput,
  changes: ReturnType<typeof behaviourChanges>,
): Promise<BuildManifest> {
  const { plan } = input;
  const steps = new StepRunner(input);
  const approvals = new ApprovalDesk(steps);
  const undo = new Undo();
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
  const release = changes.release();
  // The spec's bastion, timeouts and API retries, in the inputs of the steps they concern; nothing
  // is added to an input when the spec does not set it (inputs of older specs stay as they were).
  const bastion = plan.ssh?.bastion;
  const api: { api?: ApiRetry } = plan.api ? { api: plan.api } : {};
  const stateTimeout = plan.timeouts?.stateMs !== undefined ? { stateTimeoutMs: plan.timeouts.stateMs } : {};

  // A workflow input may come from anyone who can reach the task queue: the worker checks it
  // before a droplet exists, and a refusal ends the build (there is nothing to clean up).
  if (changes.checkInput()) {
    try {
      await steps.runFinal('check-input', 'check the build input on the worker', (s) =>
        call(QUICK, 'checkInput', s, input),
      );
    } catch (err) {
      manifest.error = err instanceof Error ? err.message : String(err);
      steps.end('failed');
      throw err;
    }
  }

  // A scheduled run builds only when something changed (or a periodic rebuild is due): decided
  // before any droplet exists, so a skipped run costs one API read.
  const triggers = changes.rebuildTriggers();
  if (triggers && input.scheduled) {
    const decision = await steps.runFinal('decide', 'decide whether to rebuild (base image, spec, timer)', (s) =>
      call(QUICK, 'decideRebuild', s, {
        family: plan.name,
        plan,
        contextDigest: input.contextDigest,
        at: new Date(wf.workflowInfo().startTime).toISOString(),
        ...(input.rebuildAfterMs !== undefined ? { rebuildAfterMs: input.rebuildAfterMs } : {}),
        ...api,
      }),
    );
    manifest.rebuild = decision;
    if (decision.baseImageId !== undefined) manifest.baseImageId = decision.baseImageId;
    if (!decision.build) {
      manifest.status = 'succeeded';
      steps.end('succeeded');
      return manifest;
    }
  }

  // provision's undo. Registered before provision runs: a provision that fails half-way may
  // still have created the droplet, and the undo finds it by this build's tag, not by its id.
  const buildDroplet = undo.add('destroy the build droplet', async () => {
    await steps.run('destroy', 'destroy the build droplet', (_d, s) =>
      call(PERSISTENT, 'destroy', s, { buildId: input.buildId, ...api }),
    );
  });

  let outcome: unknown;
  try {
    await steps.scope.run(recipe);
    manifest.status = 'succeeded';
  } catch (err) {
    outcome = err;
    manifest.error = steps.abortReason ?? (err instanceof Error ? err.message : String(err));
  }
  // Undo runs whatever ended the build: success, failure, abort or cancellation.
  const undoFailures = await undo.unwind();
  if (undoFailures.length > 0) {
    manifest.status = 'failed';
    manifest.undoFailures = undoFailures;
    manifest.error = [manifest.error, `clean-up failed (see \`client janitor\`): ${undoFailures.join('; ')}`]
      .filter(Boolean)
      .join('; ');
  }
  steps.end(manifest.status);
  manifest.cost = dropletCost(steps.records, Date.now());
  if (outcome === undefined && undoFailures.length === 0) return manifest;
  if (steps.abortReason !== undefined)
    throw ApplicationFailure.nonRetryable(`build aborted: ${steps.abortReason}`, 'BuildAborted');
  if (isCancellation(outcome) || outcome instanceof ApplicationFailure) throw outcome;
  throw ApplicationFailure.nonRetryable(manifest.error ?? 'build failed', 'BuildFailed');

  async function recipe(): Promise<void> {
    const droplet = await steps.run(
      'provision',
      `create a ${plan.droplet.size} droplet from ${plan.droplet.image} in ${plan.droplet.region}`,
      (d, s) =>
        call(LONG, 'provision', s, {
          buildId: input.buildId,
          name: plan.name,
          keep: input.mode === 'base',
          droplet: plan.droplet,
          ...(plan.droplet.userData ? { contextDigest: d } : {}),
          ...(bastion ? { bastion } : {}),
          ...stateTimeout,
          ...api,
        }),
    );
    steps.progress.dropletId = droplet.dropletId;
    if (droplet.baseImageId !== undefined) manifest.baseImageId = droplet.baseImageId;
    const ref: DropletRef = {
      buildId: input.buildId,
      dropletId: droplet.dropletId,
      ipv4: droplet.ipv4,
      ...(bastion ? { bastion } : {}),
      ...api,
    };
    const at = (step: string) => ({ droplet: ref, step });

    if (plan.apt.upgrade || plan.apt.packages.length > 0) {
      const what =
        plan.apt.packages.length > 0 ? `install ${plan.apt.packages.length} apt packages` : 'upgrade apt packages';
      await steps.run('install', what, (d, s) =>
        call(LONG, 'install', s, { ...at('install'), contextDigest: d, apt: plan.apt }),
      );
    }
    for (const [i, s] of plan.steps.entries()) {
      const step = `${String(i + 1).padStart(2, '0')}-${s.kind}`;
      if (s.kind === 'upload') {
        await steps.run(step, `upload ${s.src} to ${s.dest}`, (d, sum) =>
          call(LONG, 'upload', sum, { ...at(step), contextDigest: d, upload: s }),
        );
      } else if (s.kind === 'ansible') {
        // No patch: only a plan with an ansible step comes here, and no build before this code had one.
        // Skippable like a script: the step removes ansible-core even when the playbook fails.
        await steps.runSkippable(step, `run ${s.label}`, (d, sum) =>
          call(LONG, 'ansiblePlaybook', sum, { ...at(step), contextDigest: d, ansible: s, env: plan.env }),
        );
      } else {
        await steps.runSkippable(step, `run ${s.label}`, (d, sum) =>
          call(LONG, 'runScript', sum, { ...at(step), contextDigest: d, script: s, env: plan.env }),
        );
      }
    }
    if (plan.firstBoot.length > 0 || plan.firstLogin) {
      const n = plan.firstBoot.length + (plan.firstLogin ? 1 : 0);
      await steps.run('first-boot', `install ${n} first-boot and first-login script${n > 1 ? 's' : ''}`, (d, s) =>
        call(QUICK, 'installFirstBoot', s, {
          ...at('first-boot'),
          contextDigest: d,
          vendor: plan.vendor,
          firstBoot: plan.firstBoot,
          ...(plan.firstLogin ? { firstLogin: plan.firstLogin } : {}),
        }),
      );
    }

    if (input.mode === 'base') {
      // Stop before cleanup and keep the droplet so the vendor can SSH in and look.
      buildDroplet.keep('a base build keeps its droplet for the vendor to inspect');
      const jump = bastion ? `-J ${bastion.user}@${bastion.host}:${bastion.port} ` : '';
      manifest.droplet = { id: droplet.dropletId, ipv4: droplet.ipv4, ssh: `ssh ${jump}root@${droplet.ipv4}` };
      return;
    }

    const takeInventory = async () => {
      const inventory: InventoryResult = await steps.run('inventory', 'record OS and package versions', (d, s) =>
        call(QUICK, 'inventory', s, { ...at('inventory'), contextDigest: d }),
      );
      manifest.os = inventory.os;
      manifest.packages = inventory.packages;
      if (changes.sbom()) {
        manifest.sbom = await steps.run('sbom', 'record the bill of materials (CycloneDX, SPDX)', (d, s) =>
          call(QUICK, 'sbom', s, {
            ...at('sbom'),
            contextDigest: d,
            name: plan.name,
            buildId: input.buildId,
            snapshotName: input.snapshotName,
            vendor: plan.vendor,
            uploads: plan.steps.filter((p) => p.kind === 'upload'),
            firstBoot: plan.firstBoot,
            ...(plan.firstLogin ? { firstLogin: plan.firstLogin } : {}),
          }),
        );
        steps.progress.sbom = manifest.sbom;
      }
    };
    const clean = () =>
      steps.run('cleanup', 'clean logs, history, temp files and apt caches; upgrade; zero free space', (d, s) =>
        call(LONG, 'cleanup', s, { ...at('cleanup'), contextDigest: d }),
      );
    // Cleanup ends with a full upgrade, so the manifest's package versions are read after it.
    // Builds started before this change (waiting for an operator, say) keep the old order.
    if (changes.inventoryAfterCleanup()) {
      await clean();
      await takeInventory();
    } else {
      await takeInventory();
      await clean();
    }
    const validation: ValidationResult = await steps.run(
      'validate',
      'check the image against the Marketplace rules',
      (d, s) => call(QUICK, 'validate', s, { ...at('validate'), contextDigest: d }),
    );
    manifest.validation = validation;
    await steps.run('shutdown', 'remove login keys and power off', (_d, s) => call(LONG, 'shutdown', s, ref));

    const snapshotTags = release ? [...plan.snapshot.tags, familyTag(plan.name)] : plan.snapshot.tags;
    const snap: SnapshotResult = await steps.run('snapshot', `snapshot as ${input.snapshotName}`, (_d, s) =>
      call(LONG, 'snapshot', s, {
        droplet: ref,
        name: input.snapshotName,
        tags: snapshotTags,
        ...(plan.timeouts?.snapshotMs !== undefined ? { timeoutMs: plan.timeouts.snapshotMs } : {}),
        ...api,
      }),
    );
    steps.progress.snapshotId = snap.id;
    manifest.snapshot = { ...snap };
    // snapshot's undo: until the image passes verify, a failed or aborted build deletes it.
    const image = release
      ? undo.add('delete the snapshot', async () => {
          await steps.run('delete-snapshot', `delete snapshot ${snap.id}: the build did not finish`, (_d, s) =>
            call(PERSISTENT, 'deleteSnapshot', s, { imageId: snap.id, ...api }),
          );
          delete manifest.snapshot;
        })
      : undefined;
    // A copy to another region needs only the image: nobody pays for the droplet while it runs.
    const destroyedEarly = release && image !== undefined && changes.destroyBeforeTransfer();
    if (destroyedEarly) await buildDroplet.runNow();
    if (plan.snapshot.regions.length > 0) {
      // snapshot.waitForTransfer: false starts each copy and goes on (the manifest lists them as transferring).
      const noWait = plan.snapshot.waitForTransfer === false && changes.transferNoWait();
      const regions = await Promise.all(
        plan.snapshot.regions.map((region) =>
          steps.run(`transfer-${region}`, `${noWait ? 'start copying' : 'copy'} the snapshot to ${region}`, (_d, s) =>
            call(LONG, 'transfer', s, {
              imageId: snap.id,
              region,
              ...(plan.timeouts?.transferMs !== undefined ? { timeoutMs: plan.timeouts.transferMs } : {}),
              ...api,
              ...(noWait ? { wait: false } : {}),
            }),
          ),
        ),
      );
      manifest.snapshot.regions = [...new Set([...snap.regions, ...regions.flat()])];
      if (noWait) {
        const transferring = plan.snapshot.regions.filter((r) => !manifest.snapshot!.regions.includes(r));
        if (transferring.length > 0) manifest.snapshot.transferring = transferring;
      }
    }
    if (!release || !image) return;

    // The image stands on its own: the build droplet goes now, not after days of review.
    if (!destroyedEarly) await buildDroplet.runNow();

    if (input.verify === false) {
      manifest.verify = { state: 'skipped' };
    } else {
      const firstBoot = plan.firstBoot.map((src, i) => firstBootName(i, src));
      // The test droplet carries the build tag: should verify end without destroying it (a lost
      // worker, then an abort), the build droplet's undo finds it.
      buildDroplet.rearm();
      const verified = await steps.runAcceptable(
        'verify',
        `test the image on a new droplet made from snapshot ${snap.id}`,
        (d, s) =>
          call(LONG, 'verify', s, {
            buildId: input.buildId,
            step: 'verify',
            contextDigest: d,
            imageId: snap.id,
            region: plan.droplet.region,
            firstBoot,
            tests: plan.tests ?? [],
            env: plan.env,
            ...verifyNetwork(plan.droplet),
            ...(bastion ? { bastion } : {}),
            ...stateTimeout,
            ...api,
          }),
      );
      manifest.verify =
        'value' in verified
          ? { state: 'verified', result: verified.value }
          : { state: 'accepted', error: verified.accepted };
      buildDroplet.keep('verify destroyed its test droplet');
    }
    image.keep(
      manifest.verify.state === 'skipped'
        ? 'verify was skipped (--no-verify)'
        : `the image was ${manifest.verify.state}`,
    );

    if (triggers) {
      await steps.run('record-build', 'remember this build for the next scheduled run', (d, s) =>
        call(QUICK, 'recordBuild', s, {
          family: plan.name,
          buildId: input.buildId,
          image: plan.droplet.image,
          ...(manifest.baseImageId !== undefined ? { baseImageId: manifest.baseImageId } : {}),
          contextDigest: d,
          plan,
          snapshotId: snap.id,
          startedAt: new Date(wf.workflowInfo().startTime).toISOString(),
        }),
      );
    }

    if (plan.snapshot.keep !== undefined) {
      const keep = plan.snapshot.keep;
      manifest.retention = await steps.run(
        'retention',
        `keep the newest ${keep} snapshot${keep > 1 ? 's' : ''} of ${plan.name}`,
        (_d, s) =>
          call(QUICK, 'pruneSnapshots', s, {
            family: plan.name,
            keep,
            protect: [snap.id],
            ...api,
            ...(plan.marketplace ? { appId: plan.marketplace.appId } : {}),
          }),
      );
    }
    if (input.publish && plan.marketplace) {
      manifest.publish = await publishToMarketplace(steps, approvals, {
        input,
        marketplace: plan.marketplace,
        imageId: snap.id,
        os: manifest.os,
        packages: manifest.packages ?? {},
        ...(manifest.baseImageId !== undefined ? { baseImageId: manifest.baseImageId } : {}),
      });
    }
  }
}

/** The build droplet's network options the test droplet shares (none: the input stays as before). */
function verifyNetwork(d: BuildInput['plan']['droplet']) {
  const network = {
    ...(d.vpcUuid !== undefined ? { vpcUuid: d.vpcUuid } : {}),
    ...(d.privateNetworking !== undefined ? { privateNetworking: d.privateNetworking } : {}),
    ...(d.connectWithPrivateIp !== undefined ? { connectWithPrivateIp: d.connectWithPrivateIp } : {}),
  };
  return Object.keys(network).length > 0 ? { network } : {};
}
