/** `client sbom | diff`: an image's bill of materials, and what changed between two builds. */
import { promises as fs } from 'node:fs';
import type { Command } from 'commander';
import { storeFromEnv } from '../../context/store-config';
import type { BuildManifest } from '../../contract/build';
import { diffBuilds, diffGroups, diffSide, isEmptyDiff } from '../../contract/bill-of-materials';
import type { BuildDiff, SbomFormat, SbomInventory, SbomSummary } from '../../contract/bill-of-materials';
import { UserError } from '../../contract/user-error';
import { openBuild } from '../build-handle';
import { withConnectionFlags } from '../settings';
import type { ConnectionFlags } from '../settings';

interface SbomFlags extends ConnectionFlags {
  format?: string;
  output?: string;
}

const FORMATS: SbomFormat[] = ['cyclonedx', 'spdx'];

export function registerSbomCommands(program: Command): void {
  withConnectionFlags(
    program
      .command('sbom')
      .description("an image's bill of materials: CycloneDX 1.6 JSON (default) or SPDX 2.3 JSON")
      .argument('<build>', 'build id')
      .option('--format <format>', `${FORMATS.join(' or ')}`, 'cyclonedx')
      .option('-o, --output <file>', 'write to this file instead of standard output'),
  ).action(async (buildId: string, flags: SbomFlags) => {
    const format = (flags.format ?? 'cyclonedx') as SbomFormat;
    if (!FORMATS.includes(format)) throw new UserError(`--format must be ${FORMATS.join(' or ')}, not "${format}"`, 2);
    const summary = await sbomOf(buildId, flags);
    const store = storeFromEnv();
    const doc = await store.get(summary.keys[format]);
    if (!doc) throw new UserError(`${summary.keys[format]} is not in the build store (${store.description})`);
    if (flags.output) {
      await fs.writeFile(flags.output, doc);
      console.error(`wrote ${flags.output}: ${summary.packages} packages, ${summary.files} files (${format})`);
    } else {
      // Wait until it is written: main exits right after the action, which would cut a piped document short.
      const text = doc.toString().endsWith('\n') ? doc : Buffer.concat([doc, Buffer.from('\n')]);
      await new Promise<void>((resolve, reject) => process.stdout.write(text, (e) => (e ? reject(e) : resolve())));
    }
  });
  withConnectionFlags(
    program
      .command('diff')
      .description('what changed from build A to build B: packages added, removed, upgraded; placed files changed')
      .argument('<build-a>', 'the older build')
      .argument('<build-b>', 'the newer build')
      .option('--json', 'print JSON'),
  ).action(async (a: string, b: string, flags: ConnectionFlags & { json?: boolean }) => {
    const [ia, ib] = [await inventoryOf(a, flags), await inventoryOf(b, flags)];
    const d = diffBuilds(diffSide(ia), diffSide(ib));
    if (flags.json) console.log(JSON.stringify({ from: a, to: b, ...d }, null, 2));
    else console.log(formatDiff(a, b, d));
  });
}

/** The diff as a person reads it: one line per change, grouped. */
export function formatDiff(a: string, b: string, d: BuildDiff): string {
  if (isEmptyDiff(d)) return `${a} → ${b}: nothing changed`;
  const lines = [`${a} → ${b}`];
  for (const [title, items] of diffGroups(d))
    if (items.length > 0) lines.push(`${title} (${items.length}):`, ...items.map((i) => `  ${i}`));
  return lines.join('\n');
}

async function sbomOf(buildId: string, flags: ConnectionFlags): Promise<SbomSummary> {
  const { handle } = await openBuild(buildId, flags);
  const desc = await handle.describe();
  if (desc.status.name !== 'COMPLETED')
    throw new UserError(
      `build ${buildId} is ${desc.status.name.toLowerCase()}: its bill of materials is kept when it succeeds`,
    );
  const manifest = (await handle.result()) as BuildManifest;
  if (!manifest.sbom)
    throw new UserError(
      `build ${buildId} has no bill of materials (a base build, a build that ended before its inventory, or one started before the sbom step existed)`,
    );
  return manifest.sbom;
}

async function inventoryOf(buildId: string, flags: ConnectionFlags): Promise<SbomInventory> {
  const summary = await sbomOf(buildId, flags);
  const store = storeFromEnv();
  const raw = await store.get(summary.keys.inventory);
  if (!raw) throw new UserError(`${summary.keys.inventory} is not in the build store (${store.description})`);
  return JSON.parse(raw.toString()) as SbomInventory;
}
