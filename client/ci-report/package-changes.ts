/**
 * The package changes since the family's last successful build, for the CI summary: the earlier
 * build is found in Temporal's visibility (its BuildName and BuildStatus), both bills of materials
 * are read from the build store, and `client diff`'s own logic compares them.
 */
import type { Client } from '@temporalio/client';
import { storeFromEnv } from '../../context/store-config';
import type { BuildManifest } from '../../contract/build';
import { diffBuilds, diffSide } from '../../contract/bill-of-materials';
import type { BuildDiff, SbomInventory } from '../../contract/bill-of-materials';

export type PackageChanges = { from: string; diff: BuildDiff } | { none: string };

/** How many earlier builds of the family to look through for one with a bill of materials. */
const LOOK_BACK = 20;

export async function packageChanges(client: Client, manifest: BuildManifest | undefined): Promise<PackageChanges> {
  if (!manifest?.sbom) return { none: 'this build has no bill of materials' };
  // Family names are checked by the spec's rules; anything else could not go in a query safely.
  if (!/^[A-Za-z0-9._-]+$/.test(manifest.name)) return { none: 'no earlier build' };
  const store = storeFromEnv();
  const mine = await readInventory(store, manifest.sbom.keys.inventory);
  if (!mine) return { none: `${manifest.sbom.keys.inventory} is not in the build store` };
  const self = await client.workflow.getHandle(manifest.buildId).describe();
  const query = [
    `WorkflowType = 'buildImage'`,
    `BuildName = '${manifest.name}'`,
    `BuildStatus = 'succeeded'`,
    `StartTime < '${self.startTime.toISOString()}'`,
  ].join(' AND ');
  const earlier: { id: string; started: number }[] = [];
  for await (const w of client.workflow.list({ query })) {
    if (w.workflowId !== manifest.buildId) earlier.push({ id: w.workflowId, started: w.startTime.getTime() });
    if (earlier.length >= LOOK_BACK) break;
  }
  earlier.sort((a, b) => b.started - a.started);
  for (const e of earlier) {
    const before = (await client.workflow
      .getHandle(e.id)
      .result()
      .catch(() => undefined)) as BuildManifest | undefined;
    const inventory = before?.sbom ? await readInventory(store, before.sbom.keys.inventory) : undefined;
    if (inventory) return { from: e.id, diff: diffBuilds(diffSide(inventory), diffSide(mine)) };
  }
  return { none: 'no earlier build' };
}

async function readInventory(store: ReturnType<typeof storeFromEnv>, key: string): Promise<SbomInventory | undefined> {
  const raw = await store.get(key);
  return raw ? (JSON.parse(raw.toString()) as SbomInventory) : undefined;
}
