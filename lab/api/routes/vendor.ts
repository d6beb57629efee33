/**
 * DigitalOcean's Vendor API for Marketplace listings, served beside /v2 by the same server (same
 * tokens, rate limit, faults, audit log and error body). What is documented
 * (shared/reference/marketplace-publishing.md): the PATCH that updates an app's image and starts
 * its review (vendor.ts), its 200, 400, 403 and 404. What DigitalOcean's own tools use although it
 * is not documented: the team's app list, and a single-app GET that may not exist (an option
 * here). The shapes are in vendor-contract.ts; the error messages are the lab's own wording.
 */
import type { LabContext } from '../context';
import { badRequest, forbidden, gone, methodNotAllowed, notFound } from '../errors';
import { json, type LabRequest } from '../http';
import { DEFAULT_TEAM, type ImageRecord, type VendorAppRecord, type VendorSoftware } from '../model';
import type { Router } from '../router';
import { MODIFIED_BY, observeVendorApp, vendorAppView, vendorListedAppView } from '../vendor';
import { VENDOR_API_PREFIX, VENDOR_UPDATE_ENDPOINT } from '../vendor-contract';

export interface VendorApiOptions {
  /**
   * GET …/apps/{app_id}, which DigitalOcean does not promise: true serves it (the app as the list
   * shows it); false (the default) answers 404, 405 answers 405 with `Allow: PATCH`.
   */
  singleAppGet: boolean | 404 | 405;
  /** The deprecated …/apps/{app_id}/versions/{version}: 410 (default) or 404, naming the replacement. */
  deprecatedStatus: 404 | 410;
  /** GET …/apps, the read DigitalOcean's tools use but do not document: false answers 404 (no read at all). */
  listRead: boolean;
}

export const DEFAULT_VENDOR_API_OPTIONS: VendorApiOptions = {
  singleAppGet: false,
  deprecatedStatus: 410,
  listRead: true,
};

/** The error messages of the Vendor API (DigitalOcean documents the causes, not the wording: inferred). */
export const VENDOR_MESSAGES = {
  imageIdRequired: 'imageId is required',
  imageIdInteger: 'imageId must be an integer',
  notDroplet: (type: string) =>
    `app is not a droplet 1-click app (its type is ${type}): only a droplet 1-click takes an image`,
  busy: (status: string) =>
    `app is pending or in review (status: ${status}): it can be updated again once its review ends`,
  invalidToken: 'Unable to authenticate you: the token is invalid or has been revoked',
  foreignApp: (id: string) => `app ${id} does not belong to your team`,
  foreignImage: (id: number) => `image ${id} is not a snapshot in your team's account`,
  deprecated: `this endpoint is deprecated and no longer available: use ${VENDOR_UPDATE_ENDPOINT}`,
} as const;

export function registerVendorApi(
  router: Router,
  ctx: LabContext,
  opts: VendorApiOptions = DEFAULT_VENDOR_API_OPTIONS,
): void {
  const { state } = ctx;

  const app = (req: LabRequest): VendorAppRecord => {
    const id = req.params.appId;
    const a = id !== undefined ? state.vendorApps.get(id) : undefined;
    if (!a) throw notFound();
    if (a.team !== req.team) throw forbidden(VENDOR_MESSAGES.foreignApp(a.id));
    return observeVendorApp(state, a);
  };

  /** assumed: the list DigitalOcean's own tools read (not documented): the team's apps only, unpaged. */
  router.get(`${VENDOR_API_PREFIX}/apps`, (req) => {
    if (!opts.listRead) throw notFound();
    const mine = [...state.vendorApps.values()].filter((a) => a.team === req.team);
    return json(200, { apps: mine.map((a) => vendorListedAppView(observeVendorApp(state, a))) });
  });

  router.get(`${VENDOR_API_PREFIX}/apps/:appId`, (req) => {
    if (opts.singleAppGet === 405) throw methodNotAllowed(['PATCH']);
    if (opts.singleAppGet !== true) throw notFound();
    return json(200, vendorListedAppView(app(req)));
  });

  router.patch(`${VENDOR_API_PREFIX}/apps/:appId`, (req) => {
    const a = app(req);
    if (a.type !== 'droplet') throw badRequest(VENDOR_MESSAGES.notDroplet(a.type));
    const body = parseUpdate(req.body);
    const img = state.images.get(body.imageId);
    if (!img || !ownedBy(img, req.team)) throw forbidden(VENDOR_MESSAGES.foreignImage(body.imageId));
    // The only 400 that clears by waiting: checked last, so it says everything else was right.
    if (a.status.value === 'pending' || a.status.value === 'inReview')
      throw badRequest(VENDOR_MESSAGES.busy(a.status.value));
    const old = a.customData;
    state.updateVendorApp(
      a,
      {
        ...old,
        // Absent or null leaves the stored value; "" and [] overwrite it with nothing.
        version: body.version ?? old.version,
        osVersion: body.osVersion ?? old.osVersion,
        reasonForUpdate: body.reasonForUpdate ?? old.reasonForUpdate,
        softwareIncluded: body.softwareIncluded ?? old.softwareIncluded,
        imageId: img.id,
        imageName: img.name,
        imageDescription: img.description,
      },
      MODIFIED_BY.update,
      Date.now(),
    );
    return json(200, vendorAppView(a));
  });

  const deprecated = () => {
    throw gone(VENDOR_MESSAGES.deprecated, opts.deprecatedStatus);
  };
  router.patch(`${VENDOR_API_PREFIX}/apps/:appId/versions/:version`, deprecated);
  router.get(`${VENDOR_API_PREFIX}/apps/:appId/versions/:version`, deprecated);
}

/** A snapshot (not a distribution image) in the account of the token's team. */
function ownedBy(img: ImageRecord, team: string): boolean {
  return img.type === 'snapshot' && (img.team ?? DEFAULT_TEAM) === team;
}

interface UpdateBody {
  imageId: number;
  reasonForUpdate: string | null | undefined;
  version: string | null | undefined;
  osVersion: string | null | undefined;
  softwareIncluded: VendorSoftware[] | null | undefined;
}

/**
 * The body, leniently (a server does not fail on fields it does not know): 400 with the first
 * problem. imageId missing (or null) is a documented cause; the type checks are the lab's.
 */
function parseUpdate(body: unknown): UpdateBody {
  if (body === undefined || body === null) throw badRequest(VENDOR_MESSAGES.imageIdRequired);
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('request body must be a JSON object');
  const b = body as Record<string, unknown>;
  if (b.imageId === undefined || b.imageId === null) throw badRequest(VENDOR_MESSAGES.imageIdRequired);
  if (typeof b.imageId !== 'number' || !Number.isInteger(b.imageId)) throw badRequest(VENDOR_MESSAGES.imageIdInteger);
  for (const k of ['reasonForUpdate', 'version', 'osVersion'] as const) {
    if (b[k] !== undefined && b[k] !== null && typeof b[k] !== 'string') throw badRequest(`${k} must be a string`);
  }
  const sw = b.softwareIncluded;
  if (sw !== undefined && sw !== null) {
    const ok = Array.isArray(sw) && sw.every((s) => isSoftware(s));
    if (!ok) throw badRequest('softwareIncluded must be a list of {name, version, …} with string values');
  }
  return {
    imageId: b.imageId,
    reasonForUpdate: b.reasonForUpdate as string | null | undefined,
    version: b.version as string | null | undefined,
    osVersion: b.osVersion as string | null | undefined,
    softwareIncluded: Array.isArray(sw)
      ? sw.map((x) => pickSoftware(x as Record<string, string>))
      : (sw as null | undefined),
  };
}

/** Only the documented fields are kept (and shown again). */
function pickSoftware(s: Record<string, string>): VendorSoftware {
  const out: VendorSoftware = { name: s.name!, version: s.version! };
  for (const f of SOFTWARE_OPTIONAL) if (s[f] !== undefined) out[f] = s[f];
  return out;
}

const SOFTWARE_OPTIONAL = ['releaseNotes', 'website', 'licenseType', 'licenseLink'] as const;

function isSoftware(s: unknown): boolean {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return false;
  const o = s as Record<string, unknown>;
  const optionalOk = SOFTWARE_OPTIONAL.every((f) => o[f] === undefined || typeof o[f] === 'string');
  return typeof o.name === 'string' && typeof o.version === 'string' && optionalOk;
}
