/**
 * Where build contexts (and step logs) live so that any worker can read them: a local folder by
 * default; S3-compatible storage when configured. Keys are plain relative names
 * ("contexts/sha256-<hex>.tar", "logs/<build>/<step>.log").
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface BlobStore {
  readonly description: string;
  has(key: string): Promise<boolean>;
  get(key: string): Promise<Buffer | undefined>;
  put(key: string, data: Buffer): Promise<void>;
  append(key: string, data: Buffer): Promise<void>;
}

export function defaultStoreDir(): string {
  const cache = process.env.IMAGE_FORGE_CACHE ?? path.join(os.homedir(), '.cache', 'image-forge');
  return process.env.IMAGE_FORGE_STORE_DIR ?? path.join(cache, 'store');
}

export class LocalDirStore implements BlobStore {
  constructor(readonly root: string = defaultStoreDir()) {}

  get description(): string {
    return `local folder ${this.root}`;
  }

  private file(key: string): string {
    if (key.split('/').some((part) => part === '..' || part === '')) throw new Error(`bad store key ${key}`);
    return path.join(this.root, key);
  }

  async has(key: string): Promise<boolean> {
    return fs.stat(this.file(key)).then(
      () => true,
      () => false,
    );
  }

  async get(key: string): Promise<Buffer | undefined> {
    return fs.readFile(this.file(key)).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
  }

  async put(key: string, data: Buffer): Promise<void> {
    const file = this.file(key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    // Write then rename: a reader never sees half an object.
    // A name no other write shares, in this process or another (two writes can share a millisecond).
    const tmp = `${file}.${randomBytes(8).toString('hex')}.tmp`;
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  }

  async append(key: string, data: Buffer): Promise<void> {
    const file = this.file(key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.appendFile(file, data);
  }
}
