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
