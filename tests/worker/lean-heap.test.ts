/** The worker's restart with a lean young heap: once, keeping every argument, never over the operator's choice. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leanHeapArgs } from '../../worker/lean-heap';

test('the restart adds the semi-space flag once, keeps node flags and arguments, and respects a flag already given', () => {
  assert.deepEqual(leanHeapArgs('/n', ['--enable-source-maps'], ['/n', '/w/main.js', '--x']), [
    '/n',
    '--max-semi-space-size=2',
    '--enable-source-maps',
    '/w/main.js',
    '--x',
  ]);
  // After the restart the flag is there: no second restart.
  assert.equal(leanHeapArgs('/n', ['--max-semi-space-size=2'], ['/n', '/w/main.js']), undefined);
  assert.equal(leanHeapArgs('/n', ['--max-semi-space-size=8'], ['/n', '/w/main.js']), undefined);
  assert.equal(leanHeapArgs('/n', ['--max-semi-space-size', '8'], ['/n', '/w/main.js']), undefined);
});
