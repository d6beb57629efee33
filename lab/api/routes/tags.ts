/** /v2/tags: create (idempotent), get, list, delete, and (un)tag droplets and images. */
import { z } from 'zod';
import { numericId, type LabContext } from '../context';
import { notFound, unprocessable } from '../errors';
import { json, noContent } from '../http';
import { paginate } from '../pagination';
import type { Router } from '../router';
import { parseBody } from '../validate';
import { tagView } from '../views';

export const TAG_NAME_RE = /^[a-zA-Z0-9_:-]{1,255}$/;

const createTag = z.object({
  name: z
    .string({ error: 'name is required' })
    .regex(TAG_NAME_RE, 'Tag names may contain letters, numbers, colons, dashes and underscores'),
});
const resources = z.object({
  resources: z
    .array(
      z.object({
        resource_id: z.union([z.string(), z.number()]),
        resource_type: z.enum(['droplet', 'image', 'volume', 'volume_snapshot']),
      }),
    )
    .min(1, 'resources must not be empty'),
});

export function registerTags(router: Router, ctx: LabContext): void {
  const { state } = ctx;

  const tag = (name: string | undefined) => {
    const t = name !== undefined ? state.tags.get(name) : undefined;
    if (!t) throw notFound();
    return t;
  };

  router.post('/v2/tags', (req) => {
    const body = parseBody(createTag, req.body);
    return json(201, { tag: tagView(state.ensureTag(body.name)) });
  });

  router.get('/v2/tags', (req) => {
    const page = paginate(req, [...state.tags.values()]);
    return json(200, { tags: page.items.map(tagView), links: page.links, meta: page.meta });
  });

  router.get('/v2/tags/:tag', (req) => json(200, { tag: tagView(tag(req.params.tag)) }));

  router.delete('/v2/tags/:tag', (req) => {
    state.tags.delete(tag(req.params.tag).name);
    return noContent;
  });

  router.post('/v2/tags/:tag/resources', (req) => {
    const t = tag(req.params.tag);
    const body = parseBody(resources, req.body);
    // Check all first: a request either tags everything or nothing.
    const targets = body.resources.map((r) => {
      const id = numericId(String(r.resource_id));
      if (r.resource_type === 'droplet' && id !== undefined && state.droplets.has(id))
        return { kind: 'droplet' as const, id };
      if (r.resource_type === 'image' && id !== undefined && state.images.has(id))
        return { kind: 'image' as const, id };
      throw unprocessable(`${r.resource_type} ${String(r.resource_id)} not found`);
    });
    for (const x of targets) state.tag(t, x.kind, x.id, `/v2/${x.kind}s/${x.id}`);
    return noContent;
  });

  router.delete('/v2/tags/:tag/resources', (req) => {
    const t = tag(req.params.tag);
    const body = parseBody(resources, req.body);
    for (const r of body.resources) {
      const id = numericId(String(r.resource_id));
      if (id === undefined) continue;
      if (r.resource_type === 'droplet') t.droplets.delete(id);
      if (r.resource_type === 'image') t.images.delete(id);
    }
    return noContent;
  });
}
