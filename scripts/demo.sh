#!/usr/bin/env bash
# The README's first command: a full local build of the example image in the lab.
# Installs what is missing (scripts/ensure-demo-tools.sh: only what the demo uses), then starts
# Temporal (Web UI on http://127.0.0.1:8233), the lab and a worker in the background (they stay up
# for the next build; `bin/client local stop` stops them).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo: the lab's droplets are Linux namespaces: run as root" >&2; exit 1; }
bash scripts/ensure-demo-tools.sh
node_modules/.bin/tsc -p tsconfig.json
node_modules/.bin/node dist/worker/bundle.js
exec bin/client start-build examples/lamp/build.yaml --local --wait "$@"
