/** The lab's records: what DigitalOcean would keep about droplets, actions, images, keys and tags. */
import type { RunningDroplet } from '../droplets/runtime';

export type DropletStatus = 'new' | 'active' | 'off' | 'archive';
export type ActionStatus = 'in-progress' | 'completed' | 'errored';

export interface DropletRecord {
  id: number;
  name: string;
  region: string;
  size: string;
  imageId: number;
  status: DropletStatus;
  /** True while an action (create included) runs: new actions get 422 pending event. */
  locked: boolean;
  createdAt: string;
  userData: string | undefined;
  monitoring: boolean;
  dropletAgent: boolean;
  ipv6: boolean;
  /** private_networking or a vpc_uuid asked for: networks.v4 lists the private address. */
  privateNetworking: boolean;
  /** The VPC asked for; undefined: the region's default VPC. */
  vpcUuid: string | undefined;
  ipv4: string | undefined;
  privateIpv4: string | undefined;
  snapshotIds: number[];
  actionIds: number[];
  /** The team of the token that created it: its snapshots belong to that team's account. */
  team: string;
  /** Unique on this machine: the runtime's machine, netns and cgroup name. */
  machineName: string;
  /** Resolves to the runtime's droplet once created (undefined if creation failed). */
  machine: Promise<RunningDroplet | undefined>;
  /** Why the next exit of the machine happens, when the lab itself caused it. */
  expectingExit: string | undefined;
  /** Aborted when the droplet is deleted: whatever waits on its machine stops waiting. */
  gone: AbortController;
}

export interface ActionRecord {
  id: number;
  type: string;
  status: ActionStatus;
  startedAt: string;
  completedAt: string | null;
  resourceId: number;
  resourceType: 'droplet' | 'image';
  region: string;
}

export interface ImageRecord {
  id: number;
  name: string;
  type: 'base' | 'snapshot';
  slug: string | null;
  description: string;
  regions: string[];
  createdAt: string;
  minDiskSize: number;
  sizeGigabytes: number;
  public: boolean;
  /** Snapshots: the team whose account holds it (the creator's; /_lab/images can change it). */
  team?: string;
  /** A base image replaced by a newer one under its slug (POST /_lab/distributions/{slug}). */
  retired?: boolean;
  /** Distribution images: the runtime's base tree; snapshots: the archive under the state dir. */
  source: { kind: 'distribution'; slug: string } | { kind: 'snapshot'; archivePath: string; dropletId: number };
}

export interface SshKeyRecord {
  id: number;
  name: string;
  publicKey: string;
  /** MD5 colon-hex of the key blob, as DigitalOcean names keys. */
  fingerprint: string;
}

export interface TagRecord {
  name: string;
  droplets: Set<number>;
  images: Set<number>;
  /** The URI of the last resource tagged, as DigitalOcean reports it. */
  lastTaggedUri: string | undefined;
}

/** Review states of a Marketplace app at DigitalOcean's Vendor API, in its camel case (see vendor.ts). */
export const VENDOR_STATUSES = ['pending', 'inReview', 'approved', 'rejected'] as const;
export type VendorStatus = (typeof VENDOR_STATUSES)[number];

/** Kinds of Marketplace app: only a droplet 1-click takes an image through the Vendor API. */
export const VENDOR_APP_TYPES = ['droplet', 'kubernetes', 'saas'] as const;
export type VendorAppType = (typeof VENDOR_APP_TYPES)[number];

/** The team of every token the lab accepts, unless LabServerOptions.tokenTeams says otherwise. */
export const DEFAULT_TEAM = 'lab-team';

export interface VendorSoftware {
  name: string;
  version: string;
  releaseNotes?: string;
  website?: string;
  licenseType?: string;
  licenseLink?: string;
}

export interface VendorEmergencyContact {
  name: string;
  email: string;
  phone?: string;
}

/** How the lab's review of the next update goes: pending for pendingMs, inReview for inReviewMs, then outcome. */
export interface VendorReviewConfig {
  pendingMs: number;
  inReviewMs: number;
  outcome: 'approved' | 'rejected';
  /** status.reason once the review ends (e.g. why it was rejected). */
  reason: string;
}

/** The listing's data: what an update changes (and what it leaves). */
export interface VendorCustomData {
  version: string;
  osVersion: string;
  description: string;
  summary: string;
  imageLabel: string;
  /** null until the app is first updated in the lab (when it was seeded without one). */
  imageId: number | null;
  imageName: string;
  imageDescription: string;
  reasonForUpdate: string;
  softwareIncluded: VendorSoftware[];
}

/** One revision of a listing: the live one (current) or the one submitted and not live (unpublished). */
export interface VendorAppVersion {
  version: number;
  customData: VendorCustomData;
}

/** A request the Vendor API received for an app, as received (PATCH bodies, for tests to inspect). */
export interface VendorReceived {
  at: string;
  method: string;
  path: string;
  status: number;
  body: unknown;
}

/** A Marketplace listing as the Vendor API returns it, plus the review the lab is running on it. */
export interface VendorAppRecord {
  id: string;
  name: string;
  type: VendorAppType;
  /** Whose listing it is: only tokens of this team may read or update it. */
  team: string;
  /** The listing's revision: +1 per accepted update. */
  version: number;
  /** lastUpdated in epoch milliseconds, as DigitalOcean returns it. */
  status: { value: VendorStatus; lastUpdated: number; modifiedBy: string; reason: string };
  emergencyContacts: VendorEmergencyContact[];
  /** The latest submitted data (what a PATCH answers with). */
  customData: VendorCustomData;
  /** The revision that is live, if any. */
  current: VendorAppVersion | null;
  /** The revision submitted and not (yet) live: pending, in review or rejected. */
  unpublished: VendorAppVersion | null;
  /** Applies to the next update. */
  review: VendorReviewConfig;
  /** The review started by the last update (its config as it was then); undefined once it ended. */
  running: { startedAt: number; config: VendorReviewConfig } | undefined;
  /** Every request with a body the Vendor API received for this app, in order. */
  received: VendorReceived[];
}
