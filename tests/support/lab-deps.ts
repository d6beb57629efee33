/** A worker's activity deps against a lab (its API and Vendor API), for tests that call activities directly. */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { activityDeps } from '../../activities/remote/activity-deps';
import type { ActivityDeps } from '../../activities/runtime/deps';
import { LocalDirStore } from '../../context/store';
import type { LabServer } from '../../lab/api/server';
import { DoApi } from '../../platform/digitalocean';
import { ed25519FromSeed } from '../../platform/host-key';
import type { HostKey } from '../../platform/host-key';
import { VendorApi } from '../../platform/vendor-api';
import { readLoginKeyFromText } from './keys';

/** A fresh login key, a store and context cache in `dir`, no worker secrets allowed. */
export function labActivityDeps(
  lab: LabServer,
  token: string,
  dir: string,
  extra: Partial<ActivityDeps> = {},
): { deps: ActivityDeps; key: HostKey } {
  const key = ed25519FromSeed(randomBytes(32));
  const deps = activityDeps({
    api: new DoApi({ token, endpoint: lab.endpoint }),
    login: readLoginKeyFromText(key.privateOpenSsh, key.publicOpenSsh),
    store: new LocalDirStore(join(dir, 'store')),
    contextCacheDir: join(dir, 'cache'),
    vendor: new VendorApi(`${lab.origin}/api/v1/vendor-portal`, token, 5000),
    workerEnv: {},
    workerSecrets: [],
    ...extra,
  });
  return { deps, key };
}
