/**
 * An image's bill of materials: the one command that reads it on the build droplet, its parser,
 * and the two documents made from it — CycloneDX 1.6 with the CycloneDX project's own library
 * (@cyclonedx/cyclonedx-library), and SPDX 2.3 JSON.
 */
import { createHash } from 'node:crypto';
import { Enums, Models, Serialize, Spec, SPDX } from '@cyclonedx/cyclonedx-library';
import { PackageURL } from 'packageurl-js';
import type { SbomFile, SbomInventory, SbomPackage } from '../../contract/bill-of-materials';
import { shq } from '../remote/shell-quote';

export interface FileToList {
  path: string;
  role: SbomFile['role'];
}

/**
 * Prints `os`, one `pkg` line per installed package, one `lic` line per DEP-5 `License:` field of
 * a machine-readable copyright file, and one `file` (or `missing`) line per file to list.
 */
export function sbomCommand(files: FileToList[]): string {
  const lines = [
    `. /etc/os-release && printf 'os\\t%s\\t%s\\t%s\\n' "$ID" "$VERSION_ID" "$PRETTY_NAME"`,
    `dpkg-query -W -f '\${db:Status-Abbrev}\\t\${Package}\\t\${Version}\\t\${Architecture}\\t\${source:Package}\\t\${source:Version}\\n' | awk -F'\\t' '$1 ~ /^ii/ {print "pkg\\t" $2 "\\t" $3 "\\t" $4 "\\t" $5 "\\t" $6}'`,
    // DEP-5: the first line is a Format: field; each License: field's first line names a licence.
    `awk 'FNR==1 {ok = ($0 ~ /^Format:/); n = split(FILENAME, p, "/"); pkg = p[n-1]} ok && /^License:/ {sub(/^License:[ \\t]*/, ""); sub(/[ \\t\\r]+$/, ""); if ($0 != "") print "lic\\t" pkg "\\t" $0}' /usr/share/doc/*/copyright 2>/dev/null || true`,
    `f() { if [ -f "$2" ]; then printf 'file\\t%s\\t%s\\t%s\\t%s\\t%s\\n' "$1" "$2" "$(stat -c %a "$2")" "$(sha256sum < "$2" | cut -d' ' -f1)" "$(sha1sum < "$2" | cut -d' ' -f1)"; else printf 'missing\\t%s\\t%s\\n' "$1" "$2"; fi; }`,
    ...files.map((f) => `f ${f.role} ${shq(f.path)}`),
  ];
  return lines.join('\n');
}

/** Parses sbomCommand's output; `missing` lists files the spec placed that are gone from the image. */
export function parseSbomOutput(output: string): SbomInventory & { missing: string[] } {
  const inv: SbomInventory & { missing: string[] } = {
    os: { id: '', versionId: '', prettyName: '' },
    packages: [],
    files: [],
    missing: [],
  };
  const byName = new Map<string, SbomPackage>();
  const licences = new Map<string, Set<string>>();
  for (const line of output.split('\n')) {
    const f = line.replace(/\r$/, '').split('\t');
    switch (f[0]) {
      case 'os':
        inv.os = { id: f[1] ?? '', versionId: f[2] ?? '', prettyName: f[3] ?? '' };
        break;
      case 'pkg': {
        const [, name, version, arch, source, sourceVersion] = f;
        if (!name || !version) break;
        const pkg: SbomPackage = {
          name,
          version,
          arch: arch ?? '',
          source: source || name,
          sourceVersion: sourceVersion || version,
          licenses: [],
        };
        // A multi-arch package installed for two architectures is two packages.
        byName.set(`${name}:${pkg.arch}`, pkg);
        break;
      }
      case 'lic':
        if (f[1] && f[2]) {
          const set = licences.get(f[1]) ?? new Set<string>();
          set.add(f[2].trim());
          licences.set(f[1], set);
        }
        break;
      case 'file':
        if (f[2] && f[3] && f[4])
          inv.files.push({
            role: f[1] as SbomFile['role'],
            path: f[2],
            mode: f[3],
            sha256: f[4],
            ...(f[5] ? { sha1: f[5] } : {}),
          });
        break;
      case 'missing':
        if (f[2]) inv.missing.push(f[2]);
        break;
    }
  }
  for (const pkg of byName.values()) pkg.licenses = [...(licences.get(pkg.name) ?? [])].sort();
  inv.packages = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name) || a.arch.localeCompare(b.arch));
  return inv;
}

/** pkg:deb/debian/nginx@1.22.1-9?arch=amd64&distro=debian-12 (the purl spec's deb type). */
export function debPurl(pkg: Pick<SbomPackage, 'name' | 'version' | 'arch'>, os: SbomInventory['os']): string {
  const qualifiers: Record<string, string> = {};
  if (pkg.arch) qualifiers.arch = pkg.arch;
  if (os.id && os.versionId) qualifiers.distro = `${os.id}-${os.versionId}`;
  return new PackageURL('deb', os.id || 'debian', pkg.name, pkg.version, qualifiers, undefined).toString();
}

export interface SbomMeta {
  name: string;
  buildId: string;
  snapshotName: string;
  /** ISO time, so the same inventory always makes the same document. */
  timestamp: string;
}

function licenceOf(name: string): Models.DisjunctiveLicense {
  return SPDX.isSupportedSpdxId(name) ? new Models.SpdxLicense(name) : new Models.NamedLicense(name);
}

/**
 * SPDX's declared licence: the DEP-5 names when every one is an SPDX id (several License: fields
 * cover different files, so all of them apply), NOASSERTION when any is not or there is none.
 */
function declaredLicence(names: string[]): string {
  if (names.length === 0 || !names.every((n) => SPDX.isSupportedSpdxId(n))) return 'NOASSERTION';
  return names.join(' AND ');
}

/** The CycloneDX 1.6 JSON document: the image as the subject, its packages and placed files as components. */
export function cycloneDxJson(inv: SbomInventory, meta: SbomMeta): string {
  const bom = new Models.Bom();
  bom.serialNumber = `urn:uuid:${uuidFrom(`${meta.buildId}/${meta.snapshotName}`)}`;
  bom.metadata.timestamp = new Date(meta.timestamp);
  bom.metadata.component = new Models.Component(Enums.ComponentType.OperatingSystem, meta.name, {
    bomRef: `image:${meta.snapshotName}`,
    version: meta.snapshotName,
    description: inv.os.prettyName || undefined,
    properties: new Models.PropertyRepository([
      new Models.Property('image-forge:buildId', meta.buildId),
      new Models.Property('image-forge:os', `${inv.os.id} ${inv.os.versionId}`),
    ]),
  });
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, 'image-forge'));
  for (const p of inv.packages) {
    const purl = debPurl(p, inv.os);
    bom.components.add(
      new Models.Component(Enums.ComponentType.Library, p.name, {
        bomRef: purl,
        version: p.version,
        purl,
        licenses: new Models.LicenseRepository(p.licenses.map(licenceOf)),
        properties: new Models.PropertyRepository([
          new Models.Property('image-forge:deb:arch', p.arch),
          new Models.Property('image-forge:deb:source', `${p.source} ${p.sourceVersion}`),
        ]),
      }),
    );
  }
  for (const f of inv.files) {
    bom.components.add(
      new Models.Component(Enums.ComponentType.File, f.path, {
        bomRef: `file:${f.path}`,
        hashes: new Models.HashDictionary([[Enums.HashAlgorithm['SHA-256'], f.sha256]]),
        properties: new Models.PropertyRepository([
          new Models.Property('image-forge:file:mode', f.mode),
          new Models.Property('image-forge:file:role', f.role),
        ]),
      }),
    );
  }
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  return serializer.serialize(bom, { sortLists: true, space: 2 });
}

/** The SPDX 2.3 JSON document: one package per Debian package, one file per placed file. */
export function spdxJson(inv: SbomInventory, meta: SbomMeta): string {
  const id = (s: string) => s.replace(/[^A-Za-z0-9.-]/g, '-');
  const image = `SPDXRef-image-${id(meta.snapshotName)}`;
  const doc = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: meta.snapshotName,
    documentNamespace: `https://image-forge.invalid/spdx/${encodeURIComponent(meta.snapshotName)}-${uuidFrom(meta.buildId)}`,
    creationInfo: { created: meta.timestamp.replace(/\.\d+Z$/, 'Z'), creators: ['Tool: image-forge'] },
    packages: [
      {
        SPDXID: image,
        name: meta.name,
        versionInfo: meta.snapshotName,
        primaryPackagePurpose: 'OPERATING_SYSTEM',
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: 'NOASSERTION',
        copyrightText: 'NOASSERTION',
        comment: inv.os.prettyName,
      },
      ...inv.packages.map((p) => ({
        SPDXID: `SPDXRef-deb-${id(p.name)}-${id(p.arch)}`,
        name: p.name,
        versionInfo: p.version,
        sourceInfo: `built from Debian source package ${p.source} ${p.sourceVersion}`,
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: declaredLicence(p.licenses),
        // DEP-5 short names are not always SPDX identifiers: all of them, as written, in the comment.
        ...(p.licenses.length > 0 ? { licenseComments: `DEP-5 License: ${p.licenses.join('; ')}` } : {}),
        copyrightText: 'NOASSERTION',
        externalRefs: [
          { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: debPurl(p, inv.os) },
        ],
      })),
    ],
    files: inv.files.map((f) => ({
      SPDXID: `SPDXRef-file-${id(f.path)}`,
      fileName: `.${f.path}`,
      checksums: [
        { algorithm: 'SHA256', checksumValue: f.sha256 },
        // SPDX 2.3 asks every file for a SHA-1 too.
        ...(f.sha1 ? [{ algorithm: 'SHA1', checksumValue: f.sha1 }] : []),
      ],
      licenseConcluded: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      comment: `${f.role}, mode ${f.mode}`,
    })),
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: image },
      ...inv.packages.map((p) => ({
        spdxElementId: image,
        relationshipType: 'CONTAINS',
        relatedSpdxElement: `SPDXRef-deb-${id(p.name)}-${id(p.arch)}`,
      })),
      ...inv.files.map((f) => ({
        spdxElementId: image,
        relationshipType: 'CONTAINS',
        relatedSpdxElement: `SPDXRef-file-${id(f.path)}`,
      })),
    ],
  };
  return JSON.stringify(doc, null, 2);
}

/** A name-based UUID (v5 layout from SHA-1), so rebuilding a document from the same build gives the same serial. */
function uuidFrom(name: string): string {
  const h = createHash('sha1').update(`image-forge:${name}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
