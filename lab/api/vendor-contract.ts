/**
 * DigitalOcean's Vendor API (Marketplace listings) as far as it is documented: DigitalOcean's
 * marketplace-partners README, "Update your App Image via API" (summarised in
 * shared/reference/marketplace-publishing.md). It is not in DigitalOcean's OpenAPI document, so the
 * lab's self-check validates its exchanges against these schemas instead (ContractChecker routes
 * every path under VENDOR_API_PREFIX here).
 *
 * What the page says, and nothing more:
 * - PATCH /api/v1/vendor-portal/apps/{app_id}, bearer token, JSON body: imageId (integer, required),
 *   reasonForUpdate, version (strings), osVersion (string; null leaves it, "" clears it),
 *   softwareIncluded (array of {name, version, releaseNotes, website, licenseType, licenseLink};
 *   null leaves the list, [] clears it).
 * - 200 returns the app "including" status {value, lastUpdated, modifiedBy, reason} and customData
 *   {version, osVersion, imageId, imageName, reasonForUpdate, …}: other fields are allowed.
 * - 404 for an unknown app, 400 for an app that is `pending` or `in review`.
 * Where the page is silent, the lab's choice is marked "assumed" below.
 */
import { z } from 'zod';
import type { ContractViolation, Exchange } from './exchange';

export const VENDOR_API_PREFIX = '/api/v1/vendor-portal';

/** Requests with this prefix are the Vendor API's, not /v2's. */
export function isVendorApiPath(path: string): boolean {
  return path === VENDOR_API_PREFIX || path.startsWith(`${VENDOR_API_PREFIX}/`);
}

const APP_PATH = /^\/api\/v1\/vendor-portal\/apps\/[^/]+\/?$/;

const softwareShape = {
  name: z.string(),
  version: z.string(),
  releaseNotes: z.string().optional(),
  website: z.string().optional(),
  licenseType: z.string().optional(),
  licenseLink: z.string().optional(),
};

const integerImageId = z.number({ error: 'imageId must be an integer' }).int('imageId must be an integer');

function updateShape<S extends z.ZodType>(software: S) {
  return {
    imageId: integerImageId,
    reasonForUpdate: z.string().optional(),
    version: z.string().optional(),
    osVersion: z.string().nullable().optional(),
    softwareIncluded: z.array(software).nullable().optional(),
  };
}

/** One entry of softwareIncluded, unknown fields refused. */
export const vendorSoftwareSchema = z.strictObject(softwareShape);

/** The PATCH body as documented; unknown fields are violations (the request is off-contract). */
export const vendorUpdateRequestSchema = z.strictObject(updateShape(vendorSoftwareSchema));

/** What the lab's handler accepts: the same fields, unknown ones ignored (a server does not fail on them). */
export const vendorUpdateBodySchema = z.object(updateShape(z.object(softwareShape)));
export type VendorUpdateBody = z.output<typeof vendorUpdateBodySchema>;

/** The app in a 200 response. */
export const vendorAppSchema = z.object({
  // assumed: the page names the app id (from the Vendor Portal URL) but not its type in the body.
  id: z.string(),
  // assumed: a listing has a name.
  name: z.string(),
  status: z.object({
    // Documented: `pending` after an update, `in review` while reviewed; the lab also ends in `approved` or `rejected`.
    value: z.string(),
    lastUpdated: z.iso.datetime({ offset: true }),
    modifiedBy: z.string(),
    reason: z.string(),
  }),
  customData: z.object({
    version: z.string(),
    osVersion: z.string(),
    // null: an app the lab seeded without an image and nobody updated yet (the page does not say).
    imageId: z.number().int().nullable(),
    imageName: z.string(),
    reasonForUpdate: z.string(),
    // assumed: the list that softwareIncluded sets is returned with the rest.
    softwareIncluded: z.array(z.object(softwareShape)).optional(),
  }),
});
export type VendorApp = z.output<typeof vendorAppSchema>;

/** assumed: DigitalOcean's usual error body, as on /v2. */
export const vendorErrorSchema = z.object({ id: z.string(), message: z.string(), request_id: z.string() });

interface VendorOperation {
  operationId: string;
  /** Statuses the page gives for it. */
  statuses: number[];
}

const OPERATIONS: Record<string, VendorOperation> = {
  PATCH: { operationId: 'vendorPortal_updateApp', statuses: [200, 400, 404] },
  // assumed: the page documents no GET; the lab serves one returning the same app so a publisher can follow the review.
  GET: { operationId: 'vendorPortal_getApp (assumed)', statuses: [200, 404] },
};

/** assumed: answers any DigitalOcean endpoint can give (bad token, rate limit, outages); the page names none. */
const API_WIDE_STATUSES = [401, 429, 500, 502, 503, 504];

/** Validates one Vendor API exchange; the same result shape as the OpenAPI self-check. */
export function checkVendorExchange(ex: Exchange): ContractViolation[] {
  const base = { method: ex.method, path: ex.path, status: ex.status };
  const op = APP_PATH.test(ex.path) ? OPERATIONS[ex.method.toUpperCase()] : undefined;
  if (!op) return [{ direction: 'request', ...base, errors: [`${ex.method} ${ex.path} is not an operation of DigitalOcean's Vendor API`] }];
  const out: ContractViolation[] = [];
  const operationId = op.operationId;
  if (ex.method.toUpperCase() === 'PATCH') {
    const req = vendorUpdateRequestSchema.safeParse(ex.requestBody);
    if (!req.success) out.push({ direction: 'request', ...base, operationId, errors: describe(req.error) });
  }
  const errors: string[] = [];
  if (!op.statuses.includes(ex.status) && !API_WIDE_STATUSES.includes(ex.status)) errors.push(`status ${ex.status} is not documented for ${operationId}`);
  const res = (ex.status === 200 ? vendorAppSchema : vendorErrorSchema).safeParse(ex.responseBody);
  if (!res.success) errors.push(...describe(res.error));
  if (!/^application\/json\b/.test(ex.responseHeaders['content-type'] ?? '')) errors.push('response is not JSON');
  if (errors.length > 0) out.push({ direction: 'response', ...base, operationId, errors });
  return out;
}

function describe(err: z.ZodError): string[] {
  return err.issues.map((i) => `/${i.path.join('/')} ${i.message}`);
}
