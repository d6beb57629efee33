/** The name a first-boot script gets in cloud-init's per-instance folder: 001_onboot, 002_… (run in name order). */
export function firstBootName(index: number, src: string): string {
  const base = src.split('/').pop() ?? src;
  return `${String(index + 1).padStart(3, '0')}_${base.replace(/\.[^.]*$/, '')}`;
}

/** Every snapshot of an image family carries this tag, so retention can find them. */
export function familyTag(name: string): string {
  return `image-forge-family-${name}`;
}
