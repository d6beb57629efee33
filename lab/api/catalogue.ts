/** The lab's fixed catalogue: a few regions and sizes, and the distribution images the runtime can boot. */

export interface Region {
  slug: string;
  name: string;
}

export interface Size {
  slug: string;
  memory: number;
  vcpus: number;
  /** GB, as DigitalOcean counts disk; also the droplet's bounded disk in GiB. */
  disk: number;
  transfer: number;
  priceMonthly: number;
  description: string;
}

export interface Distribution {
  id: number;
  slug: string;
  name: string;
  description: string;
  minDiskSize: number;
  sizeGigabytes: number;
  createdAt: string;
}

export const REGIONS: readonly Region[] = [
  { slug: 'nyc3', name: 'New York 3' },
  { slug: 'sfo3', name: 'San Francisco 3' },
  { slug: 'ams3', name: 'Amsterdam 3' },
  { slug: 'fra1', name: 'Frankfurt 1' },
];

export const SIZES: readonly Size[] = [
  { slug: 's-1vcpu-512mb-10gb', memory: 512, vcpus: 1, disk: 10, transfer: 0.5, priceMonthly: 4, description: 'Basic' },
  { slug: 's-1vcpu-1gb', memory: 1024, vcpus: 1, disk: 25, transfer: 1, priceMonthly: 6, description: 'Basic' },
  { slug: 's-2vcpu-2gb', memory: 2048, vcpus: 2, disk: 60, transfer: 3, priceMonthly: 18, description: 'Basic' },
];

/** Everything the lab might offer; only those whose base tree the runtime has are served. */
export const DISTRIBUTIONS: readonly Distribution[] = [
  {
    id: 170000012,
    slug: 'debian-12-x64',
    name: '12 x64',
    description: 'Debian 12 x64',
    minDiskSize: 10,
    sizeGigabytes: 0.4,
    createdAt: '2023-06-10T00:00:00Z',
  },
  {
    id: 170000013,
    slug: 'debian-13-x64',
    name: '13 x64',
    description: 'Debian 13 x64',
    minDiskSize: 10,
    sizeGigabytes: 0.4,
    createdAt: '2025-08-09T00:00:00Z',
  },
];

/** What DigitalOcean lists for a region today; clients only look at the slug. */
export const REGION_FEATURES = ['backups', 'ipv6', 'metadata', 'install_agent', 'storage', 'image_transfer'];

export function region(slug: string): Region | undefined {
  return REGIONS.find((r) => r.slug === slug);
}

export function size(slug: string): Size | undefined {
  return SIZES.find((s) => s.slug === slug);
}

export function hourly(s: Size): number {
  return Math.round((s.priceMonthly / 672) * 100000) / 100000;
}
