/**
 * An image's bill of materials as the build records it (the raw inventory the sbom step reads on
 * the build droplet), where it is kept in the build store, and what changed between two builds.
 * Plain data and pure functions: the workflow builds the default reasonForUpdate with them.
 */
import type { StepContext } from './steps';
import type { UploadStep } from './plan';

export interface SbomPackage {
  name: string;
  version: string;
  arch: string;
  /** The source package (dpkg's source:Package) and its version. */
  source: string;
  sourceVersion: string;
  /** DEP-5 `License:` short names from /usr/share/doc/<name>/copyright; empty when it is not machine-readable. */
  licenses: string[];
}

export interface SbomFile {
  path: string;
  /** Octal permission bits, e.g. "644". */
  mode: string;
  sha256: string;
  /** For SPDX, which asks every file for one. */
  sha1?: string;
  role: 'upload' | 'first-boot' | 'first-login';
}

/** What the sbom step read on the build droplet: no env values, no secrets, only names, versions and digests. */
export interface SbomInventory {
  os: { id: string; versionId: string; prettyName: string };
  packages: SbomPackage[];
  files: SbomFile[];
}

export interface SbomInput extends StepContext {
  name: string;
  buildId: string;
  snapshotName: string;
  vendor: string;
  uploads: UploadStep[];
  firstBoot: string[];
  firstLogin?: string;
}

/** The manifest keeps this summary; the documents themselves live in the build store. */
export interface SbomSummary {
  packages: number;
  /** Packages whose copyright file names a licence in machine-readable (DEP-5) form. */
  licensed: number;
  files: number;
  keys: { cyclonedx: string; spdx: string; inventory: string };
}

export type SbomFormat = 'cyclonedx' | 'spdx';

/** Where a build's SBOM lives in the build store, named by its snapshot. */
export function sbomKeys(snapshotName: string, run?: string): SbomSummary['keys'] {
  // Builds started in the same second share a snapshot name: the run keeps their documents apart.
  const safe = `${snapshotName}${run ? `.${run}` : ''}`.replace(/[^A-Za-z0-9._-]/g, '_');
  return {
    cyclonedx: `sbom/${safe}.cdx.json`,
    spdx: `sbom/${safe}.spdx.json`,
    inventory: `sbom/${safe}.inventory.json`,
  };
}

export interface PackageChange {
  name: string;
  from: string;
  to: string;
}

export interface BuildDiff {
  added: { name: string; version: string }[];
  removed: { name: string; version: string }[];
  upgraded: PackageChange[];
  downgraded: PackageChange[];
  files: { added: string[]; removed: string[]; changed: string[] };
}

/** Package name → version, and file path → "mode sha256": the two sides of a diff. */
export interface DiffSide {
  packages: Record<string, string>;
  files?: Record<string, string>;
}

export function diffSide(inv: SbomInventory): DiffSide {
  return {
    packages: Object.fromEntries(inv.packages.map((p) => [p.name, p.version])),
    files: Object.fromEntries(inv.files.map((f) => [f.path, `${f.mode} ${f.sha256}`])),
  };
}

/** What changed from build A (older) to build B (newer): packages by Debian version order, files by mode and digest. */
export function diffBuilds(a: DiffSide, b: DiffSide): BuildDiff {
  const d: BuildDiff = {
    added: [],
    removed: [],
    upgraded: [],
    downgraded: [],
    files: { added: [], removed: [], changed: [] },
  };
  for (const name of Object.keys(b.packages).sort()) {
    const to = b.packages[name]!;
    const from = a.packages[name];
    if (from === undefined) d.added.push({ name, version: to });
    else if (from !== to) (compareDebianVersions(from, to) < 0 ? d.upgraded : d.downgraded).push({ name, from, to });
  }
  for (const name of Object.keys(a.packages).sort())
    if (b.packages[name] === undefined) d.removed.push({ name, version: a.packages[name]! });
  const fa = a.files ?? {};
  const fb = b.files ?? {};
  for (const p of Object.keys(fb).sort()) {
    if (fa[p] === undefined) d.files.added.push(p);
    else if (fa[p] !== fb[p]) d.files.changed.push(p);
  }
  for (const p of Object.keys(fa).sort()) if (fb[p] === undefined) d.files.removed.push(p);
  return d;
}

/** A diff as titled lists of lines ("upgraded", "added", …), in the order every report shows them. */
export function diffGroups(d: BuildDiff): [title: string, items: string[]][] {
  return [
    ['upgraded', d.upgraded.map((c) => `${c.name} ${c.from} → ${c.to}`)],
    ['downgraded', d.downgraded.map((c) => `${c.name} ${c.from} → ${c.to}`)],
    ['added', d.added.map((p) => `${p.name} ${p.version}`)],
    ['removed', d.removed.map((p) => `${p.name} ${p.version}`)],
    ['files added', d.files.added],
    ['files changed', d.files.changed],
    ['files removed', d.files.removed],
  ];
}

export function isEmptyDiff(d: BuildDiff): boolean {
  return (
    d.added.length + d.removed.length + d.upgraded.length + d.downgraded.length === 0 &&
    d.files.added.length + d.files.removed.length + d.files.changed.length === 0
  );
}

/** The Vendor API's reasonForUpdate is shown to customers: keep it to a line. */
export const REASON_MAX = 280;

/**
 * The default reasonForUpdate of a scheduled rebuild: the package changes since the last published
 * image, upgrades first, trimmed to `max` characters with a count of what was left out.
 */
export function reasonFromDiff(d: BuildDiff, max = REASON_MAX): string {
  const parts: string[] = [
    ...d.upgraded.map((c) => `${c.name} ${c.from} → ${c.to}`),
    ...d.downgraded.map((c) => `${c.name} ${c.from} → ${c.to}`),
    ...d.added.map((p) => `+${p.name} ${p.version}`),
    ...d.removed.map((p) => `-${p.name}`),
  ];
  if (parts.length === 0) return '';
  const head = 'Package updates: ';
  let text = head;
  for (const [i, part] of parts.entries()) {
    const sep = i === 0 ? '' : ', ';
    const left = parts.length - i - 1;
    const tail = left > 0 ? `, … and ${left} more` : '';
    if ((text + sep + part + tail).length > max) {
      const rest = parts.length - i;
      return i === 0 ? `${head}${parts.length} packages changed` : `${text}, … and ${rest} more`;
    }
    text += sep + part;
  }
  return text;
}

/** The spec's reasonForUpdate when it states none (spec/schema.ts): a scheduled rebuild says what changed instead. */
export const STOCK_REASON_FOR_UPDATE = 'Rebuilt with the latest security updates';

/**
 * The reasonForUpdate to publish: the spec's own when it states one; otherwise, for a rebuild with a
 * previously published image, the package changes since it; otherwise the stock sentence.
 */
export function reasonForUpdate(
  specReason: string | undefined,
  lastPublished: Record<string, string> | undefined,
  packages: Record<string, string>,
): string | undefined {
  // Builds started before reasons became optional carry the stock sentence: it counts as "not set".
  const own = specReason === STOCK_REASON_FOR_UPDATE ? undefined : specReason;
  if (own !== undefined || !lastPublished) return specReason;
  return reasonFromDiff(diffBuilds({ packages: lastPublished }, { packages })) || specReason;
}

/** dpkg's version order (deb-version(7)): epoch, then upstream and revision compared by lexical-then-numeric runs. */
export function compareDebianVersions(a: string, b: string): number {
  const split = (v: string) => {
    const colon = v.indexOf(':');
    const epoch = colon > 0 ? Number(v.slice(0, colon)) : 0;
    const rest = colon > 0 ? v.slice(colon + 1) : v;
    const dash = rest.lastIndexOf('-');
    return { epoch, upstream: dash >= 0 ? rest.slice(0, dash) : rest, revision: dash >= 0 ? rest.slice(dash + 1) : '' };
  };
  const x = split(a);
  const y = split(b);
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  return compareFragment(x.upstream, y.upstream) || compareFragment(x.revision, y.revision);
}

function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[0-9]/.test(c)) return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let first = 0;
    while ((i < a.length && !/[0-9]/.test(a[i]!)) || (j < b.length && !/[0-9]/.test(b[j]!))) {
      const ac = i < a.length && !/[0-9]/.test(a[i]!) ? order(a[i]) : 0;
      const bc = j < b.length && !/[0-9]/.test(b[j]!) ? order(b[j]) : 0;
      if (ac !== bc) return ac < bc ? -1 : 1;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (i < a.length && /[0-9]/.test(a[i]!) && j < b.length && /[0-9]/.test(b[j]!)) {
      if (!first) first = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && /[0-9]/.test(a[i]!)) return 1;
    if (j < b.length && /[0-9]/.test(b[j]!)) return -1;
    if (first) return first < 0 ? -1 : 1;
  }
  return 0;
}
