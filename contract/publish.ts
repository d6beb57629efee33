/** Publishing to the Marketplace: the update sent, the Vendor API's answers, the outcome recorded. */

export interface PublishInput {
  buildId: string;
  appId: string;
  imageId: number;
  version: string;
  reasonForUpdate: string;
  osVersion: string;
  softwareIncluded: { name: string; version: string }[];
}

/** What the Vendor API said: `busy` is its 400 (pending or in review): wait and try again. */
export type PublishAttempt = { kind: 'submitted'; status: AppStatus } | { kind: 'busy'; message: string };

export interface AppStatus {
  value: string;
  lastUpdated?: string;
  reason?: string;
  imageId?: number;
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
  review?: AppStatus;
}
