/**
 * /v2/droplets/{id}/actions: shutdown, power_off, power_on, snapshot. A droplet runs one action at
 * a time: posting another while it is locked gets DigitalOcean's 422 "pending event".
 */
import { z } from 'zod';
import { numericId, type LabContext } from '../context';
import { PENDING_EVENT, notFound, unprocessable } from '../errors';
import { json } from '../http';
import type { DropletRecord } from '../model';
import { paginate } from '../pagination';
import type { Router } from '../router';
import { parseBody } from '../validate';
import { actionView } from '../views';

const SUPPORTED = ['shutdown', 'power_off', 'power_on', 'snapshot'] as const;

const postAction = z.object({
  type: z.string({ error: 'type is required' }),
  name: z.string().min(1).optional(),
});

export function registerDropletActions(router: Router, ctx: LabContext): void {
  const { state, machines, faults } = ctx;

  const droplet = (id: string | undefined): DropletRecord => {
    const d = state.droplets.get(numericId(id) ?? -1);
    if (!d) throw notFound();
    return d;
  };

  router.post('/v2/droplets/:id/actions', (req) => {
    const d = droplet(req.params.id);
    const body = parseBody(postAction, req.body);
    if (!(SUPPORTED as readonly string[]).includes(body.type)) {
      throw unprocessable(`The lab does not support the ${body.type} action (it knows ${SUPPORTED.join(', ')}).`);
    }
    if (d.locked || d.status === 'new') throw unprocessable(PENDING_EVENT);
    const errored = faults.erroredAction(body.type, req.method, req.path) !== undefined;
    const action = machines.dropletAction(d, body.type, { ...(body.name ? { name: body.name } : {}), errored });
    return json(201, { action: actionView(action) });
  });

  router.get('/v2/droplets/:id/actions', (req) => {
    const d = droplet(req.params.id);
    const all = d.actionIds.map((id) => state.actions.get(id)).filter((a) => a !== undefined);
    const page = paginate(req, all);
    return json(200, { actions: page.items.map(actionView), links: page.links, meta: page.meta });
  });

  router.get('/v2/droplets/:id/actions/:actionId', (req) => {
    const d = droplet(req.params.id);
    const a = state.actions.get(numericId(req.params.actionId) ?? -1);
    if (!a || a.resourceType !== 'droplet' || a.resourceId !== d.id) throw notFound();
    return json(200, { action: actionView(a) });
  });
}
