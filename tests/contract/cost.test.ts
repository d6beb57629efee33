/** Droplet-minutes from step records: the build droplet from provision to its destroy, the test droplet for verify. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dropletCost } from '../../contract/cost';
import type { StepRecord } from '../../contract/build';

const T0 = Date.parse('2026-12-04T10:00:00Z');
const rec = (
  name: string,
  startMin: number,
  seconds: number,
  state: StepRecord['state'] = 'succeeded',
): StepRecord => ({
  name,
  summary: name,
  state,
  attempts: 1,
  startedAt: new Date(T0 + startMin * 60_000).toISOString(),
  seconds,
});

test('the build droplet is paid from provision to the end of its destroy; the test droplet for verify', () => {
  const steps = [rec('provision', 0, 30), rec('01-script', 1, 60), rec('destroy', 9, 60), rec('verify', 10, 90)];
  assert.deepEqual(dropletCost(steps, T0 + 60 * 60_000), { buildDropletMinutes: 10, testDropletMinutes: 1.5 });
});

test('a droplet not destroyed yet (running, or kept by a base build) is paid until now', () => {
  const steps = [rec('provision', 0, 30), rec('destroy', 5, 10, 'failed')];
  assert.deepEqual(dropletCost(steps, T0 + 20 * 60_000), { buildDropletMinutes: 20, testDropletMinutes: 0 });
  assert.deepEqual(dropletCost([], T0), { buildDropletMinutes: 0, testDropletMinutes: 0 });
});
