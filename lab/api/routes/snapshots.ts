/** /v2/snapshots: droplet snapshots (the lab has no volumes), with string ids as DigitalOcean sends them. */
import { numericId, type LabContext } from '../context';
import { notFound } from '../errors';
import { json, noContent } from '../http';
import type { ImageRecord } from '../model';
import { paginate } from '../pagination';
import type { Router } from '../router';
import { snapshotView } from '../views';

export function registerSnapshots(router: Router, ctx: LabContext): void {
  const { state, machines } = ctx;

  const snapshot = (id: string | undefined): ImageRecord => {
    const img = state.images.get(numericId(id) ?? -1);
    if (!img) throw notFound();
    return img;
  };

  router.get('/v2/snapshots', (req) => {
    const all = req.query.get('resource_type') === 'volume' ? [] : [...state.images.values()];
    const page = paginate(req, all);
    return json(200, { snapshots: page.items.map((i) => snapshotView(state, i)), links: page.links, meta: page.meta });
  });

  router.get('/v2/snapshots/:id', (req) => json(200, { snapshot: snapshotView(state, snapshot(req.params.id)) }));

  router.delete('/v2/snapshots/:id', (req) => {
    machines.deleteImage(snapshot(req.params.id));
    return noContent;
  });
}
