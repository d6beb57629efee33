/**
 * ssh2's native crypto binding, once built (scripts/ensure-ssh2-crypto.sh, run by the test command),
 * is built for the Node that runs the worker. Built for another Node it silently fails to load and
 * ssh2 falls back to a node:crypto cipher per packet: about twice the worker's CPU per uploaded byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const load = createRequire(__filename);

test("ssh2's crypto binding, when present, loads in this Node", (t) => {
  const crypto = load('ssh2/lib/protocol/crypto.js') as { bindingAvailable: boolean };
  const built = path.join(
    path.dirname(load.resolve('ssh2/lib/protocol/crypto.js')),
    'crypto/build/Release/sshcrypto.node',
  );
  if (!existsSync(built)) {
    // ensure-ssh2-crypto.sh warns when it cannot build one (no node-gyp or headers): nothing to check then.
    t.diagnostic('no binding built here: ssh2 runs without its native crypto');
    assert.equal(crypto.bindingAvailable, false);
    return;
  }
  assert.equal(
    crypto.bindingAvailable,
    true,
    `${built} exists but does not load in Node ${process.version}: rebuild it with scripts/ensure-ssh2-crypto.sh`,
  );
});
