/** /v2/droplets: create (202, `new`, booting in the background), get, list, delete, delete by tag, snapshots. */
import { z } from 'zod';
import { findImage, numericId, type LabContext } from '../context';
import { notFound, unprocessable } from '../errors';
import { json, noContent } from '../http';
import type { DropletRecord } from '../model';
import { paginate } from '../pagination';
import type { Router } from '../router';
import { REGIONS, region as findRegion, size as findSize } from '../catalogue';
import { now } from '../state';
import { parseBody } from '../validate';
import { dropletSnapshotView, dropletView } from '../views';
import { TAG_NAME_RE } from './tags';

/** Hostname rules (labels of at most 63 characters): the name becomes the droplet's hostname. */
const HOSTNAME_RE =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const USER_DATA_MAX = 64 * 1024;

const createDroplet = z.object({
  name: z
    .string({ error: 'Name is required' })
    .regex(HOSTNAME_RE, 'Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)'),
  region: z.string().optional(),
  size: z.string({ error: 'Size is required' }),
  image: z.union([z.string(), z.number().int()], { error: 'Image is required' }),
  ssh_keys: z.array(z.union([z.string(), z.number().int()])).optional(),
  tags: z
    .array(z.string().regex(TAG_NAME_RE, 'Tag names may contain letters, numbers, colons, dashes and underscores'))
    .nullable()
    .optional(),
  user_data: z.string().max(USER_DATA_MAX, 'user_data is limited to 64 KiB').optional(),
  monitoring: z.boolean().optional(),
  with_droplet_agent: z.boolean().optional(),
  backups: z.boolean().optional(),
  ipv6: z.boolean().optional(),
  private_networking: z.boolean().optional(),
  vpc_uuid: z.string().uuid("vpc_uuid must be a VPC's UUID").optional(),
  volumes: z.array(z.string()).optional(),
});

export function registerDroplets(router: Router, ctx: LabContext): void {
  const { state, machines } = ctx;

  const droplet = (id: string | undefined): DropletRecord => {
    const d = state.droplets.get(numericId(id) ?? -1);
    if (!d) throw notFound();
    return d;
  };
  const view = async (d: DropletRecord) => dropletView(state, d, await findImage(ctx, d.imageId));

  router.post('/v2/droplets', async (req) => {
    if (req.body && typeof req.body === 'object' && 'names' in req.body) {
      throw unprocessable('The lab creates one droplet per request: use "name"');
    }
    const body = parseBody(createDroplet, req.body);
    const regionSlug = body.region ?? REGIONS[0]!.slug;
    if (!findRegion(regionSlug)) throw unprocessable('You specified an invalid region for Droplet creation.');
    const size = findSize(body.size);
    if (!size) throw unprocessable('You specified an invalid size for Droplet creation.');
    const image = await findImage(ctx, body.image);
    if (!image) throw unprocessable('You specified an invalid image for Droplet creation.');
    if (image.retired) throw unprocessable('The image has been retired: create the Droplet from its slug.');
    if (!image.regions.includes(regionSlug)) throw unprocessable(`The image is not available in region ${regionSlug}.`);
    if (size.disk < image.minDiskSize)
      throw unprocessable(
        `The size ${size.slug} is too small for this image: it needs a disk of at least ${image.minDiskSize} GB.`,
      );
    const keys = (body.ssh_keys ?? []).map((k) => {
      const key = state.findKey(k);
      if (!key) throw unprocessable(`You specified an invalid SSH key for Droplet creation: ${String(k)}`);
      return key;
    });
    if (state.droplets.size >= ctx.dropletLimit) {
      throw unprocessable(`creating this/these droplet(s) will exceed your droplet limit (${ctx.dropletLimit})`);
    }

    const id = state.dropletId();
    const d: DropletRecord = {
      id,
      name: body.name,
      team: req.team,
      region: regionSlug,
      size: size.slug,
      imageId: image.id,
      status: 'new',
      locked: false,
      createdAt: now(),
      userData: body.user_data,
      monitoring: body.monitoring ?? false,
      dropletAgent: body.with_droplet_agent ?? false,
      ipv6: body.ipv6 ?? false,
      privateNetworking: body.private_networking === true || body.vpc_uuid !== undefined,
      vpcUuid: body.vpc_uuid,
      ipv4: undefined,
      privateIpv4: undefined,
      snapshotIds: [],
      actionIds: [],
      machineName: `${ctx.machinePrefix}${ctx.serverTag}-${id}`,
      machine: Promise.resolve(undefined),
      expectingExit: undefined,
      gone: new AbortController(),
    };
    state.addDroplet(d);
    for (const t of body.tags ?? []) state.tag(state.ensureTag(t), 'droplet', id, `/v2/droplets/${id}`);
    const action = machines.boot(
      d,
      image,
      keys.map((k) => k.publicKey),
    );
    return json(202, {
      droplet: await view(d),
      links: { actions: [{ id: action.id, rel: 'create', href: `${req.origin}/v2/actions/${action.id}` }] },
    });
  });

  router.get('/v2/droplets', async (req) => {
    const tag = req.query.get('tag_name');
    const name = req.query.get('name');
    const all = [...state.droplets.values()].filter(
      (d) => (tag === null || state.tagsOf('droplet', d.id).includes(tag)) && (name === null || d.name === name),
    );
    const page = paginate(req, all);
    return json(200, { droplets: await Promise.all(page.items.map(view)), links: page.links, meta: page.meta });
  });

  router.delete('/v2/droplets', (req) => {
    const tag = req.query.get('tag_name');
    if (!tag) throw unprocessable('tag_name is required to delete droplets by tag');
    for (const d of [...state.droplets.values()]) if (state.tagsOf('droplet', d.id).includes(tag)) machines.destroy(d);
    return noContent;
  });

  router.get('/v2/droplets/:id', async (req) => json(200, { droplet: await view(droplet(req.params.id)) }));

  router.delete('/v2/droplets/:id', (req) => {
    machines.destroy(droplet(req.params.id));
    return noContent;
  });

  router.get('/v2/droplets/:id/snapshots', (req) => {
    const d = droplet(req.params.id);
    const snaps = d.snapshotIds.map((id) => state.images.get(id)).filter((i) => i !== undefined);
    const page = paginate(req, snaps);
    return json(200, { snapshots: page.items.map(dropletSnapshotView), links: page.links, meta: page.meta });
  });
}
