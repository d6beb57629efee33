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
# python3-fabric: the benchmark's baseline; openssh-server: the sshd a test runs as an SSH jump host
# (bastion) on 127.0.0.1 — installed without starting a system-wide sshd (see below);
# prometheus: the metrics test scrapes a worker with its own Prometheus on a loopback port (never the
# package's service, kept from starting like the others below);
# apt-cacher-ng: the droplets' apt cache, which the lab runs itself as its child (lab/apt-cache/),
# so the package's own service is kept from starting too; zsh: the test that `client completion zsh`
# parses (zsh -n).
for pkg in debootstrap socat iproute2 zstd openssh-client e2fsprogs util-linux tar chromium python3-fabric openssh-server apt-cacher-ng prometheus zsh; do
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
  # No service starts during the install (policy-rc.d exit 101): openssh-server must not bring up a
  # system-wide sshd on port 22 (the tests run their own sshd on 127.0.0.1 and stop it), nor
  # apt-cacher-ng a system-wide cache on port 3142.
  restore=""
  if [ -e /usr/sbin/policy-rc.d ]; then restore="$(mktemp)"; cp -p /usr/sbin/policy-rc.d "$restore"; fi
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  status=0
  apt-get install -y --no-install-recommends "${missing[@]}" >&2 || status=$?
  if [ -n "$restore" ]; then mv "$restore" /usr/sbin/policy-rc.d; else rm -f /usr/sbin/policy-rc.d; fi
  [ "$status" -eq 0 ] || exit "$status"
  # Should a service manager have enabled it anyway, keep it from starting on the next boot.
  if installed openssh-server && command -v systemctl >/dev/null; then
    systemctl disable ssh.service ssh.socket >/dev/null 2>&1 || true
    if [ -d /run/systemd/system ]; then systemctl stop ssh.service ssh.socket >/dev/null 2>&1 || true; fi
  fi
  if installed apt-cacher-ng && command -v systemctl >/dev/null; then
    systemctl disable apt-cacher-ng.service >/dev/null 2>&1 || true
    if [ -d /run/systemd/system ]; then systemctl stop apt-cacher-ng.service >/dev/null 2>&1 || true; fi
  fi
  if installed prometheus && command -v systemctl >/dev/null; then
    systemctl disable prometheus.service >/dev/null 2>&1 || true
    if [ -d /run/systemd/system ]; then systemctl stop prometheus.service >/dev/null 2>&1 || true; fi
  fi
fi
