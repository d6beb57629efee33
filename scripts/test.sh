#!/usr/bin/env bash
# The test command (npm test): lint, format check, layout rules, typecheck+build, then every test against the real
# Temporal dev server and the lab. Needs root (the lab's droplets are namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
bash scripts/ensure-tools.sh
echo "== lint"; eslint .
echo "== format"; prettier --check --log-level warn "**/*.{ts,mjs,cjs}"
echo "== layout (no cycles, rooms apart)"; npm run --silent deps
echo "== typecheck and build"; rm -rf dist; tsc -p tsconfig.json; node dist/worker/bundle.js
mkdir -p test-artifacts
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  mapfile -t files < <(find dist/tests -name '*.test.js' | sort)
fi
echo "== tests (${#files[@]} files)"
exec node --enable-source-maps --test --test-concurrency=1 --test-timeout=900000 --test-reporter=spec "${files[@]}"
