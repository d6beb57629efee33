/**
 * How the step wrapper places a script (issue #20 P2): a short NUL-free script by bash's own
 * `read`, anything else by `head`; a plain interpreter line is run as the kernel would run it, so
 * the script needs no `chmod`. Unusual first lines are left to the kernel. The lab test in
 * tests/activities/script-step.test.ts runs each way on a droplet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { placeByRead, shebangOf } from '../../../activities/remote/script';

const b = (s: string) => Buffer.from(s, 'latin1');

test('a plain interpreter line is read as Linux reads it: an absolute path and at most one argument', () => {
  assert.deepEqual(shebangOf(b('#!/bin/bash\necho hi\n')), ['/bin/bash']);
  assert.deepEqual(shebangOf(b('#!/usr/bin/env python3\nprint(1)\n')), ['/usr/bin/env', 'python3']);
  assert.deepEqual(shebangOf(b('#! /bin/sh -e \nfalse\n')), ['/bin/sh', '-e']);
  assert.deepEqual(shebangOf(b('#!\t/usr/bin/perl\t-w\n')), ['/usr/bin/perl', '-w']);
});

test('any other first line is left to the kernel (chmod, then exec)', () => {
  for (const body of [
    'echo no interpreter line\n',
    '#!bash\n', // relative: the kernel resolves it from the working directory
    '#!/bin/bash\r\necho crlf\r\n', // the kernel looks for "/bin/bash\r" and fails: so must we
    '#!/usr/bin/env -S python3 -u\n', // several words: one argument for the kernel
    '#!/bin/sh "-e"\n',
    `#!/bin/sh ${'x'.repeat(300)}\n`, // past the kernel's 256 bytes
    '#!/bin/bash', // no newline
    '#!/bin/b\u00e4sh\n',
    '',
  ])
    assert.equal(shebangOf(b(body)), undefined, JSON.stringify(body));
});

test('bash places a script of up to 4 KiB with no NUL byte; head places the rest', () => {
  assert.equal(placeByRead(Buffer.alloc(4096, 'a')), true);
  assert.equal(placeByRead(Buffer.alloc(0)), true);
  assert.equal(placeByRead(Buffer.alloc(4097, 'a')), false, 'bash reads a pipe a byte per system call');
  assert.equal(placeByRead(b('#!/bin/sh\necho a\0b\n')), false, 'a bash variable cannot hold a NUL byte');
});
