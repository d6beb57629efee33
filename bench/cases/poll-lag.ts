/**
 * How long a build's API waits outlast what they wait for, read from the lab's audit log: for each
 * droplet, from the moment its droplet became active, or one of its actions (shutdown, power off,
 * snapshot) completed, to the first request that could have seen it (a GET of the droplet, or of
 * the action). What a build loses to polling: on 2 cores the droplets' own work does not wait on it.
 */
type AuditEvent = Record<string, unknown>;

/** Seconds of lag per droplet (its waits added up), for droplets whose events fall in [from, to] (ms). */
export function pollLagPerDroplet(events: AuditEvent[], from: number, to: number): number[] {
  const at = (e: AuditEvent) => Date.parse(String(e.ts));
  const inWindow = events.filter((e) => at(e) >= from && at(e) <= to);
  const gets = inWindow.filter((e) => e.type === 'request' && e.method === 'GET' && e.status === 200);
  const firstGetAfter = (path: RegExp, t: number) => gets.find((g) => at(g) >= t && path.test(String(g.path)));
  const lag = new Map<number, number>();
  const add = (droplet: number, seconds: number) => lag.set(droplet, (lag.get(droplet) ?? 0) + seconds);
  for (const e of inWindow) {
    if (e.type === 'droplet.active') {
      const id = Number(e.dropletId);
      const seen = firstGetAfter(new RegExp(`^/v2/droplets/${id}$`), at(e));
      if (seen) add(id, (at(seen) - at(e)) / 1000);
    }
    if (e.type === 'action.status' && e.status === 'completed' && e.resourceType === 'droplet') {
      const seen = firstGetAfter(new RegExp(`^/v2/(droplets/\\d+/)?actions/${Number(e.actionId)}$`), at(e));
      if (seen) add(Number(e.resourceId), (at(seen) - at(e)) / 1000);
    }
  }
  return [...lag.values()];
}
