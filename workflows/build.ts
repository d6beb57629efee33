/**
 * The build recipe: provision, install, upload, run scripts, first boot, clean, validate, shut
 * down, snapshot, transfer — each step's undo pushed next to it, run in reverse on any ending.
 */
import * as wf from '@temporalio/workflow';
import { ApplicationFailure, CancellationScope, isCancellation } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { StepRunner } from './steps';
import type { BuildInput, BuildManifest, DropletRef, InventoryResult, SnapshotResult, ValidationResult } from './types';

const noRetry = ['SpecError', 'ContextError', 'StoreConfigError', 'PermanentApiError', 'ScriptFailed', 'ValidationFailed', 'HostKeyMismatch', 'MissingWorkerEnv'];

/** Quick API calls and short SSH work. */
const QUICK: wf.ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  // Activities heartbeat every few seconds even when quiet: a dead worker is noticed fast.
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5, nonRetryableErrorTypes: noRetry },
};

/** Long work on the droplet (apt, scripts, cleanup) and waits on DigitalOcean (boot, snapshot). */
const LONG: wf.ActivityOptions = {
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 4, nonRetryableErrorTypes: noRetry },
};

/** Destroying a paid droplet must not give up easily. */
const PERSISTENT: wf.ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 20, nonRetryableErrorTypes: ['PermanentApiError'] },
};

const proxies = new Map<wf.ActivityOptions, Activities>([QUICK, LONG, PERSISTENT].map((o) => [o, wf.proxyActivities<Activities>(o)]));

/** Runs a step's activity with the step's summary, so the Web UI names it as a person would. */
function call<K extends keyof Activities>(options: wf.ActivityOptions, name: K, summary: string, ...args: Parameters<Activities[K]>): ReturnType<Activities[K]> {
  const fn = proxies.get(options)![name] as unknown as wf.ActivityFunctionWithOptions<Activities[K]>;
  return fn.executeWithOptions({ ...options, summary }, args) as ReturnType<Activities[K]>;
}

/**
 * Behaviour changes since builds were first recorded, each behind a Temporal patch so a build
 * started by older code replays unchanged. `guarded: false` is for the test that shows what
 * happens without the patch (the recorded histories stop replaying).
 */
export function behaviourChanges(guarded = true) {
  return {
    inventoryAfterCleanup: () => (guarded ? wf.patched('inventory-after-cleanup') : true),
  };
}

export async function buildImage(input: BuildInput): Promise<BuildManifest> {
  return runBuild(input, behaviourChanges());
}

export async function runBuild(input: BuildInput, changes: ReturnType<typeof behaviourChanges>): Promise<BuildManifest> {
  const { plan } = input;
  const steps = new StepRunner(input);
  const undo: { what: string; run: () => Promise<void> }[] = [];
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
  let keepDroplet = false;
  // The droplet's undo goes on before provision runs: a provision that fails half-way may still
  // have created it. Destroy finds it by this build's tag, so it needs no id.
  undo.push({
    what: 'destroy the build droplet',
    run: async () => {
      if (keepDroplet) return;
      await steps.run('destroy', 'destroy the build droplet', (_d, s) => call(PERSISTENT, 'destroy', s, { buildId: input.buildId }));
    },
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
  await CancellationScope.nonCancellable(async () => {
    for (const u of undo.reverse()) await u.run();
  });
  steps.end(manifest.status);
  if (outcome === undefined) return manifest;
  if (steps.abortReason !== undefined) throw ApplicationFailure.nonRetryable(`build aborted: ${steps.abortReason}`, 'BuildAborted');
  if (isCancellation(outcome) || outcome instanceof ApplicationFailure) throw outcome;
  throw ApplicationFailure.nonRetryable(manifest.error ?? 'build failed', 'BuildFailed');

  async function recipe(): Promise<void> {
    const droplet = await steps.run('provision', `create a ${plan.droplet.size} droplet from ${plan.droplet.image} in ${plan.droplet.region}`, (_d, s) =>
      call(LONG, 'provision', s, { buildId: input.buildId, name: plan.name, keep: input.mode === 'base', droplet: plan.droplet }),
    );
    steps.dropletId = droplet.dropletId;
    const ref: DropletRef = { buildId: input.buildId, dropletId: droplet.dropletId, ipv4: droplet.ipv4 };
    const at = (step: string) => ({ droplet: ref, step });

    if (plan.apt.upgrade || plan.apt.packages.length > 0) {
      const what = plan.apt.packages.length > 0 ? `install ${plan.apt.packages.length} apt packages` : 'upgrade apt packages';
      await steps.run('install', what, (d, s) => call(LONG, 'install', s, { ...at('install'), contextDigest: d, apt: plan.apt }));
    }
    for (const [i, s] of plan.steps.entries()) {
      const step = `${String(i + 1).padStart(2, '0')}-${s.kind === 'upload' ? 'upload' : 'script'}`;
      if (s.kind === 'upload') {
        await steps.run(step, `upload ${s.src} to ${s.dest}`, (d, sum) => call(LONG, 'upload', sum, { ...at(step), contextDigest: d, upload: s }));
      } else {
        await steps.runSkippable(step, `run ${s.label}`, (d, sum) => call(LONG, 'runScript', sum, { ...at(step), contextDigest: d, script: s, env: plan.env }));
      }
    }
    if (plan.firstBoot.length > 0 || plan.firstLogin) {
      const n = plan.firstBoot.length + (plan.firstLogin ? 1 : 0);
      await steps.run('first-boot', `install ${n} first-boot and first-login script${n > 1 ? 's' : ''}`, (d, s) =>
        call(QUICK, 'installFirstBoot', s, { ...at('first-boot'), contextDigest: d, vendor: plan.vendor, firstBoot: plan.firstBoot, ...(plan.firstLogin ? { firstLogin: plan.firstLogin } : {}) }),
      );
    }

    if (input.mode === 'base') {
      // Stop before cleanup and keep the droplet so the vendor can SSH in and look.
      keepDroplet = true;
      manifest.droplet = { id: droplet.dropletId, ipv4: droplet.ipv4, ssh: `ssh root@${droplet.ipv4}` };
      return;
    }

    const takeInventory = async () => {
      const inventory: InventoryResult = await steps.run('inventory', 'record OS and package versions', (d, s) => call(QUICK, 'inventory', s, { ...at('inventory'), contextDigest: d }));
      manifest.os = inventory.os;
      manifest.packages = inventory.packages;
    };
    const clean = () => steps.run('cleanup', 'clean logs, history, temp files and apt caches; upgrade; zero free space', (d, s) => call(LONG, 'cleanup', s, { ...at('cleanup'), contextDigest: d }));
    // Cleanup ends with a full upgrade, so the manifest's package versions are read after it.
    // Builds started before this change (waiting for an operator, say) keep the old order.
    if (changes.inventoryAfterCleanup()) {
      await clean();
      await takeInventory();
    } else {
      await takeInventory();
      await clean();
    }
    const validation: ValidationResult = await steps.run('validate', 'check the image against the Marketplace rules', (d, s) => call(QUICK, 'validate', s, { ...at('validate'), contextDigest: d }));
    manifest.validation = validation;
    await steps.run('shutdown', 'remove login keys and power off', (_d, s) => call(LONG, 'shutdown', s, ref));

    const snap: SnapshotResult = await steps.run('snapshot', `snapshot as ${input.snapshotName}`, (_d, s) =>
      call(LONG, 'snapshot', s, { droplet: ref, name: input.snapshotName, tags: plan.snapshot.tags }),
    );
    steps.snapshotId = snap.id;
    manifest.snapshot = { ...snap };
    if (plan.snapshot.regions.length > 0) {
      const regions = await Promise.all(
        plan.snapshot.regions.map((region) => steps.run(`transfer-${region}`, `copy the snapshot to ${region}`, (_d, s) => call(LONG, 'transfer', s, { imageId: snap.id, region }))),
      );
      manifest.snapshot.regions = [...new Set([...snap.regions, ...regions.flat()])];
    }
  }
}
