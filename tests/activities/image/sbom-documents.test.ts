/**
 * The sbom step's worker half: the droplet's output parsed, package URLs, the CycloneDX document
 * checked against the official 1.6 schema (the library's validator, ajv) and the SPDX document
 * against the official SPDX 2.3 schema (ajv).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import {
  cycloneDxJson,
  debPurl,
  parseSbomOutput,
  sbomCommand,
  spdxJson,
} from '../../../activities/image/sbom-documents';
import { spdxValidator } from '../../support/spdx-schema';

const SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';
const OUTPUT = [
  'os\tdebian\t12\tDebian GNU/Linux 12 (bookworm)',
  'pkg\tnginx\t1.22.1-9\tamd64\tnginx\t1.22.1-9',
  'pkg\tlibssl3\t3.0.16-1~deb12u1\tamd64\topenssl\t3.0.16-1~deb12u1',
  'pkg\tlibc6\t2.36-9+deb12u4\tamd64\tglibc\t2.36-9+deb12u4',
  'pkg\tlibc6\t2.36-9+deb12u4\ti386\tglibc\t2.36-9+deb12u4',
  'pkg\ttzdata\t2024b-0+deb12u1\tall\t\t',
  'lic\tnginx\tBSD-2-clause',
  'lic\tlibssl3\tApache-2.0',
  'lic\tlibssl3\tApache-2.0',
  'lic\tlibc6\tLGPL-2.1+',
  'lic\tlibc6\tGPL-2+ or Artistic',
  'lic\tnot-installed\tMIT',
  `file\tupload\t/etc/app/app.conf\t644\t${SHA256}\t${SHA1}`,
  `file\tfirst-boot\t/var/lib/cloud/scripts/per-instance/001_onboot\t755\t${SHA256}\t${SHA1}`,
  'missing\tupload\t/etc/app/removed-by-a-script',
  '',
].join('\n');

test('the droplet output becomes packages with sources and licences, and placed files', () => {
  const inv = parseSbomOutput(OUTPUT);
  assert.deepEqual(inv.os, { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' });
  assert.deepEqual(
    inv.packages.map((p) => `${p.name}:${p.arch}`),
    ['libc6:amd64', 'libc6:i386', 'libssl3:amd64', 'nginx:amd64', 'tzdata:all'],
  );
  const ssl = inv.packages.find((p) => p.name === 'libssl3')!;
  assert.deepEqual(ssl, {
    name: 'libssl3',
    version: '3.0.16-1~deb12u1',
    arch: 'amd64',
    source: 'openssl',
    sourceVersion: '3.0.16-1~deb12u1',
    licenses: ['Apache-2.0'],
  });
  const tz = inv.packages.find((p) => p.name === 'tzdata')!;
  assert.equal(tz.source, 'tzdata', 'no source field: the package is its own source');
  assert.deepEqual(tz.licenses, [], 'no machine-readable copyright: no licence claimed');
  assert.deepEqual(inv.packages.find((p) => p.name === 'libc6')!.licenses, ['GPL-2+ or Artistic', 'LGPL-2.1+']);
  assert.equal(inv.files.length, 2);
  assert.deepEqual(inv.files[0], {
    role: 'upload',
    path: '/etc/app/app.conf',
    mode: '644',
    sha256: SHA256,
    sha1: SHA1,
  });
  assert.deepEqual(inv.missing, ['/etc/app/removed-by-a-script']);
});

test('package URLs follow the purl deb type', () => {
  const os = { id: 'debian', versionId: '12', prettyName: '' };
  assert.equal(
    debPurl({ name: 'nginx', version: '1.22.1-9', arch: 'amd64' }, os),
    'pkg:deb/debian/nginx@1.22.1-9?arch=amd64&distro=debian-12',
  );
  assert.equal(
    debPurl({ name: 'libc6', version: '1:2.36-9+deb12u4', arch: 'i386' }, os),
    'pkg:deb/debian/libc6@1:2.36-9+deb12u4?arch=i386&distro=debian-12',
  );
});

test('the file listing quotes paths for the shell', () => {
  const cmd = sbomCommand([{ path: "/etc/it's here.conf", role: 'upload' }]);
  assert.match(cmd, /f upload '\/etc\/it'\\''s here\.conf'/);
});

test('the CycloneDX document is valid CycloneDX 1.6 and lists every package and file', async () => {
  const inv = parseSbomOutput(OUTPUT);
  const meta = {
    name: 'web',
    buildId: 'build-1',
    snapshotName: 'web-20261204T091000Z',
    timestamp: '2026-12-04T09:10:00.000Z',
  };
  const json = cycloneDxJson(inv, meta);
  const errors = await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(json);
  assert.equal(errors, null, JSON.stringify(errors));
  const doc = JSON.parse(json) as {
    specVersion: string;
    metadata: { component: { name: string; version: string } };
    components: {
      type: string;
      name: string;
      version?: string;
      purl?: string;
      hashes?: { alg: string; content: string }[];
      licenses?: unknown[];
    }[];
  };
  assert.equal(doc.specVersion, '1.6');
  assert.equal(doc.metadata.component.version, meta.snapshotName);
  const libs = doc.components.filter((c) => c.type === 'library');
  assert.equal(libs.length, 5);
  assert.ok(libs.some((c) => c.purl === 'pkg:deb/debian/libc6@2.36-9+deb12u4?arch=i386&distro=debian-12'));
  assert.deepEqual(libs.find((c) => c.name === 'nginx')!.licenses, [{ license: { name: 'BSD-2-clause' } }]);
  assert.deepEqual(libs.find((c) => c.name === 'libssl3')!.licenses, [{ license: { id: 'Apache-2.0' } }]);
  const files = doc.components.filter((c) => c.type === 'file');
  assert.deepEqual(
    files.map((f) => [f.name, f.hashes?.[0]?.content]),
    [
      ['/etc/app/app.conf', SHA256],
      ['/var/lib/cloud/scripts/per-instance/001_onboot', SHA256],
    ],
  );
  assert.equal(cycloneDxJson(inv, meta), json, 'the same inventory makes the same document');

  // The validator does reject a broken document (so the check above means something).
  const broken = JSON.parse(json) as { components: { type: string }[] };
  broken.components[0]!.type = 'not-a-type';
  assert.notEqual(await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(JSON.stringify(broken)), null);
});

test('the SPDX document is valid SPDX 2.3 with one package per Debian package and SHA-1 and SHA-256 per file', () => {
  const inv = parseSbomOutput(OUTPUT);
  const json = spdxJson(inv, {
    name: 'web',
    buildId: 'b',
    snapshotName: 'web-1',
    timestamp: '2026-12-04T09:10:00.000Z',
  });
  const validate = spdxValidator();
  assert.equal(validate(JSON.parse(json)), null);
  const doc = JSON.parse(json) as {
    spdxVersion: string;
    creationInfo: { created: string };
    packages: {
      SPDXID: string;
      name: string;
      licenseDeclared: string;
      licenseComments?: string;
      externalRefs?: { referenceLocator: string }[];
    }[];
    files: { fileName: string; checksums: { algorithm: string }[] }[];
    relationships: unknown[];
  };
  assert.equal(doc.spdxVersion, 'SPDX-2.3');
  assert.equal(doc.creationInfo.created, '2026-12-04T09:10:00Z');
  assert.equal(doc.packages.length, 1 + 5);
  assert.equal(new Set(doc.packages.map((p) => p.SPDXID)).size, 6, 'SPDX ids are unique (libc6 twice, two arches)');
  assert.equal(
    doc.packages[1]!.externalRefs![0]!.referenceLocator,
    'pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64&distro=debian-12',
  );
  assert.deepEqual(
    doc.files[0]!.checksums.map((c) => c.algorithm),
    ['SHA256', 'SHA1'],
  );
  assert.equal(doc.relationships.length, 1 + 5 + 2);

  // A DEP-5 name that is an SPDX id is the declared licence; any other is stated in the comment only.
  const declared = (name: string) => doc.packages.find((p) => p.name === name)!;
  assert.equal(declared('libssl3').licenseDeclared, 'Apache-2.0');
  assert.equal(declared('nginx').licenseDeclared, 'NOASSERTION');
  assert.equal(declared('nginx').licenseComments, 'DEP-5 License: BSD-2-clause');
  assert.equal(declared('libc6').licenseDeclared, 'NOASSERTION', 'LGPL-2.1+ is an SPDX id, GPL-2+ or Artistic is not');
  assert.equal(declared('tzdata').licenseDeclared, 'NOASSERTION');
  const both = JSON.parse(
    spdxJson(
      {
        os: inv.os,
        packages: [{ ...inv.packages[0]!, licenses: ['Apache-2.0', 'MIT'] }],
        files: [],
      },
      { name: 'web', buildId: 'b', snapshotName: 'web-1', timestamp: '2026-12-04T09:10:00.000Z' },
    ),
  ) as { packages: { licenseDeclared: string }[] };
  assert.equal(both.packages[1]!.licenseDeclared, 'Apache-2.0 AND MIT', 'each License: field applies to some files');
  assert.equal(validate(both), null);
});

test('the SPDX schema check rejects a broken document and names what is wrong', () => {
  const validate = spdxValidator();
  const doc = JSON.parse(
    spdxJson(parseSbomOutput(OUTPUT), {
      name: 'web',
      buildId: 'b',
      snapshotName: 'web-1',
      timestamp: '2026-12-04T09:10:00.000Z',
    }),
  ) as { packages: Record<string, unknown>[] };
  delete doc.packages[1]!.downloadLocation;
  doc.packages[2]!.filesAnalyzed = 'no';
  const errors = validate(doc) ?? [];
  assert.ok(errors.includes("/packages/1 must have required property 'downloadLocation'"), errors.join('\n'));
  assert.ok(errors.includes('/packages/2/filesAnalyzed must be boolean'), errors.join('\n'));
});
