#!/usr/bin/env bash
# Makes the official SPDX 2.3 JSON schema (which the tests validate SPDX documents against)
# available and prints its path. Taken from a Go module that carries a copy of it (syft), fetched
# through the Go module proxy (no other downloads here), into a cache reused across runs; never
# committed.
set -euo pipefail
module="github.com/anchore/syft@v1.0.0"
cache="${IMAGE_FORGE_CACHE:-$HOME/.cache/image-forge}"
schema="$cache/spdx-2.3/spdx-schema-2.3.json"
if [ ! -f "$schema" ]; then
  go="$(command -v go || true)"
  if [ -z "$go" ] && [ -x /usr/local/go/bin/go ]; then go=/usr/local/go/bin/go; fi
  if [ -z "$go" ]; then echo "ensure-spdx-schema: Go is needed to fetch the SPDX schema" >&2; exit 1; fi
  dir="$(cd / && "$go" mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  if [ ! -f "$dir/schema/spdx-json/spdx-schema-2.3.json" ]; then
    echo "ensure-spdx-schema: $module has no schema/spdx-json/spdx-schema-2.3.json" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$schema")"
  cp "$dir/schema/spdx-json/spdx-schema-2.3.json" "$schema.tmp.$$"
  mv "$schema.tmp.$$" "$schema"
fi
echo "$schema"
