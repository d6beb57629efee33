/** /v2/actions: every action, droplet or image, by id. */
import { numericId, type LabContext } from '../context';
import { notFound } from '../errors';
import { json } from '../http';
import { paginate } from '../pagination';
import type { Router } from '../router';
import { actionView } from '../views';

export function registerActions(router: Router, ctx: LabContext): void {
  router.get('/v2/actions', (req) => {
    const page = paginate(req, [...ctx.state.actions.values()]);
    return json(200, { actions: page.items.map(actionView), links: page.links, meta: page.meta });
  });
  router.get('/v2/actions/:id', (req) => {
    const a = ctx.state.actions.get(numericId(req.params.id) ?? -1);
    if (!a) throw notFound();
    return json(200, { action: actionView(a) });
  });
}
