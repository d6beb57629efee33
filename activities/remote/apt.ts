/** apt as a build runs it: non-interactive, keeping existing config files, waiting for the dpkg lock. */
import { APT_PROXY_FILE } from '../../contract/apt-proxy';
import { DPKG_UNSAFE_IO_FILE } from '../../contract/dpkg-unsafe-io';
import { shq } from './shell-quote';
import type { InstallInput } from '../../contract/steps';

export const APT =
  'apt-get -y -q -o DPkg::Lock::Timeout=900 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold';

/**
 * Points the droplet's apt at the worker's proxy (written again each time, so a retried install
 * is idempotent). It stays until cleanup, so the spec's own scripts' apt-get use it too.
 */
export function aptProxyCommand(proxy: string): string {
  return `printf '%s\\n' ${shq(`Acquire::http::Proxy "${proxy}";`)} > ${APT_PROXY_FILE}`;
}

/**
 * dpkg skips fsync for the rest of the build (cleanup removes the file before the seal): written
 * again each time, like the proxy, so a retried install is idempotent.
 */
export const DPKG_UNSAFE_IO_COMMAND = `mkdir -p /etc/dpkg/dpkg.cfg.d && printf 'force-unsafe-io\\n' > ${DPKG_UNSAFE_IO_FILE}`;

export function aptScript(apt: InstallInput['apt'], proxy?: string): string {
  return [
    'set -euo pipefail',
    'export DEBIAN_FRONTEND=noninteractive',
    DPKG_UNSAFE_IO_COMMAND,
    ...(proxy ? [aptProxyCommand(proxy)] : []),
    // --error-on=any: a mirror that half-fails must fail the step, not go unnoticed.
    `${APT} update --error-on=any`,
    ...(apt.upgrade ? [`${APT} full-upgrade`] : []),
    ...(apt.packages.length > 0 ? [`${APT} install ${apt.packages.map(shq).join(' ')}`] : []),
  ].join('\n');
}
