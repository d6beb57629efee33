/** /v2/regions and /v2/sizes: the lab's fixed catalogue. */
import { REGIONS, SIZES } from '../catalogue';
import { json } from '../http';
import { paginate } from '../pagination';
import type { Router } from '../router';
import { regionView, sizeView } from '../views';

export function registerCatalogue(router: Router): void {
  router.get('/v2/regions', (req) => {
    const page = paginate(req, [...REGIONS]);
    return json(200, { regions: page.items.map(regionView), links: page.links, meta: page.meta });
  });
  router.get('/v2/sizes', (req) => {
    const page = paginate(req, [...SIZES]);
    return json(200, { sizes: page.items.map(sizeView), links: page.links, meta: page.meta });
  });
}
