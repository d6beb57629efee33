/**
 * DigitalOcean's Vendor API for Marketplace listings, served beside /v2 by the same server (same
 * tokens, rate limit, faults, audit log and error body): PATCH updates an app's image and starts
 * its review (vendor.ts). The shapes are in vendor-contract.ts.
 */
import type { LabContext } from '../context';
import { badRequest, notFound } from '../errors';
import { json } from '../http';
import type { VendorAppRecord } from '../model';
import type { Router } from '../router';
import { MODIFIED_BY, observeVendorApp, vendorAppView } from '../vendor';
import { VENDOR_API_PREFIX, vendorUpdateBodySchema, type VendorUpdateBody } from '../vendor-contract';

export function registerVendorApi(router: Router, ctx: LabContext): void {
  const { state } = ctx;

  const app = (id: string | undefined): VendorAppRecord => {
    const a = id !== undefined ? state.vendorApps.get(id) : undefined;
    if (!a) throw notFound();
    return observeVendorApp(state, a);
  };

  /**
   * Assumption: DigitalOcean's page documents only the PATCH. The Vendor Portal shows an app's
   * review status, and the lab assumes a GET on the same path returns the same app object, so
   * that a publisher can follow the review after updating.
   */
  router.get(`${VENDOR_API_PREFIX}/apps/:appId`, (req) => json(200, vendorAppView(app(req.params.appId))));

  router.patch(`${VENDOR_API_PREFIX}/apps/:appId`, (req) => {
    const a = app(req.params.appId);
    const body = parseUpdate(req.body);
    // The page: imageId is "a snapshot in that team's account" — distribution images are not.
    const img = state.images.get(body.imageId);
    if (!img || img.type !== 'snapshot') throw badRequest(`imageId ${body.imageId} is not a snapshot in your account`);
    if (a.status.value === 'pending' || a.status.value === 'in review') {
      throw badRequest(`The app is ${a.status.value} and cannot be updated now: wait until its review ends.`);
    }
    const old = a.customData;
    state.updateVendorApp(
      a,
      {
        // Absent fields leave the old value; osVersion and softwareIncluded also take null for that.
        version: body.version ?? old.version,
        osVersion: body.osVersion ?? old.osVersion,
        imageId: img.id,
        imageName: img.name,
        reasonForUpdate: body.reasonForUpdate ?? old.reasonForUpdate,
        softwareIncluded: body.softwareIncluded ?? old.softwareIncluded,
      },
      MODIFIED_BY.update,
      Date.now(),
    );
    return json(200, vendorAppView(a));
  });
}

/** DigitalOcean's 400 for a bad body (the page names no 422 for this API). */
function parseUpdate(body: unknown): VendorUpdateBody {
  const r = vendorUpdateBodySchema.safeParse(body ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue && issue.path.length > 0 && !issue.message.startsWith(String(issue.path[0])) ? `${issue.path.join('.')}: ` : '';
  throw badRequest(`${where}${issue?.message ?? 'invalid request body'}`);
}
