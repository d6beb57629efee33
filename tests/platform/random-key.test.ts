/**
 * platform/host-key.ts randomEd25519: every key it makes is read back by ssh2 and by OpenSSH's ssh-keygen,
 * including the one in 256 whose public key starts with a zero byte (the keys ssh2's own
 * generator truncates, which made `errors never carry key material` fail now and then).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { utils } from 'ssh2';
import { randomEd25519 } from '../../platform/host-key';

function publicBytes(line: string): Buffer {
  const blob = Buffer.from(line.split(' ')[1] ?? '', 'base64');
  return blob.subarray(4 + 'ssh-ed25519'.length + 4);
}

test('2,000 keys in a row all parse, leading zero bytes included', () => {
  let leadingZero = 0;
  for (let i = 0; i < 2000; i++) {
    const keys = randomEd25519('t');
    const parsed = utils.parseKey(keys.privateOpenSsh);
    assert.ok(!(parsed instanceof Error) && !Array.isArray(parsed), `key ${i} did not parse`);
    assert.equal(parsed.getPublicSSH().toString('base64'), keys.publicOpenSsh.split(' ')[1]);
    const pub = publicBytes(keys.publicOpenSsh);
    assert.equal(pub.length, 32);
    if (pub[0] === 0) leadingZero++;
  }
  // 2,000 keys hold ~8 with a leading zero; none at all would mean the loop tested nothing hard.
  assert.ok(leadingZero > 0, 'no key with a leading zero byte came up in 2,000');
});

test('OpenSSH reads a key whose public key starts with a zero byte, and derives the same public key', () => {
  let keys = randomEd25519('zero-led');
  for (let i = 0; i < 20_000 && publicBytes(keys.publicOpenSsh)[0] !== 0; i++) keys = randomEd25519('zero-led');
  assert.equal(publicBytes(keys.publicOpenSsh)[0], 0);
  const dir = mkdtempSync(join(tmpdir(), 'keygen-'));
  try {
    const file = join(dir, 'id');
    writeFileSync(file, keys.privateOpenSsh, { mode: 0o600 });
    const derived = execFileSync('ssh-keygen', ['-y', '-f', file]).toString().trim();
    assert.equal(derived.split(' ').slice(0, 2).join(' '), keys.publicOpenSsh.split(' ').slice(0, 2).join(' '));
    assert.match(execFileSync('ssh-keygen', ['-l', '-f', file]).toString(), /zero-led/, 'the comment is kept');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
