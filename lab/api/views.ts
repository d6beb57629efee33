/** Records rendered the way DigitalOcean's API renders them (field names and shapes from its OpenAPI document). */
import { REGION_FEATURES, REGIONS, SIZES, hourly, region as findRegion, size as findSize } from './catalogue';
import type { Distribution, Region, Size } from './catalogue';
import type { ActionRecord, DropletRecord, ImageRecord, SshKeyRecord, TagRecord } from './model';
import type { LabState } from './state';

export function regionView(r: Region) {
  return { name: r.name, slug: r.slug, features: REGION_FEATURES, available: true, sizes: SIZES.map((s) => s.slug) };
}

export function sizeView(s: Size) {
  return {
    slug: s.slug,
    memory: s.memory,
    vcpus: s.vcpus,
    disk: s.disk,
    transfer: s.transfer,
    price_monthly: s.priceMonthly,
    price_hourly: hourly(s),
    regions: REGIONS.map((r) => r.slug),
    available: true,
    description: s.description,
    disk_info: [{ type: 'local', size: { amount: s.disk, unit: 'gib' } }],
  };
}

export function distributionImage(d: Distribution): ImageRecord {
  return {
    id: d.id,
    name: d.name,
    type: 'base',
    slug: d.slug,
    description: d.description,
    regions: REGIONS.map((r) => r.slug),
    createdAt: d.createdAt,
    minDiskSize: d.minDiskSize,
    sizeGigabytes: d.sizeGigabytes,
    public: true,
    source: { kind: 'distribution', slug: d.slug },
  };
}

export function imageView(state: LabState, img: ImageRecord) {
  return {
    id: img.id,
    name: img.name,
    type: img.type,
    distribution: 'Debian',
    slug: img.slug,
    public: img.public,
    regions: img.regions,
    created_at: img.createdAt,
    min_disk_size: img.minDiskSize,
    size_gigabytes: img.sizeGigabytes,
    description: img.description,
    tags: state.tagsOf('image', img.id),
    status: img.retired ? 'retired' : 'available',
    error_message: '',
  };
}

/** `/v2/snapshots`: string ids, the source droplet as resource. */
export function snapshotView(state: LabState, img: ImageRecord) {
  return {
    id: String(img.id),
    name: img.name,
    created_at: img.createdAt,
    regions: img.regions,
    min_disk_size: img.minDiskSize,
    size_gigabytes: img.sizeGigabytes,
    resource_id: img.source.kind === 'snapshot' ? String(img.source.dropletId) : '',
    resource_type: 'droplet',
    tags: state.tagsOf('image', img.id),
  };
}

/** `/v2/droplets/{id}/snapshots`: integer ids, image-like. */
export function dropletSnapshotView(img: ImageRecord) {
  return {
    id: img.id,
    name: img.name,
    distribution: 'Debian',
    slug: null,
    public: false,
    regions: img.regions,
    created_at: img.createdAt,
    min_disk_size: img.minDiskSize,
    size_gigabytes: img.sizeGigabytes,
    type: 'snapshot',
  };
}

export function dropletView(state: LabState, d: DropletRecord, image: ImageRecord | undefined) {
  const s = findSize(d.size)!;
  const r = findRegion(d.region)!;
  const features = [
    'private_networking',
    ...(d.ipv6 ? ['ipv6'] : []),
    ...(d.monitoring ? ['monitoring'] : []),
    ...(d.dropletAgent ? ['droplet_agent'] : []),
  ];
  const up = d.status !== 'new';
  const v4 = [
    ...(d.ipv4 && up ? [publicV4(d.ipv4)] : []),
    ...(d.privateNetworking && d.privateIpv4 && up ? [privateV4(d.privateIpv4)] : []),
  ];
  return {
    id: d.id,
    name: d.name,
    memory: s.memory,
    vcpus: s.vcpus,
    disk: s.disk,
    disk_info: [{ type: 'local', size: { amount: s.disk, unit: 'gib' } }],
    locked: d.locked,
    status: d.status,
    kernel: null,
    created_at: d.createdAt,
    features,
    backup_ids: [],
    next_backup_window: null,
    snapshot_ids: d.snapshotIds.filter((id) => state.images.has(id)),
    image: image ? imageView(state, image) : deletedImage(d),
    volume_ids: [],
    size: sizeView(s),
    size_slug: s.slug,
    networks: { v4, v6: d.ipv6 && d.ipv4 && up ? [publicV6(d.id)] : [] },
    region: regionView(r),
    tags: state.tagsOf('droplet', d.id),
    vpc_uuid: d.vpcUuid ?? vpcUuid(r.slug),
  };
}

/** The runtime puts each droplet in a /30 with the host at .1 and the droplet at .2 (lab/droplets/network.ts). */
function publicV4(ip: string) {
  const parts = ip.split('.').map(Number);
  const last = parts[3] ?? 0;
  const gateway = [...parts.slice(0, 3), (last & ~3) + 1].join('.');
  return { ip_address: ip, netmask: '255.255.255.252', gateway, type: 'public' };
}

/** The private address (lab/droplets/network.ts: a /32 on eth0, routed from the host). */
function privateV4(ip: string) {
  return { ip_address: ip, netmask: '255.255.240.0', gateway: '', type: 'private' };
}

/** An IPv6 address in the documentation range: listed, never configured (the lab has no IPv6). */
function publicV6(id: number) {
  const ip = `2001:db8:1::${((id >>> 16) & 0xffff).toString(16)}:${(id & 0xffff).toString(16)}`;
  return { ip_address: ip, netmask: 64, gateway: '2001:db8:1::1', type: 'public' };
}

/** A droplet keeps showing its image after the snapshot it came from was deleted. */
function deletedImage(d: DropletRecord) {
  return {
    id: d.imageId,
    name: 'deleted image',
    type: 'snapshot',
    distribution: 'Debian',
    slug: null,
    public: false,
    regions: [],
    status: 'deleted',
  };
}

function vpcUuid(region: string): string {
  const hex = Buffer.from(region.padEnd(6, '0')).toString('hex').padEnd(12, '0').slice(0, 12);
  return `5a4f1c2e-0000-4000-8000-${hex}`;
}

export function actionView(a: ActionRecord) {
  const r = findRegion(a.region);
  return {
    id: a.id,
    status: a.status,
    type: a.type,
    started_at: a.startedAt,
    completed_at: a.completedAt,
    resource_id: a.resourceId,
    resource_type: a.resourceType,
    ...(r ? { region: regionView(r) } : {}),
    region_slug: a.region,
  };
}

export function keyView(k: SshKeyRecord) {
  return { id: k.id, fingerprint: k.fingerprint, public_key: k.publicKey, name: k.name };
}

export function tagView(t: TagRecord) {
  const count = (n: number) => ({
    count: n,
    ...(t.lastTaggedUri && n > 0 ? { last_tagged_uri: t.lastTaggedUri } : {}),
  });
  return {
    name: t.name,
    resources: {
      ...count(t.droplets.size + t.images.size),
      droplets: count(t.droplets.size),
      images: count(t.images.size),
      volumes: { count: 0 },
      volume_snapshots: { count: 0 },
      databases: { count: 0 },
    },
  };
}
