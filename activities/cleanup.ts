/**
 * cleanup: what DigitalOcean's own cleanup script does (marketplace-image-rules.md), except
 * removing the login key and host keys: those go last, in shutdown, so the build can still log
 * in to validate. Its apt still goes through the worker's apt proxy and dpkg still skips fsync;
 * it then removes both files (install wrote them).
 * Ends by zero-filling free space (bounded by the droplet's own disk).
 */
import type { ActivityDeps } from './runtime/deps';
import { APT_PROXY_FILE } from '../contract/apt-proxy';
import { DPKG_UNSAFE_IO_FILE } from '../contract/dpkg-unsafe-io';
import { APT } from './remote/apt';
import { runOnDroplet } from './remote/run-on-droplet';
import type { CommandResult, StepContext } from '../contract/steps';

export const CLEANUP_SCRIPT = `set -uo pipefail
export DEBIAN_FRONTEND=noninteractive
# An earlier attempt cut off mid zero-fill (a lost connection, a worker gone) may still be writing
# /zerofile, or have left it filling the disk: end it and free the space first, or apt finds no room.
pkill -f '^dd if=/dev/zero of=/zerofile' 2>/dev/null
while pgrep -f '^dd if=/dev/zero of=/zerofile' >/dev/null 2>&1; do sleep 0.2; done
rm -f /zerofile
mkdir -p /tmp && chmod 1777 /tmp
${APT} update --error-on=any || exit 1
${APT} full-upgrade || exit 1
${APT} autoremove --purge || exit 1
# No autoclean first: clean empties the same caches (every .deb, every *.bin), and more (0.3 s saved).
apt-get -y clean
# The worker's build-time apt proxy (install wrote it) must not reach the image.
rm -f ${APT_PROXY_FILE}
test ! -e ${APT_PROXY_FILE} || exit 1
# dpkg's build-time force-unsafe-io (install wrote it): the image's dpkg must fsync again. The
# zero-fill's sync below puts what the build's dpkg left unsynced on disk before the snapshot.
rm -f ${DPKG_UNSAFE_IO_FILE}
test ! -e ${DPKG_UNSAFE_IO_FILE} || exit 1
rm -rf /tmp/* /tmp/.[!.]* /var/tmp/* /var/tmp/.[!.]* 2>/dev/null
history -c
: > /root/.bash_history
for h in /home/*/.bash_history; do [ -f "$h" ] && : > "$h"; done
find /var/log -type f -mtime -1 -exec truncate -s 0 {} +
find /var/log -type f \\( -name '*.gz' -o -name '*.[0-9]' -o -name '*-????????' \\) -delete
rm -rf /var/lib/cloud/instances/*
touch /etc/ssh/revoked_keys && chmod 600 /etc/ssh/revoked_keys
# Zero free space so the snapshot compresses; dd stops when the disk is full.
dd if=/dev/zero of=/zerofile bs=4M status=none 2>/dev/null
sync; rm -f /zerofile; sync
echo cleanup done
`;

export function cleanup(deps: ActivityDeps) {
  return async (input: StepContext): Promise<CommandResult> =>
    runOnDroplet(deps, input.droplet, input.step, 'cleanup', 'bash -s', { stdin: CLEANUP_SCRIPT });
}
