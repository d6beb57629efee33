#!/usr/bin/env bash
# What scripts/demo.sh needs and nothing more: npm packages (with Node 24), ssh2's crypto binding,
# the lab's Debian packages, the Temporal CLI and the one base image the demo's spec boots
# (examples/lamp: debian-12-x64). Not the Debian 13 image, versitygw or the SPDX schema, which only
# the tests use (scripts/ensure-tools.sh, run by npm test, installs those too). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ ! -d node_modules/@temporalio/worker ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ensure-demo-tools: npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi
bash scripts/ensure-ssh2-crypto.sh
bash scripts/ensure-lab-debs.sh
bash scripts/ensure-temporal.sh >/dev/null
if [ ! -f dist/client/main.js ]; then node_modules/.bin/tsc -p tsconfig.json; fi
node_modules/.bin/node dist/lab/droplets/base-image.js debian-12-x64 >/dev/null
