/**
 * The lab's Marketplace apps and their review. An update makes an app `pending`; the review then
 * moves it to `in review` after pendingMs and to its configured outcome (`approved` or
 * `rejected`, with a reason) after inReviewMs more. No timers: the status is worked out from the
 * clock whenever the app is read (observeVendorApp), so nothing keeps the process alive and
 * closing the server has nothing to stop. Each transition is audited once, when first observed,
 * with `at` = when it happened on the review's clock.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { VENDOR_STATUSES, type VendorAppRecord, type VendorReviewConfig } from './model';
import type { LabState } from './state';
import { vendorSoftwareSchema, type VendorApp } from './vendor-contract';

export const DEFAULT_REVIEW: VendorReviewConfig = { pendingMs: 1000, inReviewMs: 1000, outcome: 'approved', reason: '' };
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
  id: z.string().regex(/^[^/\s]+$/, 'id: no slashes or spaces').optional(),
  name: z.string().min(1),
  status: z.enum(VENDOR_STATUSES).optional(),
  /** status.reason */
  reason: z.string().optional(),
  review: reviewInput.optional(),
  /** The listing as it is before any update (all empty by default, imageId null). */
  customData: z
    .strictObject({
      version: z.string(),
      osVersion: z.string(),
      imageId: z.number().int().nullable(),
      imageName: z.string(),
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
  return {
    id: input.id ?? randomUUID(),
    name: input.name,
    status: { value: input.status ?? 'approved', lastUpdated: new Date(nowMs).toISOString(), modifiedBy: MODIFIED_BY.lab, reason: input.reason ?? '' },
    customData: {
      version: '',
      osVersion: '',
      imageId: null,
      imageName: '',
      reasonForUpdate: '',
      ...input.customData,
      softwareIncluded: input.customData?.softwareIncluded ?? [],
    },
    review: mergeReview(DEFAULT_REVIEW, input.review),
    running: undefined,
  };
}

export function mergeReview(base: VendorReviewConfig, change: z.output<typeof reviewInput> | undefined): VendorReviewConfig {
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
  if (app.status.value === 'pending' && nowMs >= inReviewAt) {
    state.setVendorStatus(app, 'in review', { at: inReviewAt, modifiedBy: MODIFIED_BY.review, reason: '', cause: 'review' });
  }
  if (app.status.value === 'in review' && nowMs >= endsAt) {
    const reason = r.config.reason || (r.config.outcome === 'rejected' ? DEFAULT_REJECTION : '');
    state.setVendorStatus(app, r.config.outcome, { at: endsAt, modifiedBy: MODIFIED_BY.review, reason, cause: 'review' });
    app.running = undefined;
  }
  return app;
}

/** The app as the Vendor API returns it (a bare object). */
export function vendorAppView(app: VendorAppRecord): VendorApp {
  return {
    id: app.id,
    name: app.name,
    status: { ...app.status },
    customData: { ...app.customData, softwareIncluded: app.customData.softwareIncluded.map((s) => ({ ...s })) },
  };
}

/** /_lab/vendor-apps: the app plus what the lab keeps about its review. */
export function vendorAppLabView(app: VendorAppRecord) {
  const r = app.running;
  return {
    ...vendorAppView(app),
    lab: {
      review: { ...app.review },
      running: r
        ? {
            startedAt: new Date(r.startedAt).toISOString(),
            inReviewAt: new Date(r.startedAt + r.config.pendingMs).toISOString(),
            endsAt: new Date(r.startedAt + r.config.pendingMs + r.config.inReviewMs).toISOString(),
            outcome: r.config.outcome,
          }
        : null,
    },
  };
}
