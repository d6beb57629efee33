/**
 * Masking is complete (issue #28 §4), as pure functions: a secret is masked however its output
 * arrives — split between chunks at every position, with stdout and stderr interleaved, with a
 * UTF-8 character cut between chunks, a multi-line value whole or line by line — and the masker
 * holds back only what could still become a secret. A worker refuses a value too short to mask.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MASK, Masker, maskPatterns, maskText } from '../../../activities/runtime/masker';
import { StepLog } from '../../../activities/runtime/step-log';
import { LINE_CUT_NOTE, LINE_MAX_CHARS } from '../../../activities/runtime/output-lines';
import type { BlobStore } from '../../../context/store';
import { MIN_SECRET_CHARS, shortWorkerSecrets } from '../../../contract/worker-secrets';
import { UserError } from '../../../contract/user-error';
import { workerSettingsFrom } from '../../../worker/config';

const SECRET = 'tok-Zü✓-9f3a1c77';

/** A store that keeps what is appended, in memory. */
function memoryStore(): { store: BlobStore; text: () => string } {
  const parts: Buffer[] = [];
  const store = { append: (_k: string, d: Buffer) => Promise.resolve(void parts.push(d)) } as unknown as BlobStore;
  return { store, text: () => Buffer.concat(parts).toString() };
}

test('a secret split between two chunks at any character or byte is masked', async () => {
  const line = `before ${SECRET} after\n`;
  const bytes = Buffer.from(line);
  for (let cut = 1; cut < bytes.length; cut++) {
    const { store, text } = memoryStore();
    const log = new StepLog(store, 'k', [SECRET]);
    log.write(bytes.subarray(0, cut));
    log.write(bytes.subarray(cut));
    await log.close();
    assert.equal(text(), `before ${MASK} after\n`, `cut at byte ${cut}`);
  }
  // Many small writes: a byte at a time.
  const { store, text } = memoryStore();
  const log = new StepLog(store, 'k', [SECRET]);
  for (const b of bytes) log.write(Buffer.from([b]));
  await log.close();
  assert.equal(text(), `before ${MASK} after\n`);
});

test('stdout and stderr interleaved: each read apart, the secret masked in both', async () => {
  const { store, text } = memoryStore();
  const log = new StepLog(store, 'k', [SECRET]);
  const half = Buffer.from(SECRET).subarray(0, 9);
  const rest = Buffer.from(SECRET).subarray(9);
  log.write(Buffer.concat([Buffer.from('out: '), half]), 'stdout');
  log.write(Buffer.concat([Buffer.from('err: '), half]), 'stderr');
  log.write(Buffer.concat([rest, Buffer.from(' end-out\n')]), 'stdout');
  log.write(Buffer.concat([rest, Buffer.from(' end-err\n')]), 'stderr');
  await log.close();
  assert.deepEqual(text().split('\n').sort(), ['', `err: ${MASK} end-err`, `out: ${MASK} end-out`]);
  assert.ok(!log.tail().join('\n').includes(SECRET));
});

test('a UTF-8 character cut between chunks arrives whole (no replacement character)', async () => {
  const { store, text } = memoryStore();
  const log = new StepLog(store, 'k');
  const b = Buffer.from('grüß ✓ 𝄞\n');
  for (let i = 0; i < b.length; i += 1) log.write(b.subarray(i, i + 1));
  await log.close();
  assert.equal(text(), 'grüß ✓ 𝄞\n');
  assert.deepEqual(log.tail(), ['grüß ✓ 𝄞']);
});

test('a multi-line secret is masked whole and line by line; a line too short to mask is left', () => {
  const pem = 'first-line-AAAA1111\nsecond-line-BBBB2222\r\nend';
  const patterns = maskPatterns([pem]);
  assert.deepEqual(patterns, [pem, 'second-line-BBBB2222', 'first-line-AAAA1111']);
  assert.equal(maskText(`key:\n${pem}\n`, patterns), `key:\n${MASK}\n`);
  assert.equal(
    maskText('> first-line-AAAA1111\n> second-line-BBBB2222\r\n> end\n', patterns),
    `> ${MASK}\n> ${MASK}\r\n> end\n`,
  );
  assert.equal(maskText('only second-line-BBBB2222 here', patterns), `only ${MASK} here`);
});

test('the masker holds back only what could still become a secret', () => {
  const m = new Masker(maskPatterns(['secret-value-1', 'other-secret-2']));
  assert.equal(m.push('plain text, no keys.'), 'plain text, no keys.', 'nothing held without a possible start');
  assert.equal(m.push(' then secr'), ' then ', 'held: the start of a secret');
  assert.equal(m.push('ecy'), 'secrecy', 'released once it cannot be one');
  assert.equal(m.push(' s'), ' ');
  assert.equal(m.push('ecret-value-1!'), `${MASK}!`);
  assert.equal(m.push('x other-secret-'), 'x ');
  assert.equal(m.end(), 'other-secret-', 'at the end, what was held is shown: it never became a secret');
  // Never more than the longest secret's length minus one.
  const long = new Masker(maskPatterns(['aaaaaaaaab']));
  assert.equal(long.push('a'.repeat(50)), 'a'.repeat(41));
  // Overlapping secrets: masked as one.
  assert.equal(maskText('x 12345678abcdefgh y', maskPatterns(['12345678abcd', '5678abcdefgh'])), `x ${MASK} y`);
});

test('every tail line and log line is bounded; the tail keeps the last 20', async () => {
  const { store, text } = memoryStore();
  const log = new StepLog(store, 'k', [SECRET]);
  log.write(`${'x'.repeat(3000)}\n`);
  for (let i = 0; i < 30; i++) log.write(`line ${i}\n`);
  log.write('y'.repeat(5000));
  assert.equal(log.tail().length, 20);
  assert.equal(log.tail().at(-1), `${'y'.repeat(1000)} …`);
  await log.close();
  assert.ok(text().includes(`${'x'.repeat(3000)}\n`), 'the store keeps lines up to the cut whole');
});

test('a line without end is cut at 16,384 characters with a note; the rest of it is dropped, the next line kept', async () => {
  const { store, text } = memoryStore();
  const log = new StepLog(store, 'k', [SECRET]);
  const chunk = Buffer.alloc(64 << 10, 'z');
  for (let i = 0; i < 160; i++) log.write(chunk); // 10 MiB, no newline
  log.write(`\nnext ${SECRET}\n`);
  await log.close();
  assert.equal(text(), `${'z'.repeat(LINE_MAX_CHARS)}${LINE_CUT_NOTE}\nnext ${MASK}\n`);
  assert.equal(LINE_MAX_CHARS, 16384);
});

test(`a worker refuses a secret shorter than ${MIN_SECRET_CHARS} characters at start, by name, never its value`, () => {
  assert.deepEqual(shortWorkerSecrets(['A', 'B', 'C'], { A: 'long-enough', B: 'pw1234' }), [
    `B (listed in IMAGE_FORGE_WORKER_SECRETS) is shorter than ${MIN_SECRET_CHARS} characters: step logs could not mask it safely; give it a longer value or remove it from the list`,
  ]);
  const env = {
    DIGITALOCEAN_TOKEN: 't',
    IMAGE_FORGE_SSH_KEY: '/k',
    IMAGE_FORGE_WORKER_SECRETS: 'ACME_KEY',
    ACME_KEY: 'pw1234',
  };
  assert.throws(
    () => workerSettingsFrom(env),
    (e: unknown) =>
      e instanceof UserError &&
      /^ACME_KEY \(listed in IMAGE_FORGE_WORKER_SECRETS\) is shorter than 8 characters/.test(e.message) &&
      !e.message.includes('pw1234'),
  );
  assert.doesNotThrow(() => workerSettingsFrom({ ...env, ACME_KEY: 'pw123456' }));
});
