#!/usr/bin/env bash
# Installs what the tests and the local build need when it is missing: npm packages (with Node 24),
# Debian packages for the lab, the Temporal CLI, and the lab's base image. Idempotent and quiet
# when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ ! -d node_modules/@temporalio/worker ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ensure-tools: npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi
bash scripts/ensure-ssh2-crypto.sh
bash scripts/ensure-lab-debs.sh
bash scripts/ensure-temporal.sh >/dev/null
bash scripts/ensure-versitygw.sh >/dev/null
bash scripts/ensure-spdx-schema.sh >/dev/null
if [ ! -f dist/client/main.js ]; then node_modules/.bin/tsc -p tsconfig.json; fi
node_modules/.bin/node dist/lab/droplets/base-image.js >/dev/null
