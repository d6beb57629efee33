/**
 * shutdown: remove the builder's login key and the host keys — the last thing done over SSH —
 * and power off from inside. If that is not possible (an earlier attempt already removed the
 * key) or the droplet does not go off in time, ask DigitalOcean: graceful shutdown, then
 * power_off after a timeout. Pending events (422) are waited out.
 */
import { beat } from './heartbeat';
import type { ActivityDeps } from './deps';
import { getDroplet, postDropletAction, sleep, waitAction } from './droplet-actions';
import { runOnDroplet } from './remote';
import { WORK_DIR } from './run-script';
import type { DropletRef, ShutdownResult } from '../workflows/types';

export const SEAL_SCRIPT = `rm -f /root/.ssh/authorized_keys /etc/ssh/ssh_host_*key*
rm -rf /var/lib/cloud/instances/* ${WORK_DIR}
: > /root/.bash_history
touch /etc/ssh/revoked_keys && chmod 600 /etc/ssh/revoked_keys
# Services write logs while they stop (php-fpm's "exiting, bye-bye!"): empty the logs again once
# every service has stopped. A runtime unit (in /run, so not in the image) ordered before
# sysinit.target is stopped after all of them, while /var/log is still writable.
mkdir -p /run/systemd/system
cat > /run/systemd/system/image-forge-seal.service <<'UNIT'
[Unit]
Description=Empty logs written during the image's last shutdown
DefaultDependencies=no
After=local-fs.target
Before=sysinit.target shutdown.target
Conflicts=shutdown.target
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
ExecStop=/bin/sh -c 'find /var/log -type f -mtime -1 -exec truncate -s 0 {} +; : > /root/.bash_history'
UNIT
systemctl daemon-reload && systemctl start image-forge-seal.service
sync
# Power off once this session has returned, so the step sees a clean exit.
nohup sh -c 'sleep 1; systemctl poweroff' >/dev/null 2>&1 &
echo sealed
`;

export function shutdown(deps: ActivityDeps) {
  return async (ref: DropletRef): Promise<ShutdownResult> => {
    const grace = deps.timing?.shutdownGraceMs ?? 60_000;
    const first = await getDroplet(deps, ref.dropletId);
    if (!first) throw new Error(`droplet ${ref.dropletId} no longer exists`);
    if (first.status === 'off') return { how: 'already-off' };
    let sealed = false;
    try {
      await runOnDroplet(deps, ref, 'shutdown', 'remove login keys and power off', 'bash -s', { stdin: SEAL_SCRIPT, allowFailure: true });
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

export async function getAction(deps: ActivityDeps, id: number) {
  const r = await deps.api.call('get action', (c) => c.action.getAction({ action_id: id }));
  return r.data.action as { id: number; status: 'in-progress' | 'completed' | 'errored'; type: string };
}
