/** Names both sides derive the same way; plain functions, safe in workflow code. */

/** The name a first-boot script gets in cloud-init's per-instance folder: 001_onboot, 002_… (run in name order). */
export function firstBootName(index: number, src: string): string {
  const base = src.split('/').pop() ?? src;
  return `${String(index + 1).padStart(3, '0')}_${base.replace(/\.[^.]*$/, '')}`;
}

/** Every snapshot of an image family carries this tag, so retention can find them. */
export function familyTag(name: string): string {
  return `image-forge-family-${name}`;
}

/** Where a step's log lives in the build store: the worker writes it, `client logs` reads it. */
export function stepLogKey(buildId: string, step: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
  return `logs/${safe(buildId)}/${safe(step)}.log`;
}
