/**
 * The generated reasonForUpdate from real pieces, no stub: two real bills of materials — the sbom
 * step's own command run on two real Debian 12 systems (this machine, as the image last published,
 * and the lab's debian-12-x64 base tree, as the rebuild; whichever is newer), parsed by the step's own parser — go
 * through the real published record (written as record-published writes it, read by
 * last-published, in a real build store) and the real diff. dpkg itself (`dpkg --compare-versions`) is the oracle for what was
 * upgraded or downgraded; the reason must list exactly those changes, in order, within 280
 * characters, and count what it left out.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { activityDeps } from '../../activities/remote/activity-deps';
import { lastPublished } from '../../activities/published-record';
import { writePublished } from '../../activities/records/published';
import { parseSbomOutput, sbomCommand } from '../../activities/image/sbom-documents';
import { LocalDirStore } from '../../context/store';
import { DoApi } from '../../platform/digitalocean';
import { VendorApi } from '../../platform/vendor-api';
import { ensureBaseImage } from '../../lab/droplets/base-image';
import {
  REASON_MAX,
  STOCK_REASON_FOR_UPDATE,
  diffBuilds,
  diffSide,
  reasonForUpdate,
} from '../../contract/bill-of-materials';
import { readLoginKeyFromText } from '../support/keys';
import { ed25519FromSeed } from '../../platform/host-key';
import { randomBytes } from 'node:crypto';
import { skipUnlessRoot } from '../support/lab-api';

const skip = skipUnlessRoot || (process.platform !== 'linux' && 'needs Debian');
let dir = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'forge-reason-'));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The sbom step's command, on the real system at `root` (chroot) or on this machine. */
function realSbom(root?: string) {
  const cmd = sbomCommand([]);
  const out = root
    ? execFileSync('chroot', [root, '/bin/sh', '-c', cmd], { encoding: 'utf8', maxBuffer: 64 << 20 })
    : execFileSync('/bin/sh', ['-c', cmd], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return parseSbomOutput(out);
}

const dpkgLess = (a: string, b: string) => {
  try {
    execFileSync('dpkg', ['--compare-versions', a, 'lt', b]);
    return true;
  } catch {
    return false;
  }
};

test('a rebuild between two real Debian systems publishes the package changes dpkg sees', { skip }, async () => {
  const published = realSbom();
  const rebuilt = realSbom(await ensureBaseImage('debian-12-x64'));
  assert.equal(published.os.id, 'debian');
  assert.ok(published.packages.length > 50 && rebuilt.packages.length > 50, 'both are whole systems');

  const key = ed25519FromSeed(randomBytes(32));
  const deps = activityDeps({
    api: new DoApi({ token: 'unused', endpoint: 'http://127.0.0.1:9/v2' }),
    login: readLoginKeyFromText(key.privateOpenSsh, key.publicOpenSsh),
    store: new LocalDirStore(join(dir, 'store')),
    contextCacheDir: join(dir, 'cache'),
    vendor: new VendorApi('http://127.0.0.1:9/api/v1/vendor-portal', 'unused', 1000),
    workerEnv: {},
    workerSecrets: [],
  });
  const before = diffSide(published).packages;
  // As record-published writes it once its build's image is checked (build-identity.test.ts covers the check).
  await writePublished(deps, {
    family: 'web',
    appId: 'app',
    imageId: 41,
    buildId: 'build-web-before',
    packages: before,
    review: 'approved',
    at: '2026-11-04T03:00:00Z',
  });
  const last = await lastPublished(deps)({ family: 'web' });
  assert.deepEqual(last?.packages, before, 'the published record keeps the package versions');
  const now = diffSide(rebuilt).packages;

  // The oracle: dpkg's own version order, and plain set differences.
  const common = Object.keys(now)
    .filter((n) => before[n] !== undefined && before[n] !== now[n])
    .sort();
  const upgraded = common.filter((n) => dpkgLess(before[n]!, now[n]!));
  const downgraded = common.filter((n) => !upgraded.includes(n));
  const added = Object.keys(now)
    .filter((n) => before[n] === undefined)
    .sort();
  const removed = Object.keys(before)
    .filter((n) => now[n] === undefined)
    .sort();
  const d = diffBuilds({ packages: before }, { packages: now });
  assert.deepEqual(
    d.upgraded.map((c) => c.name),
    upgraded,
  );
  assert.deepEqual(
    d.downgraded.map((c) => c.name),
    downgraded,
  );
  assert.deepEqual(
    d.added.map((p) => p.name),
    added,
  );
  assert.deepEqual(
    d.removed.map((p) => p.name),
    removed,
  );

  const parts = [
    ...upgraded.map((n) => `${n} ${before[n]} → ${now[n]}`),
    ...downgraded.map((n) => `${n} ${before[n]} → ${now[n]}`),
    ...added.map((n) => `+${n} ${now[n]}`),
    ...removed.map((n) => `-${n}`),
  ];
  const reason = reasonForUpdate(STOCK_REASON_FOR_UPDATE, last?.packages, now)!;
  if (parts.length === 0) {
    assert.equal(reason, STOCK_REASON_FOR_UPDATE, 'nothing changed: the stock sentence');
    return;
  }
  assert.ok(reason.length <= REASON_MAX, `${reason.length} characters: ${reason}`);
  const m = /^Package updates: (.*?)(?:, … and (\d+) more)?$/.exec(reason);
  assert.ok(m, reason);
  const listed = m[1]!.split(', ');
  assert.deepEqual(listed, parts.slice(0, listed.length), 'the changes dpkg sees, upgrades first, in order');
  assert.equal(Number(m[2] ?? 0), parts.length - listed.length, 'what is left out is counted');
  assert.equal(reasonForUpdate('Monthly rebuild', last?.packages, now), 'Monthly rebuild', "a spec's own reason wins");
});
