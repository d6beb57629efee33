/**
 * The lab's own endpoints, outside /v2 (DigitalOcean has nothing there): a state summary for
 * tests, fault rules to add, list and clear, and the Vendor API's Marketplace apps to set up.
 */
import { z } from 'zod';
import { distributionImages, numericId, type LabContext } from '../context';
import type { ContractChecker } from '../contract';
import { badRequest, notFound } from '../errors';
import { faultRuleSchema } from '../faults';
import { json, noContent } from '../http';
import type { Router } from '../router';
import type { LabState } from '../state';
import { imageView } from '../views';
import {
  MODIFIED_BY,
  mergeReview,
  newVendorApp,
  observeVendorApp,
  vendorAppChange,
  vendorAppInput,
  vendorAppLabView,
} from '../vendor';

const imageChange = z.strictObject({ team: z.string().min(1) });
const baseImageRelease = z.strictObject({
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  createdAt: z.iso.datetime().optional(),
});

const faultsBody = z.union([
  faultRuleSchema,
  z.object({
    rules: z.array(faultRuleSchema).default([]),
    seed: z.number().int().optional(),
    replace: z.boolean().optional(),
  }),
]);

export async function labSummary(ctx: LabContext, contract: ContractChecker | undefined) {
  const { state, machines } = ctx;
  const droplets = [...state.droplets.values()];
  const actions = [...state.actions.values()];
  const count = <T>(xs: T[], key: (x: T) => string) =>
    xs.reduce<Record<string, number>>((m, x) => ((m[key(x)] = (m[key(x)] ?? 0) + 1), m), {});
  return {
    droplets: {
      total: droplets.length,
      byStatus: count(droplets, (d) => d.status),
      list: droplets.map((d) => ({
        id: d.id,
        name: d.name,
        status: d.status,
        locked: d.locked,
        machineName: d.machineName,
        ipv4: d.ipv4 ?? null,
      })),
    },
    snapshots: state.images.size,
    /** Where each snapshot's archive is, so tests can look inside an image. */
    archives: [...state.images.values()].flatMap((i) =>
      i.source.kind === 'snapshot' ? [{ id: i.id, name: i.name, archivePath: i.source.archivePath }] : [],
    ),
    keys: state.keys.size,
    /** Names too, so a test can tell a build's one-time key left behind from the builder's own. */
    keyList: [...state.keys.values()].map((k) => ({ id: k.id, name: k.name })),
    tags: state.tags.size,
    actions: count(actions, (a) => a.status),
    /** Background work still running (boots, actions, destroys). */
    busy: machines.busy,
    leaks: machines.leaks,
    audit: state.audit.totals(),
    faults: ctx.faults.list(),
    vendorApps: [...state.vendorApps.values()].map((a) => {
      observeVendorApp(state, a);
      return {
        id: a.id,
        name: a.name,
        status: a.status.value,
        imageId: a.customData.imageId,
        reviewing: a.running !== undefined,
      };
    }),
    contract: contract
      ? { enabled: true, ...(await contract.stats()), list: await contract.violations() }
      : { enabled: false },
  };
}

export function registerLabControl(router: Router, ctx: LabContext, contract: ContractChecker | undefined): void {
  router.get('/_lab/state', async () => json(200, await labSummary(ctx, contract)));

  router.get('/_lab/faults', () => json(200, { rules: ctx.faults.list() }));

  /** Body: one rule, or {rules: [...], seed?, replace?}. */
  router.post('/_lab/faults', (req) => {
    const r = faultsBody.safeParse(req.body ?? {});
    if (!r.success)
      throw badRequest(
        `invalid fault rules: ${r.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
      );
    const body = r.data;
    const rules = 'kind' in body ? [body] : body.rules;
    if (!('kind' in body)) {
      if (body.replace) ctx.faults.clear();
      if (body.seed !== undefined) ctx.faults.reseed(body.seed);
    }
    let ids: number[];
    try {
      ids = rules.map((rule) => ctx.faults.add(rule));
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    return json(201, { ids, rules: ctx.faults.list() });
  });

  router.delete('/_lab/faults', () => {
    ctx.faults.clear();
    return noContent;
  });

  const { state } = ctx;
  const vendorApp = (id: string | undefined) => {
    const a = id !== undefined ? state.vendorApps.get(id) : undefined;
    if (!a) throw notFound();
    return observeVendorApp(state, a);
  };

  router.get('/_lab/vendor-apps', () =>
    json(200, { apps: [...state.vendorApps.values()].map((a) => vendorAppLabView(observeVendorApp(state, a))) }),
  );

  /** Body: {id?, name, status?, reason?, review?: {pendingMs?, inReviewMs?, outcome?, reason?}, customData?}. */
  router.post('/_lab/vendor-apps', (req) => {
    const a = addVendorApp(state, req.body);
    return json(201, vendorAppLabView(a));
  });

  router.get('/_lab/vendor-apps/:id', (req) => json(200, vendorAppLabView(vendorApp(req.params.id))));

  /**
   * Body: {team}: moves a snapshot to another team's account (e.g. to provoke the Vendor API's
   * 403 for an image that is not the token's team's). Snapshots belong to the creator's team.
   */
  router.post('/_lab/images/:id', (req) => {
    const img = state.images.get(numericId(req.params.id) ?? -1);
    if (!img) throw notFound();
    const r = imageChange.safeParse(req.body ?? {});
    if (!r.success) throw badRequest(`invalid image change: ${issues(r.error)}`);
    img.team = r.data.team;
    return json(200, { id: img.id, name: img.name, team: img.team });
  });

  /**
   * Body: {name?, description?, createdAt?}: a new base image under a distribution slug, as
   * DigitalOcean refreshes its base images — a new id, the same slug (the same base tree in the
   * lab); `GET /v2/images/{slug}` answers with it from now on, the one it replaced is `retired`.
   */
  router.post('/_lab/distributions/:slug', async (req) => {
    const current = (await distributionImages(ctx)).find((d) => d.slug === req.params.slug);
    if (!current) throw notFound();
    const r = baseImageRelease.safeParse(req.body ?? {});
    if (!r.success) throw badRequest(`invalid base image: ${issues(r.error)}`);
    const next = {
      ...current,
      id: state.imageId(),
      name: r.data.name ?? current.name,
      description: r.data.description ?? current.description,
      createdAt: r.data.createdAt ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    state.publishBaseImage(current, next);
    return json(201, { image: imageView(state, next), replaced: current.id });
  });

  /** Body: {name?, status?, reason?, review?}: a status set here stops the running review and stays. */
  router.post('/_lab/vendor-apps/:id', (req) => {
    const a = vendorApp(req.params.id);
    const r = vendorAppChange.safeParse(req.body ?? {});
    if (!r.success) throw badRequest(`invalid vendor app change: ${issues(r.error)}`);
    const change = r.data;
    if (change.name !== undefined) a.name = change.name;
    if (change.review) a.review = mergeReview(a.review, change.review);
    if (change.status !== undefined || change.reason !== undefined) {
      a.running = undefined;
      state.setVendorStatus(a, change.status ?? a.status.value, {
        at: Date.now(),
        modifiedBy: MODIFIED_BY.lab,
        reason: change.reason ?? '',
        cause: 'lab',
      });
    }
    return json(200, vendorAppLabView(a));
  });
}

/** Validates and adds one Marketplace app (from POST /_lab/vendor-apps or LabServerOptions.vendorApps). */
export function addVendorApp(state: LabState, input: unknown) {
  const r = vendorAppInput.safeParse(input ?? {});
  if (!r.success) throw badRequest(`invalid vendor app: ${issues(r.error)}`);
  const a = newVendorApp(r.data);
  if (state.vendorApps.has(a.id)) throw badRequest(`vendor app ${a.id} exists already`);
  state.addVendorApp(a);
  return a;
}

function issues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.')} ${i.message}`.trim()).join('; ');
}
