/**
 * How hard builds press on the API's limits, read from the lab's audit log: the requests refused
 * with 429, and the most requests made in any 60 s (DigitalOcean's burst limit is 250 a minute
 * per token; the lab enforces it).
 */
type AuditEvent = Record<string, unknown>;

const requestsIn = (events: AuditEvent[], from: number, to: number) =>
  events
    .filter((e) => e.type === 'request' && String(e.path).startsWith('/v2/'))
    .map((e) => ({ at: Date.parse(String(e.ts)), status: Number(e.status) }))
    .filter((r) => r.at >= from && r.at <= to)
    .sort((a, b) => a.at - b.at);

export function apiPressure(
  events: AuditEvent[],
  from: number,
  to: number,
): { refused: number; busiestMinute: number } {
  const reqs = requestsIn(events, from, to);
  let busiest = 0;
  // Two pointers: the requests within 60 s ending at each one.
  for (let i = 0, j = 0; j < reqs.length; j++) {
    while (reqs[i]!.at + 60_000 <= reqs[j]!.at) i++;
    busiest = Math.max(busiest, j - i + 1);
  }
  return { refused: reqs.filter((r) => r.status === 429).length, busiestMinute: busiest };
}
