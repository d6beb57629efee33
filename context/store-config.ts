/**
 * Which BlobStore a client or worker uses, from its environment:
 *
 *   IMAGE_FORGE_S3_BUCKET     set → S3-compatible storage (DigitalOcean Spaces), else a local folder
 *   IMAGE_FORGE_S3_ENDPOINT   e.g. https://nyc3.digitaloceanspaces.com (absent: AWS S3 itself)
 *   IMAGE_FORGE_S3_REGION     default us-east-1 (Spaces accepts it for every region)
 *   IMAGE_FORGE_S3_PREFIX     folder inside the bucket, e.g. image-forge
 *   IMAGE_FORGE_S3_FORCE_PATH_STYLE  1/0 (default: path style for IP/localhost endpoints only)
 *   AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, or SPACES_KEY + SPACES_SECRET: the access key
 *   IMAGE_FORGE_STORE_DIR     the local folder (default <IMAGE_FORGE_CACHE or ~/.cache/image-forge>/store)
 */
import { promises as fs, constants as fsConstants } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { S3Store, StoreConfigError } from './s3-store';
import { LocalDirStore } from './store';
import type { BlobStore } from './store';

type Env = Record<string, string | undefined>;

export function storeFromEnv(env: Env = process.env): BlobStore {
  const bucket = env.IMAGE_FORGE_S3_BUCKET?.trim();
  if (bucket) {
    const endpoint = env.IMAGE_FORGE_S3_ENDPOINT?.trim();
    const region = env.IMAGE_FORGE_S3_REGION?.trim();
    const prefix = env.IMAGE_FORGE_S3_PREFIX?.trim();
    const pathStyle = env.IMAGE_FORGE_S3_FORCE_PATH_STYLE?.trim().toLowerCase();
    let forcePathStyle: boolean | undefined;
    if (pathStyle) {
      if (['1', 'true', 'yes'].includes(pathStyle)) forcePathStyle = true;
      else if (['0', 'false', 'no'].includes(pathStyle)) forcePathStyle = false;
      else throw new StoreConfigError(`IMAGE_FORGE_S3_FORCE_PATH_STYLE must be 1 or 0, not "${pathStyle}"`);
    }
    return new S3Store(
      {
        bucket,
        region: region || 'us-east-1',
        ...(endpoint ? { endpoint } : {}),
        ...(prefix ? { prefix } : {}),
        ...(forcePathStyle !== undefined ? { forcePathStyle } : {}),
      },
      env,
    );
  }
  const cache = env.IMAGE_FORGE_CACHE || path.join(os.homedir(), '.cache', 'image-forge');
  return new LocalDirStore(env.IMAGE_FORGE_STORE_DIR || path.join(cache, 'store'));
}

/**
 * A cheap call at start that surfaces configuration errors (missing bucket, rejected key, wrong
 * endpoint, unwritable folder) before any build depends on the store. Throws StoreConfigError
 * (or StoreError when the endpoint is only unreachable right now).
 */
export async function checkStore(store: BlobStore): Promise<void> {
  if (store instanceof S3Store) {
    await store.check();
    return;
  }
  if (store instanceof LocalDirStore) {
    try {
      await fs.mkdir(store.root, { recursive: true });
      await fs.access(store.root, fsConstants.W_OK);
    } catch (e) {
      throw new StoreConfigError(
        `store folder ${store.root} is not writable (${(e as NodeJS.ErrnoException).code ?? String(e)}): fix IMAGE_FORGE_STORE_DIR`,
      );
    }
  }
}
