#!/usr/bin/env bash
# Makes Packer 1.6.6 (the last release with the DigitalOcean builder in Packer itself) available to
# the benchmark and prints its path. Built from source with the Go module proxy (no binary
# downloads here) into the cache the other tools use, once per machine (~3 min, ~500 MB of modules).
# Packer's own code is unchanged, but three things must change for it to build and log in here:
#  - only the DigitalOcean builder and the file and shell provisioners are compiled in
#    (command/plugin.go, a generated list): the other 60 builders would triple the build;
#  - golang.org/x/crypto raised from its 2020 version to v0.4.0 (2022): the old one signs with
#    ssh-rsa (SHA-1) only, which OpenSSH >= 8.8 refuses, and Packer logs in with an RSA key;
#  - github.com/ugorji/go (Packer's plugin RPC codec, 2015) builds at init a base64 alphabet that
#    holds '_' twice, which today's Go refuses with a panic ("encoding alphabet includes duplicate
#    symbols"); its last character becomes '.' (the encoding is used only by its code generator).
#    Newer codec versions dropped a field Packer sets (MsgpackHandle.RawToString), so not those.
set -euo pipefail
version="v1.6.6"
cache="${IMAGE_FORGE_CACHE:-$HOME/.cache/image-forge}"
dir="$cache/packer-$version"
bin="$dir/bin/packer"
if [ ! -x "$bin" ]; then
  go="$(command -v go || true)"
  if [ -z "$go" ] && [ -x /usr/local/go/bin/go ]; then go=/usr/local/go/bin/go; fi
  if [ -z "$go" ]; then echo "ensure-packer: Go is needed to build Packer" >&2; exit 1; fi
  echo "ensure-packer: building Packer $version (about 3 min, once per machine)" >&2
  mkdir -p "$dir/bin"
  work="$(mktemp -d "$dir/build.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  # Lower priority and one package at a time: the machine's cores are shared.
  export GOFLAGS="-buildvcs=false -mod=mod -p=1"
  from="$("$go" mod download -json "github.com/hashicorp/packer@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  codec="$("$go" mod download -json "github.com/ugorji/go@v0.0.0-20151218193438-646ae4a518c1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  cp -r "$from" "$work/packer" && cp -r "$codec" "$work/ugorji-go" && chmod -R u+w "$work"
  cd "$work/packer"
  keep='^(digitaloceanbuilder|fileprovisioner|shellprovisioner)$'
  awk -v keep="$keep" '
    /^\t[a-z0-9]+(builder|provisioner|postprocessor) "github.com\/hashicorp\/packer\// { if ($1 !~ keep) next }
    /new\([a-z0-9]+(builder|provisioner|postprocessor)\./ {
      m = $0; sub(/.*new\(/, "", m); sub(/\..*/, "", m); if (m !~ keep) next
    }
    { print }' command/plugin.go > "$work/plugin.go"
  mv "$work/plugin.go" command/plugin.go
  grep -q 'new(digitaloceanbuilder.Builder)' command/plugin.go
  sed -i 's|0123456789__")|0123456789_.")|' "$work/ugorji-go/codec/gen.go"
  grep -q '0123456789_.")' "$work/ugorji-go/codec/gen.go"
  printf 'module github.com/ugorji/go\n' > "$work/ugorji-go/go.mod"
  "$go" mod edit -require=golang.org/x/crypto@v0.4.0 -replace="github.com/ugorji/go=$work/ugorji-go"
  nice -n 10 "$go" build -o "$bin.tmp" . >&2
  mv "$bin.tmp" "$bin"
  "$bin" version >&2
fi
echo "$bin"
