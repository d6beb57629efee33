#!/usr/bin/env bash
# Installs the Debian packages the lab's droplets need when any is missing (idempotent, quiet when
# all are there): systemd-nspawn, debootstrap, socat, iproute2, zstd, the ssh client tools, mkfs.
# systemd-container is pinned to the host's systemd version so installing it upgrades nothing on
# the host (lab-notes: unpinned, it also upgraded the host's systemd).
set -euo pipefail

installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]
}

missing=()
# chromium: the browser test of the Temporal Web UI (Debian's build; no browser downloads here);
# python3-fabric: the benchmark's baseline.
for pkg in debootstrap socat iproute2 zstd openssh-client e2fsprogs util-linux tar chromium python3-fabric; do
  installed "$pkg" || missing+=("$pkg")
done
if ! installed systemd-container; then
  if installed systemd; then
    missing+=("systemd-container=$(dpkg-query -W -f='${Version}' systemd)")
  else
    missing+=(systemd-container)
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "ensure-lab-debs: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi
