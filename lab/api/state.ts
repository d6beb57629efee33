/**
 * The lab's state: records and their ids, and every state change — each one goes through here
 * so that each is written to the audit log exactly once.
 */
import { randomInt } from 'node:crypto';
import type { AuditLog } from './audit';
import type {
  ActionRecord,
  ActionStatus,
  DropletRecord,
  DropletStatus,
  ImageRecord,
  SshKeyRecord,
  TagRecord,
  VendorAppRecord,
  VendorCustomData,
  VendorStatus,
} from './model';

export class LabState {
  readonly droplets = new Map<number, DropletRecord>();
  readonly actions = new Map<number, ActionRecord>();
  /** Snapshot images (distribution images come from the catalogue). */
  readonly images = new Map<number, ImageRecord>();
  readonly keys = new Map<number, SshKeyRecord>();
  readonly tags = new Map<string, TagRecord>();
  /** Base images published under a distribution slug since the start (the catalogue's otherwise), by slug. */
  readonly baseImages = new Map<string, ImageRecord>();
  /** Base images a newer one replaced under their slug: still found by id, as `retired`. */
  readonly retiredBaseImages = new Map<number, ImageRecord>();
  /** Marketplace apps of the Vendor API, by app id. */
  readonly vendorApps = new Map<string, VendorAppRecord>();

  // Random bases, like DigitalOcean's large ids: a restarted lab never reuses an id.
  private nextDroplet = 300_000_000 + randomInt(10_000_000) * 10;
  private nextAction = 1_500_000_000 + randomInt(10_000_000) * 10;
  private nextImage = 190_000_000 + randomInt(1_000_000) * 10;
  private nextKey = 40_000_000 + randomInt(1_000_000) * 10;

  constructor(readonly audit: AuditLog) {}

  /** After loading saved records: new ids come after every loaded one. */
  reserveIds(used: { droplet: number[]; action: number[]; image: number[]; key: number[] }): void {
    const after = (next: number, ids: number[]) => Math.max(next, ...ids.map((i) => i + 1));
    this.nextDroplet = after(this.nextDroplet, used.droplet);
    this.nextAction = after(this.nextAction, used.action);
    this.nextImage = after(this.nextImage, used.image);
    this.nextKey = after(this.nextKey, used.key);
  }

  dropletId(): number {
    return this.nextDroplet++;
  }

  imageId(): number {
    return this.nextImage++;
  }

  /** A new base image under `current`'s slug: the slug now resolves to it; `current` is retired. */
  publishBaseImage(current: ImageRecord, next: ImageRecord): void {
    this.retiredBaseImages.set(current.id, { ...current, slug: null, retired: true });
    this.baseImages.set(next.slug!, next);
    this.audit.record({ type: 'image.base_published', slug: next.slug!, imageId: next.id, replaced: current.id });
  }

  addDroplet(d: DropletRecord): void {
    this.droplets.set(d.id, d);
    this.audit.record({
      type: 'droplet.created',
      dropletId: d.id,
      name: d.name,
      image: d.imageId,
      region: d.region,
      size: d.size,
      machineName: d.machineName,
      // What the create asked for besides: tests read the network options here after the droplet is gone.
      vpcUuid: d.vpcUuid ?? null,
      privateNetworking: d.privateNetworking,
      ipv6: d.ipv6,
      monitoring: d.monitoring,
      userDataBytes: d.userData === undefined ? 0 : Buffer.byteLength(d.userData),
    });
  }

  setDropletStatus(d: DropletRecord, status: DropletStatus, reason: string): void {
    if (d.status === status || !this.droplets.has(d.id)) return;
    d.status = status;
    if (status === 'active')
      this.audit.record({
        type: 'droplet.active',
        dropletId: d.id,
        ipv4: d.ipv4 ?? '',
        ...(d.privateNetworking && d.privateIpv4 ? { privateIpv4: d.privateIpv4 } : {}),
      });
    if (status === 'off') this.audit.record({ type: 'droplet.off', dropletId: d.id, reason });
  }

  removeDroplet(d: DropletRecord): void {
    if (!this.droplets.delete(d.id)) return;
    this.untagAll('droplet', d.id);
    this.audit.record({ type: 'droplet.deleted', dropletId: d.id });
  }

  startAction(type: string, resourceType: 'droplet' | 'image', resourceId: number, region: string): ActionRecord {
    const a: ActionRecord = {
      id: this.nextAction++,
      type,
      status: 'in-progress',
      startedAt: now(),
      completedAt: null,
      resourceId,
      resourceType,
      region,
    };
    this.actions.set(a.id, a);
    this.audit.record({
      type: 'action.status',
      actionId: a.id,
      actionType: type,
      resourceType,
      resourceId,
      status: a.status,
    });
    return a;
  }

  finishAction(a: ActionRecord, status: Exclude<ActionStatus, 'in-progress'>, error?: string): void {
    if (a.status !== 'in-progress') return;
    a.status = status;
    a.completedAt = now();
    this.audit.record({
      type: 'action.status',
      actionId: a.id,
      actionType: a.type,
      resourceType: a.resourceType,
      resourceId: a.resourceId,
      status,
      ...(error ? { error } : {}),
    });
  }

  addKey(name: string, publicKey: string, fingerprint: string): SshKeyRecord {
    const k = { id: this.nextKey++, name, publicKey, fingerprint };
    this.keys.set(k.id, k);
    this.audit.record({ type: 'key.created', keyId: k.id, fingerprint });
    return k;
  }

  removeKey(k: SshKeyRecord): void {
    if (this.keys.delete(k.id)) this.audit.record({ type: 'key.deleted', keyId: k.id, fingerprint: k.fingerprint });
  }

  findKey(idOrFingerprint: string | number): SshKeyRecord | undefined {
    const s = String(idOrFingerprint);
    if (/^\d+$/.test(s)) return this.keys.get(Number(s));
    return [...this.keys.values()].find((k) => k.fingerprint === s);
  }

  addImage(img: ImageRecord, sizeBytes: number): void {
    this.images.set(img.id, img);
    const dropletId = img.source.kind === 'snapshot' ? img.source.dropletId : 0;
    this.audit.record({ type: 'image.created', imageId: img.id, name: img.name, dropletId, sizeBytes });
  }

  addImageRegion(img: ImageRecord, region: string): void {
    if (!this.images.has(img.id) || img.regions.includes(region)) return;
    img.regions.push(region);
    this.audit.record({ type: 'image.region_added', imageId: img.id, region });
  }

  removeImage(img: ImageRecord): void {
    if (!this.images.delete(img.id)) return;
    this.untagAll('image', img.id);
    this.audit.record({ type: 'image.deleted', imageId: img.id });
  }

  ensureTag(name: string): TagRecord {
    let t = this.tags.get(name);
    if (!t) {
      t = { name, droplets: new Set(), images: new Set(), lastTaggedUri: undefined };
      this.tags.set(name, t);
      this.audit.record({ type: 'tag.created', tag: name });
    }
    return t;
  }

  tag(t: TagRecord, kind: 'droplet' | 'image', id: number, uri: string): void {
    (kind === 'droplet' ? t.droplets : t.images).add(id);
    t.lastTaggedUri = uri;
  }

  tagsOf(kind: 'droplet' | 'image', id: number): string[] {
    return [...this.tags.values()]
      .filter((t) => (kind === 'droplet' ? t.droplets : t.images).has(id))
      .map((t) => t.name);
  }

  addVendorApp(app: VendorAppRecord): void {
    this.vendorApps.set(app.id, app);
    this.audit.record({ type: 'vendor.app_created', appId: app.id, name: app.name, status: app.status.value });
  }

  /** A Vendor API update: its data the next revision (not live yet), the app `pending`, its review started. */
  updateVendorApp(
    app: VendorAppRecord,
    customData: VendorCustomData & { imageId: number },
    modifiedBy: string,
    startedAt: number,
  ): void {
    app.customData = customData;
    app.version++;
    const copy = { ...customData, softwareIncluded: [...customData.softwareIncluded] };
    app.unpublished = { version: app.version, customData: copy };
    const { imageId, version } = customData;
    this.audit.record({ type: 'vendor.update', appId: app.id, revision: app.version, imageId, version });
    this.setVendorStatus(app, 'pending', { at: startedAt, modifiedBy, reason: '', cause: 'update' });
    app.running = { startedAt, config: { ...app.review } };
  }

  /** `approved` makes the unpublished revision (if any) the live one; `rejected` leaves it unpublished. */
  setVendorStatus(
    app: VendorAppRecord,
    to: VendorStatus,
    how: { at: number; modifiedBy: string; reason: string; cause: 'update' | 'review' | 'lab' },
  ): void {
    const from = app.status.value;
    app.status = { value: to, lastUpdated: how.at, modifiedBy: how.modifiedBy, reason: how.reason };
    if (to === 'approved' && app.unpublished) {
      app.current = app.unpublished;
      app.unpublished = null;
    }
    const at = new Date(how.at).toISOString();
    this.audit.record({
      type: 'vendor.review',
      appId: app.id,
      from,
      to,
      cause: how.cause,
      at,
      ...(how.reason ? { reason: how.reason } : {}),
    });
  }

  private untagAll(kind: 'droplet' | 'image', id: number): void {
    for (const t of this.tags.values()) (kind === 'droplet' ? t.droplets : t.images).delete(id);
  }
}

export function now(): string {
  return new Date().toISOString();
}
