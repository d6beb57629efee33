/**
 * What a build paid for, in droplet-minutes, read from its step records: the build droplet from
 * the start of provision to the end of its destroy (or until now, while it exists: a base build
 * keeps it), and the test droplet for the time of verify (its last attempt). Pure, so the workflow
 * puts it in the manifest and `client status` shows it for a running build too.
 */

/** What of a step record the cost reads (a TimedStep has it). */
export interface TimedStep {
  name: string;
  state: string;
  startedAt?: string;
  seconds?: number;
}

export interface DropletCost {
  buildDropletMinutes: number;
  testDropletMinutes: number;
}

export function dropletCost(steps: TimedStep[], nowMs: number): DropletCost {
  const at = (r: TimedStep | undefined) => (r?.startedAt ? Date.parse(r.startedAt) : undefined);
  const provision = steps.find((r) => r.name === 'provision');
  const destroy = steps.filter((r) => r.name === 'destroy' && r.state === 'succeeded').at(-1);
  const start = at(provision);
  const end = destroy && at(destroy) !== undefined ? at(destroy)! + (destroy.seconds ?? 0) * 1000 : nowMs;
  const build = start === undefined ? 0 : Math.max(0, end - start) / 60_000;
  const verify = steps.filter((r) => r.name === 'verify').reduce((sum, r) => sum + (r.seconds ?? 0), 0) / 60;
  const round = (m: number) => Math.round(m * 100) / 100;
  return { buildDropletMinutes: round(build), testDropletMinutes: round(verify) };
}
