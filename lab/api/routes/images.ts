/** /v2/images: distribution images and snapshots by id or slug; transfer to another region. */
import { z } from 'zod';
import { distributionImages, findImage, numericId, type LabContext } from '../context';
import { notFound, unprocessable } from '../errors';
import { json, noContent } from '../http';
import type { ImageRecord } from '../model';
import { paginate } from '../pagination';
import type { Router } from '../router';
import { region as findRegion } from '../catalogue';
import { parseBody } from '../validate';
import { actionView, imageView } from '../views';

const imageAction = z.object({ type: z.string({ error: 'type is required' }), region: z.string().optional() });

export function registerImages(router: Router, ctx: LabContext): void {
  const { state, machines, faults } = ctx;

  const image = async (idOrSlug: string | undefined): Promise<ImageRecord> => {
    const img = idOrSlug !== undefined ? await findImage(ctx, idOrSlug) : undefined;
    if (!img) throw notFound();
    return img;
  };
  const snapshot = (id: string | undefined): ImageRecord => {
    const img = state.images.get(numericId(id) ?? -1);
    if (!img) throw notFound();
    return img;
  };

  router.get('/v2/images', async (req) => {
    const type = req.query.get('type');
    const privateOnly = req.query.get('private') === 'true';
    const tag = req.query.get('tag_name');
    let all = [...(await distributionImages(ctx)), ...state.images.values()];
    if (type === 'distribution') all = all.filter((i) => i.type === 'base');
    if (type === 'application') all = [];
    if (privateOnly) all = all.filter((i) => !i.public);
    if (tag !== null) all = all.filter((i) => state.tagsOf('image', i.id).includes(tag));
    const page = paginate(req, all);
    return json(200, { images: page.items.map((i) => imageView(state, i)), links: page.links, meta: page.meta });
  });

  router.get('/v2/images/:id', async (req) => json(200, { image: imageView(state, await image(req.params.id)) }));

  router.delete('/v2/images/:id', (req) => {
    machines.deleteImage(snapshot(req.params.id));
    return noContent;
  });

  router.post('/v2/images/:id/actions', (req) => {
    const img = snapshot(req.params.id);
    const body = parseBody(imageAction, req.body);
    if (body.type !== 'transfer') throw unprocessable(`The lab does not support the ${body.type} image action.`);
    if (!body.region || !findRegion(body.region))
      throw unprocessable('You specified an invalid region for the transfer.');
    const errored = faults.erroredAction('transfer', req.method, req.path) !== undefined;
    return json(201, { action: actionView(machines.transfer(img, body.region, { errored })) });
  });

  router.get('/v2/images/:id/actions', (req) => {
    const img = snapshot(req.params.id);
    const all = [...state.actions.values()].filter((a) => a.resourceType === 'image' && a.resourceId === img.id);
    const page = paginate(req, all);
    return json(200, { actions: page.items.map(actionView), links: page.links, meta: page.meta });
  });

  router.get('/v2/images/:id/actions/:actionId', (req) => {
    const img = snapshot(req.params.id);
    const a = state.actions.get(numericId(req.params.actionId) ?? -1);
    if (!a || a.resourceType !== 'image' || a.resourceId !== img.id) throw notFound();
    return json(200, { action: actionView(a) });
  });
}
