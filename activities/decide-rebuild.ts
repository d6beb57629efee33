/**
 * decide-rebuild: a scheduled run's first step, before any droplet exists — resolve the spec's
 * base image slug to the image id DigitalOcean serves under it now, and compare it, the context
 * and the plan with the family's last build. Only reads (the API, the build store): safe to run
 * twice, and the run's own time comes from the workflow, so a retry decides the same.
 */
import type { ActivityDeps } from './runtime/deps';
import { check, checked } from './runtime/check-input';
import { depsForInput } from './runtime/deps';
import { planDigest, readLastBuild } from './records/last-build';
import { decideRebuild as decide } from '../contract/rebuild';
import type { RebuildDecision, RebuildInput } from '../contract/rebuild';

export function decideRebuild(workerDeps: ActivityDeps) {
  return async (input: RebuildInput): Promise<RebuildDecision> => {
    checked(check.name, input.family, 'family');
    const deps = depsForInput(workerDeps, { api: input.api });
    // From the workflow input: it goes into an API path, so it must look like a slug or an id.
    const image = checked(check.doSlug, input.plan.droplet.image, 'plan.droplet.image');
    const byId = /^\d+$/.test(image);
    const resolved = await deps.api.call(`resolve base image ${image}`, (c) =>
      c.image.getImage(byId ? { image_id: Number(image) } : { slug: image }),
    );
    return decide({
      image,
      baseImageId: resolved.data.image.id,
      contextDigest: input.contextDigest,
      planDigest: planDigest(input.plan),
      at: input.at,
      ...(input.rebuildAfterMs !== undefined ? { rebuildAfterMs: input.rebuildAfterMs } : {}),
      last: await readLastBuild(deps, input.family),
    });
  };
}
