/**
 * The lab's append-only audit log: JSON lines, one per request and one per state change, so a
 * test can count what was created and what is left. Never holds a token or an Authorization header.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type AuditEvent =
  | {
      type: 'request';
      method: string;
      path: string;
      query?: string;
      status: number;
      ms: number;
      requestId: string;
      fault?: string;
    }
  | {
      type: 'droplet.created';
      dropletId: number;
      name: string;
      image: number;
      region: string;
      size: string;
      machineName: string;
      vpcUuid: string | null;
      privateNetworking: boolean;
      ipv6: boolean;
      monitoring: boolean;
      userDataBytes: number;
    }
  | { type: 'droplet.active'; dropletId: number; ipv4: string; privateIpv4?: string }
  | { type: 'droplet.off'; dropletId: number; reason: string }
  | { type: 'droplet.deleted'; dropletId: number }
  | { type: 'droplet.destroyed'; dropletId: number; machineName: string }
  | { type: 'droplet.destroy_failed'; dropletId: number; machineName: string; error: string }
  | { type: 'droplet.boot_failed'; dropletId: number; error: string }
  | {
      type: 'action.status';
      actionId: number;
      actionType: string;
      resourceType: string;
      resourceId: number;
      status: string;
      error?: string;
    }
  | { type: 'image.created'; imageId: number; name: string; dropletId: number; sizeBytes: number }
  | { type: 'image.region_added'; imageId: number; region: string }
  | { type: 'image.deleted'; imageId: number }
  /** A new base image under a distribution slug (as DigitalOcean refreshes them); the one it replaced is retired. */
  | { type: 'image.base_published'; slug: string; imageId: number; replaced: number }
  | { type: 'key.created'; keyId: number; fingerprint: string }
  | { type: 'key.deleted'; keyId: number; fingerprint: string }
  | { type: 'tag.created'; tag: string }
  | { type: 'vendor.app_created'; appId: string; name: string; status: string }
  /** An accepted update: the listing's new revision, its image and app version. */
  | { type: 'vendor.update'; appId: string; revision: number; imageId: number; version: string }
  /** A Vendor API request with a body, the body as received (after authentication), and the answer's status. */
  | { type: 'vendor.request'; appId: string; method: string; path: string; status: number; body: unknown }
  /** A Marketplace app's status changed: by an update, by the review (at = when, on the review's clock), or by /_lab. */
  | {
      type: 'vendor.review';
      appId: string;
      from: string;
      to: string;
      cause: 'update' | 'review' | 'lab';
      at: string;
      reason?: string;
    }
  | { type: 'lab.started'; endpoint: string }
  | { type: 'lab.closed'; destroyed: number };

export class AuditLog {
  private readonly counts = new Map<string, number>();

  constructor(private readonly file?: string) {
    if (file) mkdirSync(dirname(file), { recursive: true });
  }

  /** Called after each event: every state change is one (the lab saves its state then). */
  onRecord: (() => void) | undefined;

  record(event: AuditEvent): void {
    this.counts.set(event.type, (this.counts.get(event.type) ?? 0) + 1);
    this.onRecord?.();
    if (!this.file) return;
    // Synchronous append: whoever reads the file (a test, `tail -f`) sees every line at once,
    // in order, and a crash loses nothing. The lab's volume makes the cost irrelevant.
    appendFileSync(this.file, JSON.stringify({ ts: new Date().toISOString(), ...event }) + '\n');
  }

  /** How many events of each type were recorded so far. */
  totals(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
