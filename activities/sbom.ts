/**
 * sbom: the image's bill of materials, read on the build droplet while SSH still works (every
 * installed package with its version, architecture, source and DEP-5 licences; every file the
 * spec placed, with mode and SHA-256), written to the build store as CycloneDX 1.6, SPDX 2.3 and
 * the raw inventory `client diff` compares. The manifest gets only a summary.
 */
import * as path from 'node:path';
import type { ActivityDeps } from './runtime/deps';
import { contextRoot } from './runtime/context-files';
import { runOnDroplet } from './remote/run-on-droplet';
import { PER_INSTANCE_DIR, firstBootName, firstLoginPath } from './image/first-boot';
import { planUpload } from './image/upload-plan';
import { cycloneDxJson, parseSbomOutput, sbomCommand, spdxJson } from './image/sbom-documents';
import type { FileToList } from './image/sbom-documents';
import { sbomKeys } from '../contract/bill-of-materials';
import type { SbomInput, SbomInventory, SbomSummary } from '../contract/bill-of-materials';
import { check, checked, refuseIf } from './runtime/input-checks';
import { ownBuild, type RunIdentity } from './runtime/run-identity';

export function sbom(deps: ActivityDeps) {
  return async (input: SbomInput): Promise<SbomSummary> => {
    checked(check.snapshotName, input.snapshotName, 'snapshotName');
    const me = ownBuild(input.buildId);
    const keys = sbomKeys(input.snapshotName, me.runTag.slice(-12));
    await refuseAnotherBuildsRecord(deps, keys.inventory, me);
    const files: FileToList[] = [];
    if (input.uploads.length > 0) {
      const root = await contextRoot(deps, input.contextDigest);
      for (const u of input.uploads) {
        const { base, entries } = await planUpload(root, u.src, u.dest, u.mode);
        for (const e of entries)
          if (e.type === 'file') files.push({ path: path.posix.join(base, e.name), role: 'upload' });
      }
    }
    input.firstBoot.forEach((src, i) =>
      files.push({ path: `${PER_INSTANCE_DIR}/${firstBootName(i, src)}`, role: 'first-boot' }),
    );
    if (input.firstLogin) files.push({ path: firstLoginPath(input.vendor), role: 'first-login' });

    const r = await runOnDroplet(
      deps,
      input.droplet,
      input.step,
      'list packages, licences and placed files',
      sbomCommand(files),
      {
        capture: true,
      },
    );
    const { missing, ...inventory } = parseSbomOutput(r.output);
    // A later script may remove an uploaded file; the SBOM lists what the image holds.
    void missing;
    const meta = {
      name: input.name,
      buildId: input.buildId,
      snapshotName: input.snapshotName,
      timestamp: new Date().toISOString(),
    };
    const record: SbomInventory & { buildId: string; run: string; snapshotName: string } = {
      buildId: me.buildId,
      run: me.runTag,
      snapshotName: input.snapshotName,
      ...inventory,
    };
    await deps.store.put(keys.inventory, Buffer.from(JSON.stringify(record, null, 2)));
    await deps.store.put(keys.cyclonedx, Buffer.from(cycloneDxJson(inventory, meta)));
    await deps.store.put(keys.spdx, Buffer.from(spdxJson(inventory, meta)));
    return {
      packages: inventory.packages.length,
      licensed: inventory.packages.filter((p) => p.licenses.length > 0).length,
      files: inventory.files.length,
      keys,
    };
  };
}

/** The documents are named by the snapshot name an input chose and the run: never over another build's (or run's). */
async function refuseAnotherBuildsRecord(deps: ActivityDeps, inventoryKey: string, me: RunIdentity): Promise<void> {
  const raw = await deps.store.get(inventoryKey);
  if (!raw) return;
  const owner = JSON.parse(raw.toString()) as { buildId?: string; run?: string };
  const mine = owner.buildId === me.buildId && (owner.run === undefined || owner.run === me.runTag);
  refuseIf(
    mine ? [] : [`${inventoryKey} already holds the bill of materials of another build: choose another snapshot name`],
  );
}
