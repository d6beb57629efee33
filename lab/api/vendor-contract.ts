/**
 * DigitalOcean's Vendor API (Marketplace listings), written from its documentation:
 * DigitalOcean's marketplace-partners README, "Update your App Image via API", summarised in
 * shared/reference/marketplace-publishing.md. It is not in DigitalOcean's OpenAPI document, so the
 * lab's self-check validates its exchanges against these schemas instead (ContractChecker routes
 * every path under VENDOR_API_PREFIX here), as /v2 is validated against the OpenAPI document.
 *
 * Documented, and checked as such:
 * - PATCH /api/v1/vendor-portal/apps/{app_id}, bearer token, JSON body: imageId (integer,
 *   required), reasonForUpdate, version, osVersion (strings), softwareIncluded (array of
 *   {name, version, releaseNotes, website, licenseType, licenseLink}). Absent or null leaves the
 *   stored value, "" (and [] for softwareIncluded) overwrites it with nothing.
 * - 200: the app object at the top level: appId, name, version (a number: the listing's revision),
 *   type `droplet`, status {value, lastUpdated (epoch ms, a number), modifiedBy, reason} with value
 *   `pending` after an update, emergencyContacts, customData {version, osVersion, description,
 *   summary, imageLabel, imageId, imageName, imageDescription, reasonForUpdate, …}.
 * - 400 (image id missing; not a droplet 1-click; app pending or in review), 403 (invalid token;
 *   app or image of another team), 404 (unknown app).
 * - The older …/apps/{app_id}/versions/{version} endpoint is deprecated: calling it is off-contract.
 * Not documented, marked "assumed" below: the reads DigitalOcean's own tools use (GET …/apps, and a
 * single-app GET that may not exist), the error body, the shape of emergencyContacts.
 */
import { z } from 'zod';
import type { ContractViolation, Exchange } from './exchange';
import { VENDOR_STATUSES } from './model';

export const VENDOR_API_PREFIX = '/api/v1/vendor-portal';

/** Requests with this prefix are the Vendor API's, not /v2's. */
export function isVendorApiPath(path: string): boolean {
  return path === VENDOR_API_PREFIX || path.startsWith(`${VENDOR_API_PREFIX}/`);
}

const APPS_PATH = /^\/api\/v1\/vendor-portal\/apps\/?$/;
const APP_PATH = /^\/api\/v1\/vendor-portal\/apps\/[^/]+\/?$/;
const DEPRECATED_PATH = /^\/api\/v1\/vendor-portal\/apps\/[^/]+\/versions\/[^/]+\/?$/;

/** The endpoint that replaces the deprecated …/versions/{version} one. */
export const VENDOR_UPDATE_ENDPOINT = `PATCH ${VENDOR_API_PREFIX}/apps/{app_id}`;

const softwareShape = {
  name: z.string(),
  version: z.string(),
  releaseNotes: z.string().optional(),
  website: z.string().optional(),
  licenseType: z.string().optional(),
  licenseLink: z.string().optional(),
};

/** One entry of softwareIncluded, unknown fields refused. */
export const vendorSoftwareSchema = z.strictObject(softwareShape);

/** Absent or null: leave the stored value. */
const keep = <S extends z.ZodType>(s: S) => s.nullable().optional();

/** The PATCH body as documented; unknown fields are violations (the request is off-contract). */
export const vendorUpdateRequestSchema = z.strictObject({
  imageId: z.number().int(),
  reasonForUpdate: keep(z.string()),
  version: keep(z.string()),
  osVersion: keep(z.string()),
  softwareIncluded: keep(z.array(vendorSoftwareSchema)),
});
export type VendorUpdateRequest = z.output<typeof vendorUpdateRequestSchema>;

const statusSchema = z.object({
  value: z.enum(VENDOR_STATUSES),
  lastUpdated: z.number().int().nonnegative(),
  modifiedBy: z.string(),
  reason: z.string(),
});

const customDataShape = {
  version: z.string(),
  osVersion: z.string(),
  description: z.string(),
  summary: z.string(),
  imageLabel: z.string(),
  imageId: z.number().int(),
  imageName: z.string(),
  imageDescription: z.string(),
  reasonForUpdate: z.string(),
  // The "…" of the page: the list an update sets is returned with the rest.
  softwareIncluded: z.array(z.object(softwareShape)).optional(),
};

// assumed: the page names emergencyContacts without its shape.
const emergencyContactsSchema = z.array(z.object({ name: z.string(), email: z.string() }));

const appShape = {
  appId: z.string(),
  name: z.string(),
  version: z.number().int().nonnegative(),
  type: z.literal('droplet'),
  status: statusSchema,
  emergencyContacts: emergencyContactsSchema,
  customData: z.object(customDataShape),
};

/** The 200 body of the PATCH, as documented (other fields allowed: the page lists them with "…"). */
export const vendorAppSchema = z.object({
  ...appShape,
  status: statusSchema.extend({ value: z.literal('pending') }),
});
export type VendorApp = z.output<typeof vendorAppSchema>;

// assumed: a listing the lab seeded without an image and nobody updated yet has imageId null.
const readCustomData = z.object({ ...customDataShape, imageId: z.number().int().nullable() });
const versionSchema = z.object({ version: z.number().int().nonnegative(), customData: readCustomData });

/**
 * assumed: an app as the reads show it — the PATCH's app object (any type, any status) plus its
 * live revision (currentVersion) and the one submitted and not live (unpublishedVersion).
 */
export const vendorListedAppSchema = z.object({
  ...appShape,
  type: z.string(),
  customData: readCustomData,
  currentVersion: versionSchema.nullable(),
  unpublishedVersion: versionSchema.nullable(),
});
export type VendorListedApp = z.output<typeof vendorListedAppSchema>;

/** assumed: GET …/apps, the team's apps, as DigitalOcean's own tools read them. */
export const vendorAppListSchema = z.object({ apps: z.array(vendorListedAppSchema) });

/** assumed: DigitalOcean's usual error body, as on /v2. */
export const vendorErrorSchema = z.object({ id: z.string(), message: z.string(), request_id: z.string() });

interface VendorOperation {
  operationId: string;
  /** Statuses it may answer besides the API-wide ones. */
  statuses: number[];
  request?: z.ZodType;
  /** The body of a 200. */
  ok?: z.ZodType;
  /** A request to it is itself off-contract (why). */
  offContract?: string;
}

function operation(method: string, path: string): VendorOperation | undefined {
  const m = method.toUpperCase();
  if (APPS_PATH.test(path) && m === 'GET') {
    return { operationId: 'vendorPortal_listApps (assumed)', statuses: [200, 403], ok: vendorAppListSchema };
  }
  if (APP_PATH.test(path) && m === 'PATCH') {
    const ok = vendorAppSchema;
    return {
      operationId: 'vendorPortal_updateApp',
      statuses: [200, 400, 403, 404],
      request: vendorUpdateRequestSchema,
      ok,
    };
  }
  if (APP_PATH.test(path) && m === 'GET') {
    // assumed, and not promised: the lab may serve it, or answer 404 or 405 as DigitalOcean may.
    return { operationId: 'vendorPortal_getApp (assumed)', statuses: [200, 403, 404, 405], ok: vendorListedAppSchema };
  }
  if (DEPRECATED_PATH.test(path) && (m === 'PATCH' || m === 'GET')) {
    const offContract = `${m} …/apps/{app_id}/versions/{version} is deprecated: use ${VENDOR_UPDATE_ENDPOINT}`;
    return { operationId: 'vendorPortal_updateAppVersion (deprecated)', statuses: [404, 410], offContract };
  }
  return undefined;
}

/** assumed: answers any DigitalOcean endpoint can give (no token, rate limit, outages); the page names none. */
const API_WIDE_STATUSES = [401, 429, 500, 502, 503, 504];

/** Validates one Vendor API exchange; the same result shape as the OpenAPI self-check. */
export function checkVendorExchange(ex: Exchange): ContractViolation[] {
  const base = { method: ex.method, path: ex.path, status: ex.status };
  const op = operation(ex.method, ex.path);
  if (!op) {
    const errors = [`${ex.method} ${ex.path} is not an operation of DigitalOcean's Vendor API`];
    return [{ direction: 'request', ...base, errors }];
  }
  const out: ContractViolation[] = [];
  const operationId = op.operationId;
  if (op.offContract) out.push({ direction: 'request', ...base, operationId, errors: [op.offContract] });
  if (op.request) {
    const req = op.request.safeParse(ex.requestBody);
    if (!req.success) out.push({ direction: 'request', ...base, operationId, errors: describe(req.error) });
  }
  const errors: string[] = [];
  if (!op.statuses.includes(ex.status) && !API_WIDE_STATUSES.includes(ex.status)) {
    errors.push(`status ${ex.status} is not documented for ${operationId}`);
  }
  const schema = ex.status === 200 ? op.ok : ex.status >= 400 ? vendorErrorSchema : undefined;
  if (!schema) errors.push(`no ${ex.status} body is known for ${operationId}`);
  const res = schema?.safeParse(ex.responseBody);
  if (res && !res.success) errors.push(...describe(res.error));
  if (!/^application\/json\b/.test(ex.responseHeaders['content-type'] ?? '')) errors.push('response is not JSON');
  if (errors.length > 0) out.push({ direction: 'response', ...base, operationId, errors });
  return out;
}

function describe(err: z.ZodError): string[] {
  return err.issues.map((i) => `/${i.path.join('/')} ${i.message}`);
}
