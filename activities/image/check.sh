#!/bin/bash
set -u
# key_fields: from key-fields.sh, which check.ts puts before this script.
say() { echo "$1: $2: $3"; }
# 1. OS
. /etc/os-release
case "$ID:$VERSION_ID" in
  ubuntu:16.04|ubuntu:18.04|ubuntu:20.04|ubuntu:22.04|ubuntu:22.10|ubuntu:24.04|debian:9|debian:10|debian:11|debian:12|debian:13) say PASS os "$PRETTY_NAME is supported" ;;
  centos:*|rocky:8*|rocky:9*|almalinux:8*|almalinux:9*|cloudlinux:8*|cloudlinux:9*) say PASS os "$PRETTY_NAME is supported" ;;
  *) say FAIL os "$PRETTY_NAME is not a supported distribution"; exit 0 ;;
esac
# 2. cloud-init
if command -v cloud-init >/dev/null; then say PASS cloud-init "installed"; else say FAIL cloud-init "cloud-init is not installed"; fi
# 3. firewall
if command -v ufw >/dev/null && ufw status 2>/dev/null | grep -q 'Status: active'; then say PASS firewall "ufw is active"
elif command -v firewall-cmd >/dev/null && firewall-cmd --state 2>/dev/null | grep -q running; then say PASS firewall "firewalld is running"
elif [ "$ID" = debian ] && grep -q '^ip_tables ' /proc/modules 2>/dev/null && iptables -S 2>/dev/null | grep -qv -- '-P .* ACCEPT'; then say PASS firewall "iptables rules are loaded"
else say WARN firewall "no active firewall (enable ufw)"; fi
# 4. pending security updates
# Without apt's binary caches: run after cleanup's apt-get clean, the check would otherwise write
# them back (/var/cache/apt/*.bin, 80 MB, ~34 MB more in the snapshot).
nocache='-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache='
if apt-get -qq $nocache update >/dev/null 2>&1; then
  n=$(( $(apt-get $nocache --just-print upgrade 2>/dev/null | grep -ci security) / 2 ))
  if [ "$n" -gt 0 ]; then say FAIL security-updates "$n security updates are pending (run a full upgrade at the end of the build)"; else say PASS security-updates "none pending"; fi
else say FAIL security-updates "apt-get update failed, so pending updates cannot be checked"; fi
# 4b. the build's apt proxy (a worker setting, IMAGE_FORGE_APT_PROXY) must not reach the image:
# a customer's droplet cannot reach the builder's proxy, so its apt would fail.
if [ -e /etc/apt/apt.conf.d/99image-forge-build-proxy ]; then say FAIL apt-proxy "/etc/apt/apt.conf.d/99image-forge-build-proxy is the build's apt proxy (cleanup removes it)"
elif grep -rqsiE '^[^#/]*Acquire::https?::Proxy' /etc/apt/apt.conf /etc/apt/apt.conf.d/; then say WARN apt-proxy "an apt proxy is set in /etc/apt (customers' droplets may not reach it)"
else say PASS apt-proxy "no apt proxy in the image"; fi
# 4c. dpkg's build-time force-unsafe-io (install writes it, cleanup removes it): a customer's dpkg
# must fsync what it unpacks, or a power cut mid-upgrade can leave empty files behind.
if [ -e /etc/dpkg/dpkg.cfg.d/99image-forge-build-unsafe-io ]; then say FAIL dpkg-unsafe-io "/etc/dpkg/dpkg.cfg.d/99image-forge-build-unsafe-io is the build's dpkg force-unsafe-io (cleanup removes it)"
else say PASS dpkg-unsafe-io "dpkg fsyncs what it unpacks"; fi
# 5. logs at the top of /var/log
found=0
# On a droplet made from the image (IMAGE_CHECK_AFTER_BOOT=1), logs written since this boot are
# the droplet's own, not the image's.
boot=$(( $(date +%s) - $(cut -d. -f1 /proc/uptime) ))
own() { [ "${IMAGE_CHECK_AFTER_BOOT:-0}" = 1 ] && [ "$(stat -c %Y "$1")" -ge "$boot" ]; }
for f in /var/log/*-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9] /var/log/*.[0-9]; do [ -f "$f" ] && ! own "$f" && { say WARN logs "$f is a rotated log archive"; found=1; }; done
for f in /var/log/*.log; do [ -f "$f" ] && [ "$(stat -c %s "$f")" -gt 50 ] && ! own "$f" && { say WARN logs "$f is not empty"; found=1; }; done
[ $found = 0 ] && say PASS logs "no log archives or non-empty logs"
# 6. users with uid >= 1000
while IFS=: read -r user _ uid _ _ home _; do
  [ "$uid" -ge 1000 ] && [ "$uid" -lt 65534 ] || continue
  pass=$(getent shadow "$user" | cut -d: -f2)
  case "$pass" in '!'*|'*'*) ;; *) say FAIL users "$user has a password set" ;; esac
  if [ -f "$home/.bash_history" ] && [ "$(stat -c %s "$home/.bash_history")" -ge 200 ]; then say FAIL users "$home/.bash_history is not empty"; fi
done < /etc/passwd
say PASS users "checked"
# 7. root
pass=$(getent shadow root | cut -d: -f2)
case "$pass" in '!'*|'*'*) say PASS root-password "no password" ;; *) say FAIL root-password "root has a password set (or an empty one)" ;; esac
# SSH keys: every authorized_keys* file of every user holds none. LOGIN_KEY ("TYPE BLOB") is the
# key this check logged in with (the builder's at validate, which the seal removes next; verify's
# one-time key on a droplet made from the image): a line holding it as its key (key_fields, not a
# substring: a planted key may carry it as a comment) does not count. Any other key — the
# builder's on a droplet made from the image included — fails.
login_key=${LOGIN_KEY:-@@none@@}
keys=0
while IFS=: read -r _ _ _ _ _ home _; do
  [ -n "$home" ] && [ -d "$home/.ssh" ] || continue
  for ak in "$home"/.ssh/authorized_keys*; do
    [ -f "$ak" ] || continue
    n=$(key_fields "$ak" | grep -cvxF -- "$login_key" || true)
    if [ "$n" -gt 0 ]; then say FAIL ssh-keys "$ak holds $n key(s) (remove them)"; keys=1; fi
  done
done < <(getent passwd | sort -u)
[ $keys = 0 ] && say PASS ssh-keys "no authorized_keys file holds a key"
# sshd settings that let someone in without any authorized_keys showing it. Debian's default
# AuthorizedKeysFile (the two files checked above) is not one, nor a setting of "none".
ways=0
for conf in /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*; do
  [ -f "$conf" ] || continue
  while IFS= read -r setting; do
    say FAIL ssh-config "$conf sets $setting (a way in that no authorized_keys shows: remove it)"; ways=1
  done < <(awk '
    { line = $0; sub(/^[ \t]+/, "", line); sub(/[ \t\r]+$/, "", line) }
    line == "" || line ~ /^#/ { next }
    {
      kw = line; sub(/[ \t=].*$/, "", kw); kw = tolower(kw)
      val = substr(line, length(kw) + 1); sub(/^[ \t]*=?[ \t]*/, "", val); gsub(/[ \t]+/, " ", val)
    }
    kw != "authorizedkeysfile" && kw != "authorizedkeyscommand" && kw != "trustedusercakeys" { next }
    val == "none" || (kw == "authorizedkeysfile" && val == ".ssh/authorized_keys .ssh/authorized_keys2") { next }
    { print substr(line, 1, 120) }
  ' "$conf")
done
[ $ways = 0 ] && say PASS ssh-config "sshd takes keys from authorized_keys only"
if [ -f /root/.ssh/id_rsa ]; then
  if [ -s /root/.ssh/id_rsa ]; then say FAIL root-ssh "/root/.ssh/id_rsa is a private key"; else say WARN root-ssh "/root/.ssh/id_rsa exists (empty)"; fi
fi
for f in /root/.ssh/*; do
  [ -e "$f" ] || continue
  case "$(basename "$f")" in authorized_keys*|id_rsa) ;; known_hosts) [ "$(stat -c %s "$f")" -gt 50 ] && say WARN root-ssh "$f is not empty" ;; *) say WARN root-ssh "$f should not be in the image" ;; esac
done
if [ -f /root/.bash_history ] && [ "$(stat -c %s /root/.bash_history)" -ge 200 ]; then say FAIL root-history "/root/.bash_history is not empty"; else say PASS root-history "empty"; fi
# 8. DigitalOcean agent
if [ -d /opt/digitalocean ]; then say FAIL droplet-agent "/opt/digitalocean exists (create the build droplet with with_droplet_agent: false)"; else say PASS droplet-agent "not installed"; fi
