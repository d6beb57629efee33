/**
 * The seal: the last thing done over SSH before the snapshot. It removes the builder's login key
 * from every authorized_keys* on the droplet (every user's, compared by key fields) and then reads
 * them all again, removes the host keys, empties history and the logs services write while
 * stopping, then powers off. Every command must succeed (set -e): a seal that fails exits non-zero
 * before the power-off, and the shutdown step fails instead of snapshotting an image that may
 * still hold the builder's key. Its last line is SEAL_DONE: the step counts the image as sealed
 * only once it has read it.
 */
import { USER_SCRIPTS_DIR, WORK_DIR } from '../remote/script';
import { KEY_FIELDS_SH } from './key-fields';

/** The seal's last line: printed only after every command of it succeeded. */
export const SEAL_DONE = 'image-forge: sealed';

/** Run with BUILDER_KEY="TYPE BLOB" (keyFields of the worker's public key) in its environment. */
export const SEAL_SCRIPT = `set -eu
${KEY_FIELDS_SH}
builder_key=\${BUILDER_KEY:?set BUILDER_KEY to the type and base64 fields of the builder key}
# Every authorized_keys* on the droplet: in each user's ~/.ssh (homes from passwd, on whatever
# filesystem) and anywhere on the root filesystem.
key_files() {
  {
    getent passwd | cut -d: -f6 | while IFS= read -r home; do
      if [ -n "$home" ] && [ -d "$home/.ssh" ]; then
        find "$home/.ssh/" -maxdepth 1 -name 'authorized_keys*' \\( -type f -o -type l \\) -print0 || true
      fi
    done
    find / -xdev -name 'authorized_keys*' \\( -type f -o -type l \\) -print0 2>/dev/null || true
  } | sort -zu
}
# DigitalOcean writes the login keys to root's file: the image keeps none of it.
rm -f /root/.ssh/authorized_keys
test ! -e /root/.ssh/authorized_keys
# Elsewhere (a user given a copy of root's .ssh) only the builder's key goes; cat keeps the
# file's owner and mode, and writes through a symlink as sshd reads through it.
tmp=$(mktemp)
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue
  if key_fields "$f" | grep -qxF -- "$builder_key"; then
    without_key "$builder_key" "$f" > "$tmp"
    cat "$tmp" > "$f" || true
  fi
done < <(key_files)
rm -f "$tmp"
# Read them all again: the builder's key anywhere fails the seal.
left=''
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue
  if key_fields "$f" | grep -qxF -- "$builder_key"; then left="$left $f"; fi
done < <(key_files)
if [ -n "$left" ]; then
  echo "the builder's login key is still in$left after removing it: make the file writable by root, then retry the step" >&2
  exit 1
fi
rm -f /etc/ssh/ssh_host_*key*
rm -rf /var/lib/cloud/instances/* ${WORK_DIR} ${USER_SCRIPTS_DIR}
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
echo '${SEAL_DONE}'
`;

/** Whether a seal's output ends with its last line (it ran to the end). */
export function sealFinished(output: string): boolean {
  return output.trimEnd().split('\n').at(-1)?.trim() === SEAL_DONE;
}
