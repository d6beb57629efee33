/**
 * The lab's Marketplace apps and their review. An update makes an app `pending` and its data the
 * unpublished revision; the review then moves it to `inReview` after pendingMs and to its
 * configured outcome (`approved`, which makes the revision live, or `rejected`, with a reason)
 * after inReviewMs more. No timers: the status is worked out from the clock whenever the app is
 * read (observeVendorApp), so nothing keeps the process alive and closing the server has nothing to
 * stop. Each transition is audited once, when first observed, with `at` = when it happened on the
 * review's clock.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  DEFAULT_TEAM,
  VENDOR_APP_TYPES,
  VENDOR_STATUSES,
  type VendorAppRecord,
  type VendorAppVersion,
  type VendorCustomData,
  type VendorReviewConfig,
} from './model';
import type { LabState } from './state';
import { vendorSoftwareSchema, type VendorListedApp } from './vendor-contract';

export const DEFAULT_REVIEW: VendorReviewConfig = {
  pendingMs: 1000,
  inReviewMs: 1000,
  outcome: 'approved',
  reason: '',
};
export const DEFAULT_REJECTION = 'The image did not pass the Marketplace review.';
/** status.modifiedBy after each kind of change. */
export const MODIFIED_BY = { update: 'Vendor API', review: 'DigitalOcean Marketplace review', lab: 'lab' } as const;

const reviewInput = z.strictObject({
  pendingMs: z.number().int().nonnegative().optional(),
  inReviewMs: z.number().int().nonnegative().optional(),
  outcome: z.enum(['approved', 'rejected']).optional(),
  reason: z.string().optional(),
});

/** POST /_lab/vendor-apps and LabServerOptions.vendorApps. */
export const vendorAppInput = z.strictObject({
  id: z
    .string()
    .regex(/^[^/\s]+$/, 'id: no slashes or spaces')
    .optional(),
  name: z.string().min(1),
  /** Only `droplet` (the default) takes updates; another type gets the Vendor API's 400. */
  type: z.enum(VENDOR_APP_TYPES).optional(),
  /** Whose listing (default the team of the lab's tokens): another team's app gets 403. */
  team: z.string().min(1).optional(),
  /** The listing's revision before any update (default 1). */
  version: z.number().int().nonnegative().optional(),
  status: z.enum(VENDOR_STATUSES).optional(),
  /** status.reason */
  reason: z.string().optional(),
  review: reviewInput.optional(),
  emergencyContacts: z
    .array(z.strictObject({ name: z.string(), email: z.string(), phone: z.string().optional() }))
    .optional(),
  /** The listing as it is before any update (all empty by default, imageId null). */
  customData: z
    .strictObject({
      version: z.string(),
      osVersion: z.string(),
      description: z.string(),
      summary: z.string(),
      imageLabel: z.string(),
      imageId: z.number().int().nullable(),
      imageName: z.string(),
      imageDescription: z.string(),
      reasonForUpdate: z.string(),
      softwareIncluded: z.array(vendorSoftwareSchema),
    })
    .partial()
    .optional(),
});
export type VendorAppInput = z.input<typeof vendorAppInput>;

/** POST /_lab/vendor-apps/:id: a status set here stops any running review and stays until changed. */
export const vendorAppChange = z.strictObject({
  name: z.string().min(1).optional(),
  status: z.enum(VENDOR_STATUSES).optional(),
  reason: z.string().optional(),
  /** Merged into the app's review config; applies to the next update. */
  review: reviewInput.optional(),
});

export function newVendorApp(input: z.output<typeof vendorAppInput>, nowMs = Date.now()): VendorAppRecord {
  const customData: VendorCustomData = {
    version: '',
    osVersion: '',
    description: '',
    summary: '',
    imageLabel: '',
    imageId: null,
    imageName: '',
    imageDescription: '',
    reasonForUpdate: '',
    ...input.customData,
    softwareIncluded: input.customData?.softwareIncluded ?? [],
  };
  const value = input.status ?? 'approved';
  const version = input.version ?? 1;
  // A seeded approved app is live; one seeded in any other state has its revision not live yet.
  const seeded = { version, customData: copyData(customData) };
  return {
    id: input.id ?? randomUUID(),
    name: input.name,
    type: input.type ?? 'droplet',
    team: input.team ?? DEFAULT_TEAM,
    version,
    status: { value, lastUpdated: nowMs, modifiedBy: MODIFIED_BY.lab, reason: input.reason ?? '' },
    emergencyContacts: input.emergencyContacts ?? [],
    customData,
    current: value === 'approved' ? seeded : null,
    unpublished: value === 'approved' ? null : seeded,
    review: mergeReview(DEFAULT_REVIEW, input.review),
    running: undefined,
    received: [],
  };
}

export function mergeReview(
  base: VendorReviewConfig,
  change: z.output<typeof reviewInput> | undefined,
): VendorReviewConfig {
  return {
    pendingMs: change?.pendingMs ?? base.pendingMs,
    inReviewMs: change?.inReviewMs ?? base.inReviewMs,
    outcome: change?.outcome ?? base.outcome,
    reason: change?.reason ?? base.reason,
  };
}

/** Brings the app's status up to `now`, auditing each transition it passes (at most twice per review). */
export function observeVendorApp(state: LabState, app: VendorAppRecord, nowMs = Date.now()): VendorAppRecord {
  const r = app.running;
  if (!r) return app;
  const inReviewAt = r.startedAt + r.config.pendingMs;
  const endsAt = inReviewAt + r.config.inReviewMs;
  const by = MODIFIED_BY.review;
  if (app.status.value === 'pending' && nowMs >= inReviewAt) {
    state.setVendorStatus(app, 'inReview', { at: inReviewAt, modifiedBy: by, reason: '', cause: 'review' });
  }
  if (app.status.value === 'inReview' && nowMs >= endsAt) {
    const reason = r.config.reason || (r.config.outcome === 'rejected' ? DEFAULT_REJECTION : '');
    state.setVendorStatus(app, r.config.outcome, { at: endsAt, modifiedBy: by, reason, cause: 'review' });
    app.running = undefined;
  }
  return app;
}

function copyData(d: VendorCustomData): VendorCustomData {
  return { ...d, softwareIncluded: d.softwareIncluded.map((s) => ({ ...s })) };
}

function versionView(v: VendorAppVersion | null) {
  return v ? { version: v.version, customData: copyData(v.customData) } : null;
}

/** The app as the Vendor API's PATCH returns it: the app object at the top level. */
export function vendorAppView(app: VendorAppRecord) {
  return {
    appId: app.id,
    name: app.name,
    version: app.version,
    type: app.type,
    status: { ...app.status },
    emergencyContacts: app.emergencyContacts.map((c) => ({ ...c })),
    customData: copyData(app.customData),
  };
}

/** The app as the reads show it: the same object plus its live and its unpublished revision. */
export function vendorListedAppView(app: VendorAppRecord): VendorListedApp {
  return {
    ...vendorAppView(app),
    currentVersion: versionView(app.current),
    unpublishedVersion: versionView(app.unpublished),
  };
}

/** /_lab/vendor-apps: the app plus what the lab keeps about it (team, review, requests received). */
export function vendorAppLabView(app: VendorAppRecord) {
  const r = app.running;
  return {
    ...vendorListedAppView(app),
    lab: {
      team: app.team,
      review: { ...app.review },
      running: r
        ? {
            startedAt: new Date(r.startedAt).toISOString(),
            inReviewAt: new Date(r.startedAt + r.config.pendingMs).toISOString(),
            endsAt: new Date(r.startedAt + r.config.pendingMs + r.config.inReviewMs).toISOString(),
            outcome: r.config.outcome,
          }
        : null,
      /** Every request with a body the Vendor API received for this app, body as received. */
      received: app.received.map((x) => ({ ...x })),
    },
  };
}

const APP_IN_PATH = /^\/api\/v1\/vendor-portal\/apps\/([^/]+)/;

/**
 * Keeps a Vendor API request's body as received (after authentication): in the audit log
 * (`vendor.request`) and on the app it names, if the lab has it — so a test can check later what
 * a client sent, e.g. that no update carried a "" or [] it was not asked to send.
 */
export function recordVendorRequest(
  state: LabState,
  method: string,
  path: string,
  status: number,
  body: unknown,
): void {
  const raw = APP_IN_PATH.exec(path)?.[1];
  if (raw === undefined) return;
  let appId = raw;
  try {
    appId = decodeURIComponent(raw);
  } catch {
    // kept as sent
  }
  const at = new Date().toISOString();
  state.audit.record({ type: 'vendor.request', appId, method, path, status, body: body ?? null });
  state.vendorApps.get(appId)?.received.push({ at, method, path, status, body: structuredClone(body ?? null) });
}
