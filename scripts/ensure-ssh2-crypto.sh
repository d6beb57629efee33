#!/usr/bin/env bash
# ssh2 builds its native crypto binding in its install script, with whichever Node runs npm (often the
# system's, not the project's Node 24 in node_modules/.bin). Built for another Node it does not load, and
# ssh2 silently falls back to a new node:crypto cipher object per 32 KiB packet: about twice the worker's
# CPU per uploaded byte (P3). Rebuilds it against Node 24's own headers (shipped in the node package) when
# it does not load; quiet and quick when it does.
set -euo pipefail
cd "$(dirname "$0")/.."
node=node_modules/.bin/node
loads() { "$node" -e "process.exit(require('ssh2/lib/protocol/crypto.js').bindingAvailable ? 0 : 1)" 2>/dev/null; }
loads && exit 0
gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
headers="$(dirname "$(dirname "$(find node_modules/node/node_modules -maxdepth 4 -path '*/include/node/node_api.h' | head -1)")")"
if [ ! -f "$gyp" ] || [ ! -d "$headers" ]; then
  echo "ensure-ssh2-crypto: node-gyp or Node's headers not found; ssh2 runs without its native crypto (slower uploads)" >&2
  exit 0
fi
echo "ensure-ssh2-crypto: building ssh2's crypto binding for $("$node" -v)" >&2
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
root="$PWD"
# Under `npm test` npm's own settings (npm_config_*, npm_node_execpath: the system Node) reach node-gyp
# and win over --nodedir: it then builds for the system Node again. Build without them.
for v in $(compgen -e | grep -i '^npm_'); do unset "$v"; done
build() {
  (cd node_modules/ssh2/lib/protocol/crypto && rm -rf build &&
    "$root/$node" "$gyp" rebuild --nodedir="$root/${headers%/include}" \
      --real_openssl_major="$("$root/$node" -p "/^\d+/.exec(process.versions.openssl)[0]")") >"$log" 2>&1
}
# Without it ssh2 still works (slower): a warning, not a failure.
build && loads && exit 0
tail -5 "$log" >&2
echo "ensure-ssh2-crypto: could not build a binding that loads; ssh2 runs without its native crypto (slower uploads)" >&2
