/**
 * Publishing to the Marketplace: the update sent, the Vendor API's answers, the outcome recorded.
 * The Vendor API documents only `PATCH …/apps/{id}`; what it says about status values and reads is
 * handled here robustly (docs/lab.md, "Documented by DigitalOcean, or inferred", says which is which).
 */
import type { MarketplacePlan } from './plan';

/**
 * The body of `PATCH …/vendor-portal/apps/{id}`. A field that is absent leaves the listing's value
 * as it is; "" or [] would overwrite it with nothing, so neither is ever sent unless the spec
 * asked for it.
 */
export interface VendorUpdateBody {
  imageId: number;
  version?: string;
  reasonForUpdate?: string;
  osVersion?: string;
  softwareIncluded?: SoftwareIncluded[];
}

export interface SoftwareIncluded {
  name: string;
  version: string;
  releaseNotes?: string;
  website?: string;
  licenseType?: string;
  licenseLink?: string;
}

export interface PublishInput {
  buildId: string;
  appId: string;
  imageId: number;
  /** The exact body to send (builds started before the documented contract send the fields below). */
  body?: VendorUpdateBody;
  /** The image family: the image is remembered as published, so retention never deletes it. */
  family?: string;
  version?: string;
  reasonForUpdate?: string;
  osVersion?: string;
  softwareIncluded?: { name: string; version: string }[];
}

/** What the Vendor API said: `busy` is its 400 for an app pending or in review: wait and try again. */
export type PublishAttempt = { kind: 'submitted'; status: AppStatus } | { kind: 'busy'; message: string };

export interface AppStatus {
  /** The status value as DigitalOcean wrote it (`pending`, `inReview`, …). */
  value: string;
  /** ISO time of the status's last change. */
  lastUpdated?: string;
  reason?: string;
  /** The image the update or review concerns (the unpublished version's, else the live one's). */
  imageId?: number;
  /** Every image the app's versions list (live and unpublished): none of them may be deleted. */
  imageIds?: number[];
  /** The listing's revision number. */
  version?: number;
}

export interface PublishedRecord {
  family: string;
  appId: string;
  imageId: number;
  buildId: string;
  packages: Record<string, string>;
  /** The image id the spec's base slug resolved to: a new base image is a reason to publish again. */
  baseImageId?: number;
  review: string;
  at: string;
}

export interface PublishOutcome {
  state:
    | 'rejected-by-operator'
    | 'approval-timed-out'
    | 'unchanged'
    | 'submitted'
    | 'approved'
    | 'review-rejected'
    | 'review-timed-out';
  by?: string;
  reason?: string;
  /** Times the Vendor API said the app was busy before it took the update. */
  busyRetries?: number;
  /** What DigitalOcean answered to the update (app version, status, lastUpdated). */
  submitted?: AppStatus;
  review?: AppStatus;
}

/** A status value in one spelling: `inReview`, `in review`, `in-review` and `IN_REVIEW` are one state. */
export type ReviewState = 'pending' | 'in-review' | 'approved' | 'rejected' | 'other';

export function reviewState(value: string): ReviewState {
  const v = value.toLowerCase().replace(/[^a-z]/g, '');
  if (v === 'pending' || v === 'submitted') return 'pending';
  if (v === 'inreview' || v === 'reviewing' || v === 'underreview') return 'in-review';
  if (v === 'approved' || v === 'published' || v === 'live' || v === 'active') return 'approved';
  if (v === 'rejected' || v === 'declined' || v === 'denied') return 'rejected';
  return 'other';
}

export function isUnderReview(value: string): boolean {
  const s = reviewState(value);
  return s === 'pending' || s === 'in-review';
}

/**
 * The update exactly as the spec asks for it: fields the spec leaves out are left out; software
 * whose version is "detect" takes the installed package's version, and is left out when the image
 * has no such package. A list that ends up empty is left out — unless the spec itself said [].
 */
export function vendorUpdateBody(
  mp: MarketplacePlan,
  imageId: number,
  image: { os?: { prettyName: string }; packages: Record<string, string> },
): VendorUpdateBody {
  const body: VendorUpdateBody = { imageId };
  if (mp.version !== undefined) body.version = mp.version;
  if (mp.reasonForUpdate !== undefined) body.reasonForUpdate = mp.reasonForUpdate;
  if (mp.osVersion === 'detect') {
    if (image.os?.prettyName) body.osVersion = image.os.prettyName;
  } else if (mp.osVersion !== undefined) body.osVersion = mp.osVersion;
  if (mp.software !== undefined) {
    const list: SoftwareIncluded[] = [];
    for (const raw of mp.software) {
      const e = typeof raw === 'string' ? { name: raw } : raw;
      const version =
        e.version === undefined || e.version === 'detect' ? image.packages[e.package ?? e.name] : e.version;
      if (version === undefined) continue;
      const { package: _pkg, ...rest } = e;
      list.push({ ...rest, version });
    }
    if (list.length > 0 || mp.software.length === 0) body.softwareIncluded = list;
  }
  return body;
}
