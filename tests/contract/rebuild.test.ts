/** The rebuild decision's rules: each trigger, several at once, and a skip only when none fires. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRebuild } from '../../contract/rebuild';
import type { LastBuildRecord, RebuildFacts } from '../../contract/rebuild';

const DAY = 86_400_000;
const last: LastBuildRecord = {
  family: 'web',
  buildId: 'build-web-1',
  image: 'debian-12-x64',
  baseImageId: 1001,
  contextDigest: 'sha256-a',
  planDigest: 'sha256-p',
  snapshotId: 5123,
  startedAt: '2026-11-04T03:00:00.000Z',
};
const facts = (f: Partial<RebuildFacts> = {}): RebuildFacts => ({
  image: 'debian-12-x64',
  baseImageId: 1001,
  contextDigest: 'sha256-a',
  planDigest: 'sha256-p',
  at: '2026-11-10T03:00:00.000Z',
  rebuildAfterMs: 30 * DAY,
  last,
  ...f,
});

test('nothing changed: skip, naming the last build', () => {
  assert.deepEqual(decideRebuild(facts()), {
    build: false,
    triggers: [],
    reason: 'nothing changed since build build-web-1',
    baseImageId: 1001,
    lastBuildId: 'build-web-1',
  });
});

test('each trigger, and several at once', () => {
  assert.equal(decideRebuild(facts({ last: null })).reason, 'no earlier build of this family');
  assert.equal(decideRebuild(facts({ baseImageId: 1002 })).reason, 'base image debian-12-x64 changed: 1001 → 1002');
  assert.equal(decideRebuild(facts({ planDigest: 'sha256-q' })).reason, 'spec changed');
  assert.equal(decideRebuild(facts({ contextDigest: 'sha256-b' })).reason, 'spec changed');
  const due = decideRebuild(facts({ at: '2026-12-04T03:00:00.000Z' }));
  assert.deepEqual([due.build, due.triggers], [true, ['periodic']]);
  assert.match(due.reason, /^periodic rebuild for package updates: the last build is 30 d old$/);
  assert.deepEqual(decideRebuild(facts({ rebuildAfterMs: undefined })).triggers, ['periodic'], 'every run builds');
  const both = decideRebuild(facts({ image: 'debian-13-x64', contextDigest: 'sha256-b' }));
  assert.deepEqual(both.triggers, ['base-image', 'spec']);
  assert.equal(both.reason, 'base image changed: debian-12-x64 → debian-13-x64; spec changed');
});
