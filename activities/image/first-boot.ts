/**
 * Where first-boot and first-login scripts live on an image: cloud-init runs every executable in
 * its per-instance folder once per new droplet, in name order (001_onboot, 002_…); the first-login
 * script sits under /opt/<vendor>/ and a hook at the end of root's .bashrc runs it once, then
 * restores .bashrc from /etc/skel.
 */
export { firstBootName } from '../../contract/names';

export const PER_INSTANCE_DIR = '/var/lib/cloud/scripts/per-instance';

export function firstLoginPath(vendor: string): string {
  return `/opt/${vendor}/first-login.sh`;
}

/** Appended to a fresh copy of /etc/skel/.bashrc, so installing it twice leaves one hook. */
export function firstLoginHook(target: string): string {
  return [
    '',
    "# image-forge: first login only — run the vendor's script, then restore .bashrc",
    `if [ -x ${target} ]; then ${target}; fi`,
    'cp -f /etc/skel/.bashrc /root/.bashrc',
    '',
  ].join('\n');
}
