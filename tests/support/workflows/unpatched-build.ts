/** The build workflow with its behaviour changes applied without their patches: must not replay old histories. */
import { behaviourChanges, runBuild } from '../../../workflows/build';
import type { BuildInput, BuildManifest } from '../../../contract/build';

export async function buildImage(input: BuildInput): Promise<BuildManifest> {
  return runBuild(input, behaviourChanges(false));
}
