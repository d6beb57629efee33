/** The pure half of the SBOM feature: Debian version order, the diff of two builds, the reasonForUpdate made from it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  REASON_MAX,
  STOCK_REASON_FOR_UPDATE,
  compareDebianVersions,
  diffBuilds,
  reasonForUpdate,
  reasonFromDiff,
  sbomKeys,
} from '../../contract/bill-of-materials';

test('Debian versions compare as dpkg does', () => {
  const ordered = [
    '1.0~rc1',
    '1.0',
    '1.0-1',
    '1.0-1+deb12u1',
    '1.0a',
    '1.2',
    '1.10',
    '3.0.15-1~deb12u1',
    '3.0.15-1',
    '3.0.16-1~deb12u1',
    '1:0.1',
  ];
  for (let i = 0; i + 1 < ordered.length; i++) {
    assert.equal(compareDebianVersions(ordered[i]!, ordered[i + 1]!), -1, `${ordered[i]} < ${ordered[i + 1]}`);
    assert.equal(compareDebianVersions(ordered[i + 1]!, ordered[i]!), 1, `${ordered[i + 1]} > ${ordered[i]}`);
  }
  assert.equal(compareDebianVersions('2.36-9+deb12u4', '2.36-9+deb12u4'), 0);
  assert.equal(compareDebianVersions('01.2', '1.2'), 0, 'leading zeros do not count');
});

test('the diff of two builds: added, removed, upgraded, downgraded packages and changed files', () => {
  const d = diffBuilds(
    {
      packages: {
        openssl: '3.0.15-1~deb12u1',
        libssl3: '3.0.15-1~deb12u1',
        curl: '7.88.1-10+deb12u8',
        tzdata: '2025a-1',
      },
      files: { '/etc/app.conf': '644 aaa', '/opt/forge/first-login.sh': '755 bbb', '/etc/old': '644 ccc' },
    },
    {
      packages: {
        openssl: '3.0.16-1~deb12u1',
        libssl3: '3.0.16-1~deb12u1',
        curl: '7.88.1-10+deb12u8',
        jq: '1.6-2.1',
        tzdata: '2024b-0+deb12u1',
      },
      files: { '/etc/app.conf': '600 aaa', '/opt/forge/first-login.sh': '755 bbb', '/etc/new': '644 ddd' },
    },
  );
  assert.deepEqual(d.added, [{ name: 'jq', version: '1.6-2.1' }]);
  assert.deepEqual(d.removed, []);
  assert.deepEqual(d.upgraded, [
    { name: 'libssl3', from: '3.0.15-1~deb12u1', to: '3.0.16-1~deb12u1' },
    { name: 'openssl', from: '3.0.15-1~deb12u1', to: '3.0.16-1~deb12u1' },
  ]);
  assert.deepEqual(d.downgraded, [{ name: 'tzdata', from: '2025a-1', to: '2024b-0+deb12u1' }]);
  assert.deepEqual(d.files, { added: ['/etc/new'], removed: ['/etc/old'], changed: ['/etc/app.conf'] });
  const back = diffBuilds({ packages: { jq: '1.6-2.1', curl: '1' } }, { packages: { curl: '1' } });
  assert.deepEqual(back.removed, [{ name: 'jq', version: '1.6-2.1' }]);
});

test('the reason for an update names the changes, upgrades first, and stays short', () => {
  const d = diffBuilds(
    { packages: { openssl: '3.0.15-1~deb12u1', gone: '1' } },
    { packages: { openssl: '3.0.16-1~deb12u1', jq: '1.6-2.1' } },
  );
  assert.equal(reasonFromDiff(d), 'Package updates: openssl 3.0.15-1~deb12u1 → 3.0.16-1~deb12u1, +jq 1.6-2.1, -gone');

  const many: Record<string, string> = {};
  const newer: Record<string, string> = {};
  for (let i = 0; i < 60; i++) {
    many[`libpackage${i}`] = `1.${i}-1`;
    newer[`libpackage${i}`] = `1.${i}-2`;
  }
  const long = reasonFromDiff(diffBuilds({ packages: many }, { packages: newer }));
  assert.ok(long.length <= REASON_MAX, `${long.length} characters`);
  assert.match(long, /^Package updates: libpackage0 1\.0-1 → 1\.0-2, /);
  const left = Number(/… and (\d+) more$/.exec(long)?.[1]);
  const shown = long.split(', ').length - 1;
  assert.equal(shown + left, 60, 'what is shown and what is counted add up to every change');
  assert.equal(reasonFromDiff(diffBuilds({ packages: many }, { packages: many })), '');
});

test("a spec's own reasonForUpdate wins; the stock one gives way to the diff", () => {
  const last = { openssl: '3.0.15-1~deb12u1' };
  const now = { openssl: '3.0.16-1~deb12u1' };
  assert.equal(reasonForUpdate('nginx 1.27, security fixes', last, now), 'nginx 1.27, security fixes');
  assert.equal(
    reasonForUpdate(STOCK_REASON_FOR_UPDATE, last, now),
    'Package updates: openssl 3.0.15-1~deb12u1 → 3.0.16-1~deb12u1',
  );
  assert.equal(reasonForUpdate(STOCK_REASON_FOR_UPDATE, undefined, now), STOCK_REASON_FOR_UPDATE, 'nothing to compare');
  assert.equal(reasonForUpdate(STOCK_REASON_FOR_UPDATE, now, now), STOCK_REASON_FOR_UPDATE, 'nothing changed');
});

test('SBOM store keys are named by the snapshot', () => {
  assert.deepEqual(sbomKeys('web-20261204T091000Z'), {
    cyclonedx: 'sbom/web-20261204T091000Z.cdx.json',
    spdx: 'sbom/web-20261204T091000Z.spdx.json',
    inventory: 'sbom/web-20261204T091000Z.inventory.json',
  });
});
