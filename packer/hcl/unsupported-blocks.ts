/**
 * Blocks and attributes the importer does not translate: each is a problem at its file:line (so
 * --partial leaves a TODO), never silently dropped; a build's name and description only label the
 * build, and hcp_packer_registry's metadata is what the manifest and bill of materials record, so
 * they are notes.
 */
import type { JsonPath } from '../positions';
import type { Problem } from '../model';
import type { ScannedBlock } from './scan';

type Body = Record<string, unknown>;
type Register = (p: JsonPath, blocks: ScannedBlock[]) => void;

const TOP_LEVEL = new Set(['variable', 'locals', 'local', 'packer', 'source', 'build']);
const IN_BUILD = new Set(['sources', 'source', 'provisioner', 'post-processor', 'post-processors']);

const WHY: Record<string, string> = {
  data: 'a data source is read by Packer at build time (e.g. an image lookup); the spec has no data sources: put the value it gives in a variable',
  dynamic: 'a dynamic block generates blocks at build time; the importer cannot expand it: write each block out',
  'error-cleanup-provisioner':
    'runs only when the build fails; the spec has no on-failure step: remove it or move the cleanup into a script',
};

/** Labels of a hcl2json block value: { type: { name: [...] } } → ["type", "name"] per block. */
function labelled(v: unknown, depth: number): string[][] {
  if (depth === 0 || !v || typeof v !== 'object') return [[]];
  const items = Array.isArray(v) ? v : [v];
  return items.flatMap((x: Body) =>
    Object.entries(x).flatMap(([k, inner]) => labelled(inner, depth - 1).map((rest) => [k, ...rest])),
  );
}

const children = (scan: ScannedBlock | undefined, type: string, labels: string[]) =>
  scan?.blocks.filter((b) => b.type === type && labels.every((l, i) => b.labels[i] === l)) ?? [];

export function checkTopLevel(body: Body, scan: ScannedBlock | undefined, register: Register, problems: Problem[]) {
  for (const [key, v] of Object.entries(body)) {
    if (TOP_LEVEL.has(key)) continue;
    for (const labels of labelled(v, key === 'data' ? 2 : 0)) {
      const at = [[key, ...labels].join('.')];
      register(at, children(scan, key, labels));
      problems.push({
        path: at,
        message: `${key}${labels.map((l) => ` "${l}"`).join('')} cannot be converted: ${WHY[key] ?? 'the importer does not know this block'}`,
      });
    }
  }
}

export function checkBuild(
  body: Body,
  scan: ScannedBlock | undefined,
  register: Register,
  problems: Problem[],
  notes: string[],
) {
  for (const [key, v] of Object.entries(body)) {
    if (IN_BUILD.has(key)) continue;
    if (key === 'name' || key === 'description') {
      notes.push(`build.${key} (${JSON.stringify(v)}): dropped; it only labels the build in Packer's output`);
      continue;
    }
    if (key === 'hcp_packer_registry') {
      notes.push(
        "build.hcp_packer_registry: dropped; the tool publishes nothing to HCP Packer: each build's manifest " +
          '(`client status <build> --json`) and its bill of materials (CycloneDX and SPDX) record the base image, ' +
          'the packages and the build that made the snapshot',
      );
      continue;
    }
    const depth = key === 'dynamic' || key === 'error-cleanup-provisioner' ? 1 : 0;
    for (const labels of labelled(v, depth)) {
      const at: JsonPath = ['build', key, ...labels];
      const found = children(scan, key, labels);
      register(at, found.length > 0 ? found : scan ? [scan] : []);
      problems.push({
        path: at,
        message: `${key}${labels.map((l) => ` "${l}"`).join('')} in a build cannot be converted: ${WHY[key] ?? 'the importer does not know it'}`,
      });
    }
  }
}
