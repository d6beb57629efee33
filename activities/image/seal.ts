/**
 * The seal: the last thing done over SSH before the snapshot. It removes the builder's login key
 * and the host keys, empties history and the logs services write while stopping, then powers off.
 * Every command must succeed (set -e): a seal that fails exits non-zero before the power-off, and
 * the shutdown step fails instead of snapshotting an image that may still hold the builder's key.
 */
import { WORK_DIR } from '../remote/script';

export const SEAL_SCRIPT = `set -eu
rm -f /root/.ssh/authorized_keys /etc/ssh/ssh_host_*key*
test ! -e /root/.ssh/authorized_keys
rm -rf /var/lib/cloud/instances/* ${WORK_DIR}
: > /root/.bash_history
touch /etc/ssh/revoked_keys
chmod 600 /etc/ssh/revoked_keys
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
systemctl daemon-reload
systemctl start image-forge-seal.service
sync
# Power off once this session has returned, so the step sees a clean exit.
nohup sh -c 'sleep 1; systemctl poweroff' >/dev/null 2>&1 &
echo sealed
`;
