/**
 * apt-cacher-ng's transfer log (apt-cacher.log): one line per transfer,
 * "time|I|bytes|client|path" for what it fetched from the mirror (a miss) and
 * "time|O|bytes|client|path" for what it served to a client. A package served but not fetched
 * came from the cache.
 */
import { readFile } from 'node:fs/promises';

export interface AptCacheTraffic {
  /** Files served to droplets, and of them packages (.deb). */
  served: number;
  packagesServed: number;
  /** Packages fetched from the mirror (misses); the rest of packagesServed were hits. */
  packagesFetched: number;
  bytesServed: number;
  bytesFetched: number;
}

export function parseTransferLog(text: string): AptCacheTraffic {
  const t: AptCacheTraffic = { served: 0, packagesServed: 0, packagesFetched: 0, bytesServed: 0, bytesFetched: 0 };
  for (const line of text.split('\n')) {
    const [, kind, bytes, , file] = line.split('|');
    if (file === undefined) continue;
    const deb = file.endsWith('.deb');
    if (kind === 'O') {
      t.served++;
      t.bytesServed += Number(bytes) || 0;
      if (deb) t.packagesServed++;
    } else if (kind === 'I') {
      t.bytesFetched += Number(bytes) || 0;
      if (deb) t.packagesFetched++;
    }
  }
  return t;
}

export async function readTransferLog(file: string): Promise<AptCacheTraffic> {
  return parseTransferLog(await readFile(file, 'utf8').catch(() => ''));
}
