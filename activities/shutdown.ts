/**
 * shutdown: seal the image — remove the builder's login key and the host keys, the last thing
 * done over SSH (image/seal.ts) — and power off from inside. The image is sealed, or the step
 * fails: a seal that exits non-zero, or whose connection breaks after it started, fails the step
 * and the droplet is left running for the operator (never powered off and snapshotted unsealed).
 * A seal succeeded only when its last line (SEAL_DONE) was read; one that started and was cut off
 * is run again by the next attempt. Power-off through DigitalOcean is only the fallback for a
 * droplet that no longer answers after a seal that succeeded — in this attempt, or in an earlier
 * one (recorded in the heartbeat details) that left the droplet off or unreachable. Pending
 * events (422) are waited out.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { beat } from './runtime/heartbeat';
import type { ActivityDeps } from './runtime/deps';
import { getAction, getDroplet, postDropletAction, waitAction } from './droplets/actions';
import { SEAL_SCRIPT, sealFinished } from './image/seal';
import { keyFields } from './image/key-fields';
import { runOnDroplet } from './remote/run-on-droplet';
import { depsForInput } from './runtime/deps';
import { shq } from './remote/shell-quote';
import type { DropletRef, ShutdownResult } from '../contract/steps';
import { FailureType } from '../contract/failures';

/** What an attempt records in its heartbeat details, for the next attempt to read. */
interface SealProgress {
  sealing?: boolean;
  sealed?: boolean;
}

function earlierAttempt(): SealProgress {
  try {
    const d = Context.current().info.heartbeatDetails as SealProgress | undefined;
    return d && typeof d === 'object' ? d : {};
  } catch {
    return {};
  }
}

function notSealed(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: FailureType.ScriptFailed, nonRetryable: true });
}

export function shutdown(workerDeps: ActivityDeps) {
  return async (ref: DropletRef): Promise<ShutdownResult> => {
    const deps = depsForInput(workerDeps, { ref, bastion: ref.bastion, api: ref.api });
    const grace = deps.timing?.shutdownGraceMs ?? 60_000;
    const earlier = earlierAttempt();
    // Only a seal whose last line was read counts: one cut off mid-way may have left the keys.
    const sealedBefore = earlier.sealed === true;
    const first = await getDroplet(deps, ref.dropletId);
    if (!first) throw new Error(`droplet ${ref.dropletId} no longer exists`);
    if (first.status === 'off') {
      if (sealedBefore) return { how: 'already-off' };
      throw notSealed(
        `droplet ${ref.dropletId} is off but was never sealed (its login keys may still be on it): power it on, then retry this step, or abort`,
      );
    }
    let reachable = true;
    try {
      await runOnDroplet(deps, ref, 'shutdown', 'connect', 'true');
    } catch (err) {
      reachable = false;
      deps.shells.forget(ref);
      // No login any more and no record of a seal: it cannot be sealed, so it is not snapshotted.
      if (!sealedBefore) throw err;
    }
    if (reachable) {
      beat({ sealing: true } satisfies SealProgress);
      try {
        // A non-zero exit throws ScriptFailed; a broken connection throws too: both fail the step.
        const seal = await runOnDroplet(
          deps,
          ref,
          'shutdown',
          'seal the image: remove login keys and power off',
          `BUILDER_KEY=${shq(keyFields(deps.login.publicKey))} bash -s`,
          { stdin: SEAL_SCRIPT, capture: true },
        );
        if (!sealFinished(seal.output))
          throw new Error(
            `the seal of droplet ${ref.dropletId} ended before its last line: retry this step to seal it again`,
          );
      } finally {
        deps.shells.forget(ref);
      }
      beat({ sealed: true } satisfies SealProgress);
      if (await waitOff(deps, ref.dropletId, grace)) return { how: 'graceful' };
    }
    // Sealed, but it does not go off (or no longer answers): DigitalOcean powers it off.
    const a = await postDropletAction(deps, ref.dropletId, 'shutdown');
    await waitAction(deps, () => getAction(deps, a.id), { step: 'shutdown' }, grace).catch(() => undefined);
    if (await waitOff(deps, ref.dropletId, 1000)) return { how: 'graceful' };
    const p = await postDropletAction(deps, ref.dropletId, 'power_off');
    await waitAction(deps, () => getAction(deps, p.id), { step: 'power_off' }, 10 * 60_000);
    if (!(await waitOff(deps, ref.dropletId, 60_000))) throw new Error(`droplet ${ref.dropletId} did not power off`);
    return { how: 'power_off' };
  };
}

async function waitOff(deps: ActivityDeps, id: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const d = await getDroplet(deps, id);
    if (d?.status === 'off' && !d.locked) return true;
    if (Date.now() > deadline) return false;
    beat({ waiting: 'droplet to power off', status: d?.status, sealed: true });
    await sleep(Math.min(deps.timing?.pollMs ?? 2000, 1000));
  }
}
