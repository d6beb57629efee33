/**
 * shutdown: remove the builder's login key and the host keys — the last thing done over SSH —
 * and power off from inside. If that is not possible (an earlier attempt already removed the
 * key) or the droplet does not go off in time, ask DigitalOcean: graceful shutdown, then
 * power_off after a timeout. Pending events (422) are waited out.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { beat } from './runtime/heartbeat';
import type { ActivityDeps } from './runtime/deps';
import { getAction, getDroplet, postDropletAction, waitAction } from './droplets/actions';
import { SEAL_SCRIPT } from './image/seal';
import { runOnDroplet } from './remote/run-on-droplet';
import { checked } from './runtime/input-checks';
import type { DropletRef, ShutdownResult } from '../contract/steps';

export function shutdown(workerDeps: ActivityDeps) {
  return async (ref: DropletRef): Promise<ShutdownResult> => {
    const deps = checked(workerDeps, { bastion: ref.bastion, api: ref.api });
    const grace = deps.timing?.shutdownGraceMs ?? 60_000;
    const first = await getDroplet(deps, ref.dropletId);
    if (!first) throw new Error(`droplet ${ref.dropletId} no longer exists`);
    if (first.status === 'off') return { how: 'already-off' };
    let sealed = false;
    try {
      await runOnDroplet(deps, ref, 'shutdown', 'remove login keys and power off', 'bash -s', {
        stdin: SEAL_SCRIPT,
        allowFailure: true,
      });
      sealed = true;
    } catch {
      // No login any more (an earlier attempt sealed it) or no connection: DigitalOcean powers it off.
    } finally {
      deps.shells.forget(ref);
    }
    if (sealed && (await waitOff(deps, ref.dropletId, grace))) return { how: 'graceful' };
    if (!sealed) {
      const a = await postDropletAction(deps, ref.dropletId, 'shutdown');
      await waitAction(deps, () => getAction(deps, a.id), { step: 'shutdown' }, grace).catch(() => undefined);
      if (await waitOff(deps, ref.dropletId, 1000)) return { how: 'graceful' };
    }
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
    beat({ waiting: 'droplet to power off', status: d?.status });
    await sleep(Math.min(deps.timing?.pollMs ?? 2000, 1000));
  }
}
