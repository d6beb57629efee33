/**
 * The worker's apt proxy (IMAGE_FORGE_APT_PROXY): a build-time setting of the worker, never of the
 * workflow input. Build droplets' apt goes through it from the install step until cleanup, which
 * removes the file again before the seal; the image check fails an image that still holds it.
 */

/** Written by install, removed by cleanup; the image check looks for it by this name. */
export const APT_PROXY_FILE = '/etc/apt/apt.conf.d/99image-forge-build-proxy';

/**
 * An http URL with a host and an optional port, and nothing else: no credentials (they would sit
 * on the build droplet's disk), no path, query or fragment. Returns the normalised origin.
 */
export function parseAptProxy(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new Error(`IMAGE_FORGE_APT_PROXY must be an http URL such as http://10.0.0.5:3142, not "${value}"`);
  }
  if (u.protocol !== 'http:') throw new Error(`IMAGE_FORGE_APT_PROXY must be an http:// URL, not "${value}"`);
  if (u.username || u.password) throw new Error('IMAGE_FORGE_APT_PROXY must not carry credentials');
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash)
    throw new Error(`IMAGE_FORGE_APT_PROXY must be only scheme, host and port, not "${value}"`);
  return u.origin;
}
