#!/usr/bin/env bash
# Makes the Versity S3 Gateway (a real S3-compatible server over a local directory, used by the
# tests of the S3 store) available and prints its path.
# Built from source with `go install` (no binary downloads here) into a cache reused across runs.
set -euo pipefail
version="v1.8.0"
cache="${IMAGE_FORGE_CACHE:-$HOME/.cache/image-forge}"
bin="$cache/versitygw-$version/bin/versitygw"
if [ ! -x "$bin" ]; then
  go="$(command -v go || true)"
  if [ -z "$go" ] && [ -x /usr/local/go/bin/go ]; then go=/usr/local/go/bin/go; fi
  if [ -z "$go" ]; then echo "ensure-versitygw: Go is needed to build versitygw" >&2; exit 1; fi
  echo "ensure-versitygw: building versitygw $version (about 1 min, once per machine)" >&2
  mkdir -p "$(dirname "$bin")"
  GOBIN="$(dirname "$bin")" GOFLAGS=-mod=mod "$go" install "github.com/versity/versitygw/cmd/versitygw@$version" >&2
fi
echo "$bin"
