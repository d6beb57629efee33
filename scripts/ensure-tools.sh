#!/usr/bin/env bash
# Installs what the tests and the local build need when it is missing: what the demo needs
# (scripts/ensure-demo-tools.sh: npm packages with Node 24, Debian packages for the lab, the Temporal
# CLI, the Debian 12 base image), then what only the tests use: versitygw, the SPDX schema and the
# Debian 13 base image. Idempotent and quiet when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-demo-tools.sh
bash scripts/ensure-versitygw.sh >/dev/null
bash scripts/ensure-spdx-schema.sh >/dev/null
node_modules/.bin/node dist/lab/droplets/base-image.js >/dev/null
