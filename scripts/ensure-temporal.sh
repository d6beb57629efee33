#!/usr/bin/env bash
# Makes the Temporal CLI (dev server + Web UI) available and prints its path.
# Built from source with `go install` (no binary downloads here) into a cache reused across runs.
set -euo pipefail
version="v1.5.1"   # v1.6+ cannot be go-installed
cache="${IMAGE_FORGE_CACHE:-$HOME/.cache/image-forge}"
bin="$cache/temporal-$version/bin/temporal"
if [ ! -x "$bin" ]; then
  command -v go >/dev/null || { echo "ensure-temporal: Go is needed to build the Temporal CLI" >&2; exit 1; }
  echo "ensure-temporal: building temporal CLI $version (about 2.5 min, once per machine)" >&2
  mkdir -p "$(dirname "$bin")"
  GOBIN="$(dirname "$bin")" GOFLAGS=-mod=mod go install "github.com/temporalio/cli/cmd/temporal@$version" >&2
fi
echo "$bin"
