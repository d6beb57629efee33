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
  ipv4: string | undefined;
  snapshotIds: number[];
  actionIds: number[];
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

/** Review states of a Marketplace app at DigitalOcean's Vendor API (see vendor.ts). */
export const VENDOR_STATUSES = ['pending', 'in review', 'approved', 'rejected'] as const;
export type VendorStatus = (typeof VENDOR_STATUSES)[number];

export interface VendorSoftware {
  name: string;
  version: string;
  releaseNotes?: string;
  website?: string;
  licenseType?: string;
  licenseLink?: string;
}

/** How the lab's review of the next update goes: pending for pendingMs, in review for inReviewMs, then outcome. */
export interface VendorReviewConfig {
  pendingMs: number;
  inReviewMs: number;
  outcome: 'approved' | 'rejected';
  /** status.reason once the review ends (e.g. why it was rejected). */
  reason: string;
}

/** A Marketplace listing as the Vendor API returns it, plus the review the lab is running on it. */
export interface VendorAppRecord {
  id: string;
  name: string;
  status: { value: VendorStatus; lastUpdated: string; modifiedBy: string; reason: string };
  customData: {
    version: string;
    osVersion: string;
    /** null until the app is first updated in the lab (when it was seeded without one). */
    imageId: number | null;
    imageName: string;
    reasonForUpdate: string;
    softwareIncluded: VendorSoftware[];
  };
  /** Applies to the next update. */
  review: VendorReviewConfig;
  /** The review started by the last update (its config as it was then); undefined once it ended. */
  running: { startedAt: number; config: VendorReviewConfig } | undefined;
}
