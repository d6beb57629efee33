/**
 * platform/ssh-keygen.ts: every key it makes is read back by ssh2 and by OpenSSH's ssh-keygen,
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
import { generateEd25519KeyPair } from '../../platform/ssh-keygen';

function publicBytes(line: string): Buffer {
  const blob = Buffer.from(line.split(' ')[1] ?? '', 'base64');
  return blob.subarray(4 + 'ssh-ed25519'.length + 4);
}

test('2,000 keys in a row all parse, leading zero bytes included', () => {
  let leadingZero = 0;
  for (let i = 0; i < 2000; i++) {
    const keys = generateEd25519KeyPair('t');
    const parsed = utils.parseKey(keys.private);
    assert.ok(!(parsed instanceof Error) && !Array.isArray(parsed), `key ${i} did not parse`);
    assert.equal(parsed.getPublicSSH().toString('base64'), keys.public.split(' ')[1]);
    const pub = publicBytes(keys.public);
    assert.equal(pub.length, 32);
    if (pub[0] === 0) leadingZero++;
  }
  // 2,000 keys hold ~8 with a leading zero; none at all would mean the loop tested nothing hard.
  assert.ok(leadingZero > 0, 'no key with a leading zero byte came up in 2,000');
});

test('OpenSSH reads a key whose public key starts with a zero byte, and derives the same public key', () => {
  let keys = generateEd25519KeyPair('zero-led');
  for (let i = 0; i < 20_000 && publicBytes(keys.public)[0] !== 0; i++) keys = generateEd25519KeyPair('zero-led');
  assert.equal(publicBytes(keys.public)[0], 0);
  const dir = mkdtempSync(join(tmpdir(), 'keygen-'));
  try {
    const file = join(dir, 'id');
    writeFileSync(file, keys.private, { mode: 0o600 });
    const derived = execFileSync('ssh-keygen', ['-y', '-f', file]).toString().trim();
    assert.equal(derived.split(' ').slice(0, 2).join(' '), keys.public.split(' ').slice(0, 2).join(' '));
    assert.equal(keys.public.split(' ')[2], 'zero-led');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
