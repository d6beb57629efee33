/**
 * decide-rebuild: a scheduled run's first step, before any droplet exists — resolve the spec's
 * base image slug to the image id DigitalOcean serves under it now, and compare it, the context
 * and the plan with the family's last build. Only reads (the API, the build store): safe to run
 * twice, and the run's own time comes from the workflow, so a retry decides the same.
 */
import type { ActivityDeps } from './runtime/deps';
import { check, checked } from './runtime/input-checks';
import { depsForInput } from './runtime/deps';
import { planDigest, readLastBuild } from './records/last-build';
import { getImage } from './droplets/images';
import { decideRebuild as decide } from '../contract/rebuild';
import type { RebuildDecision, RebuildInput } from '../contract/rebuild';

export function decideRebuild(workerDeps: ActivityDeps) {
  return async (input: RebuildInput): Promise<RebuildDecision> => {
    checked(check.name, input.family, 'family');
    const deps = depsForInput(workerDeps, { api: input.api });
    // From the workflow input: it goes into an API path, so it must look like a slug or an id.
    const image = checked(check.doSlug, input.plan.droplet.image, 'plan.droplet.image');
    const resolved = await getImage(deps, image, `resolve base image ${image}`);
    return decide({
      image,
      baseImageId: resolved.id,
      contextDigest: input.contextDigest,
      planDigest: planDigest(input.plan),
      at: input.at,
      ...(input.rebuildAfterMs !== undefined ? { rebuildAfterMs: input.rebuildAfterMs } : {}),
      last: await readLastBuild(deps, input.family),
    });
  };
}
