/**
 * Build contexts and step logs in S3-compatible storage (DigitalOcean Spaces in production; any
 * S3 API such as AWS S3 or Versity S3 Gateway works).
 *
 * - Uploads carry Content-MD5, so the server refuses bytes that changed on the way (BadDigest).
 *   Content-MD5 rather than x-amz-checksum-*: every S3-compatible server (Spaces included)
 *   verifies it. The SDK's own default CRC32 checksums are turned off (`WHEN_REQUIRED`) because
 *   not every S3-compatible server accepts those headers.
 * - S3 has no append. A log key's appended data is stored as numbered part objects
 *   `<key>.part-0000000000`, `<key>.part-0000000001`, …, each written with `If-None-Match: *` so
 *   two writers never overwrite each other's part (the loser re-lists and takes the next
 *   number). `get` returns the object at `<key>` (if any) followed by its parts in order; `has`
 *   is true when either exists; `put` replaces the object and removes its parts. This matches
 *   LocalDirStore (put = replace, append = add to the end) at one extra request per append.
 * - Every failure becomes a StoreError with one clear sentence and no credentials in it; the
 *   ones only a person can fix (missing bucket, rejected key, unknown host, bad endpoint) are
 *   StoreConfigError, which is permanent: retrying it cannot help.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { BlobStore } from './store';
import { StoreConfigError, StoreError, code, describeS3Failure, status } from './s3-errors';

export { StoreConfigError, StoreError } from './s3-errors';

export interface S3StoreConfig {
  /** e.g. https://nyc3.digitaloceanspaces.com; absent = AWS S3 itself. */
  endpoint?: string;
  /** Default us-east-1 (Spaces accepts it for every region). */
  region?: string;
  bucket: string;
  /** Folder inside the bucket that holds every key, e.g. "image-forge". */
  prefix?: string;
  /** Default: true for an IP address or localhost endpoint, else false (virtual-host style). */
  forcePathStyle?: boolean;
  /** SDK attempts per request (transient network errors and 5xx), default 3. */
  maxAttempts?: number;
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** The environment variables they came from, for messages ("AWS_ACCESS_KEY_ID and …"). */
  source: string;
}

type Env = Record<string, string | undefined>;

/**
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), as the AWS SDK reads them;
 * else SPACES_KEY / SPACES_SECRET, the names DigitalOcean's docs use.
 */
export function s3CredentialsFromEnv(env: Env = process.env): S3Credentials {
  const pairs: Array<[string, string]> = [
    ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
    ['SPACES_KEY', 'SPACES_SECRET'],
  ];
  for (const [idName, secretName] of pairs) {
    const id = env[idName]?.trim();
    const secret = env[secretName]?.trim();
    if (!id && !secret) continue;
    if (!id || !secret) {
      throw new StoreConfigError(
        `${id ? secretName : idName} is not set (but ${id ? idName : secretName} is): set both to the key and secret of a Spaces access key`,
      );
    }
    const token = idName === 'AWS_ACCESS_KEY_ID' ? env.AWS_SESSION_TOKEN?.trim() : undefined;
    return {
      accessKeyId: id,
      secretAccessKey: secret,
      ...(token ? { sessionToken: token } : {}),
      source: `${idName} and ${secretName}`,
    };
  }
  throw new StoreConfigError(
    'no credentials for S3 storage: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or SPACES_KEY and SPACES_SECRET) to the key and secret of a Spaces access key',
  );
}

const PART_DIGITS = 10;
const PART_RE = /\.part-(\d+)$/;
const READ_CONCURRENCY = 8;

export class S3Store implements BlobStore {
  /** The SDK client (tests add middleware to it, e.g. to count uploads). */
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly endpoint: string;
  readonly credentialSource: string;
  /** Next free part number of each log key this process appends to. */
  private readonly nextPart = new Map<string, number>();
  /** Operations on one key run one after the other, so appends stay in order. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private conditionalWrites = true;

  constructor(config: S3StoreConfig, env: Env = process.env) {
    if (!config.bucket) throw new StoreConfigError('no S3 bucket given: set IMAGE_FORGE_S3_BUCKET');
    this.bucket = config.bucket;
    this.prefix = (config.prefix ?? '').replace(/^\/+|\/+$/g, '');
    let pathStyle = config.forcePathStyle;
    if (config.endpoint) {
      let url: URL;
      try {
        url = new URL(config.endpoint);
      } catch {
        url = new URL('invalid:');
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw new StoreConfigError(
          `S3 endpoint "${config.endpoint}" is not an http(s) URL: set IMAGE_FORGE_S3_ENDPOINT to e.g. https://nyc3.digitaloceanspaces.com`,
        );
      }
      const host = url.hostname.replace(/^\[|\]$/g, '');
      pathStyle ??= isIP(host) !== 0 || host === 'localhost';
      this.endpoint = config.endpoint.replace(/\/+$/, '');
    } else {
      this.endpoint = `AWS S3 (${config.region ?? 'us-east-1'})`;
    }
    const creds = s3CredentialsFromEnv(env);
    this.credentialSource = creds.source;
    this.client = new S3Client({
      region: config.region ?? 'us-east-1',
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      forcePathStyle: pathStyle ?? false,
      credentials: {
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
        ...(creds.sessionToken ? { sessionToken: creds.sessionToken } : {}),
      },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: config.maxAttempts ?? 3,
      // A black-holed endpoint fails in seconds instead of hanging; requestTimeout is per idle socket.
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
    });
  }

  get description(): string {
    return `S3 bucket ${this.bucket}${this.prefix ? ` (prefix ${this.prefix}/)` : ''} at ${this.endpoint}`;
  }

  /** Closes the SDK's kept-alive connections. */
  destroy(): void {
    this.client.destroy();
  }

  /** A cheap request that fails with a clear StoreConfigError when bucket, key or endpoint are wrong. */
  async check(): Promise<void> {
    // ListObjectsV2 rather than HeadBucket: HEAD answers have no body, so an unknown key and a
    // missing bucket can look alike (both 404 on some servers); a listing names the error.
    await this.call('check', '', () =>
      this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.objectKey('.check'), MaxKeys: 1 })),
    );
  }

  async has(key: string): Promise<boolean> {
    const full = this.objectKey(key);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: full }));
      return true;
    } catch (e) {
      if (status(e) !== 404) throw this.failure('check for', key, e);
    }
    // Not there as one object: maybe as log parts. (The listing also turns a 404 that really
    // meant "no such bucket" or "unknown key" into its clear error.)
    return (await this.listParts(key, full, 1)).length > 0;
  }

  async get(key: string): Promise<Buffer | undefined> {
    const full = this.objectKey(key);
    const [base, parts] = await Promise.all([this.getObject(key, full), this.listParts(key, full)]);
    if (parts.length === 0) return base;
    const bodies = await mapLimit(parts, READ_CONCURRENCY, async (p) => {
      const body = await this.getObject(key, p.key);
      if (!body)
        throw new StoreError(
          `${key} in the ${this.description} changed while it was read (part ${p.n} vanished): read it again`,
        );
      return body;
    });
    return Buffer.concat(base ? [base, ...bodies] : bodies);
  }

  async put(key: string, data: Buffer): Promise<void> {
    const full = this.objectKey(key);
    await this.serial(full, async () => {
      await this.putObject(key, full, data, false);
      // put replaces: drop parts appended before (none for build contexts).
      for (const p of await this.listParts(key, full)) {
        await this.call('delete', key, () =>
          this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: p.key })),
        );
      }
      this.nextPart.set(full, 0);
    });
  }

  async append(key: string, data: Buffer): Promise<void> {
    const full = this.objectKey(key);
    await this.serial(full, async () => {
      let n = this.nextPart.get(full) ?? (await this.firstFreePart(key, full));
      for (let attempt = 1; ; attempt++) {
        try {
          await this.putObject(key, partKey(full, n), data, this.conditionalWrites);
          this.nextPart.set(full, n + 1);
          return;
        } catch (e) {
          const s = status(e);
          if ((s === 412 || s === 409) && attempt < 10) {
            // Another writer took that number: continue after the last part there is.
            n = Math.max(n + 1, await this.firstFreePart(key, full));
            continue;
          }
          if (s === 501 && this.conditionalWrites && attempt < 10) {
            // A server without conditional writes: plain writes (one writer per log key).
            this.conditionalWrites = false;
            continue;
          }
          throw e instanceof StoreError ? e : this.failure('append to', key, e);
        }
      }
    });
  }

  private objectKey(key: string): string {
    if (key.split('/').some((part) => part === '..' || part === '' || part === '.'))
      throw new Error(`bad store key ${key}`);
    if (PART_RE.test(key))
      throw new Error(`bad store key ${key}: names ending in .part-<n> are reserved for appended data`);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private async putObject(key: string, full: string, data: Buffer, ifNoneMatch: boolean): Promise<void> {
    const md5 = createHash('md5').update(data).digest('base64');
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: full,
          Body: data,
          ContentLength: data.length,
          ContentMD5: md5,
          ContentType: 'application/octet-stream',
          ...(ifNoneMatch ? { IfNoneMatch: '*' } : {}),
        }),
      );
    } catch (e) {
      const s = status(e);
      // The append loop handles "part taken" and "no conditional writes" itself.
      if (ifNoneMatch && (s === 412 || s === 409 || (s === 501 && code(e) === 'NotImplemented'))) throw e;
      throw this.failure('upload', key, e);
    }
  }

  private async getObject(key: string, full: string): Promise<Buffer | undefined> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: full }));
      if (!res.Body) return Buffer.alloc(0);
      const bytes = await res.Body.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (e) {
      if (code(e) === 'NoSuchKey') return undefined;
      throw this.failure('download', key, e);
    }
  }

  private async listParts(key: string, full: string, max?: number): Promise<Array<{ key: string; n: number }>> {
    const parts: Array<{ key: string; n: number }> = [];
    let token: string | undefined;
    do {
      const input = {
        Bucket: this.bucket,
        Prefix: `${full}.part-`,
        ...(token ? { ContinuationToken: token } : {}),
        ...(max ? { MaxKeys: max } : {}),
      };
      const res = await this.call('list parts of', key, () => this.client.send(new ListObjectsV2Command(input)));
      for (const o of res.Contents ?? []) {
        const m = o.Key?.slice(full.length).match(/^\.part-(\d+)$/);
        if (o.Key && m?.[1]) parts.push({ key: o.Key, n: Number(m[1]) });
      }
      token = res.IsTruncated && !max ? res.NextContinuationToken : undefined;
    } while (token);
    return parts.sort((a, b) => a.n - b.n);
  }

  private async firstFreePart(key: string, full: string): Promise<number> {
    const parts = await this.listParts(key, full);
    return parts.length ? parts[parts.length - 1]!.n + 1 : 0;
  }

  private async call<T>(op: string, key: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (e) {
      throw this.failure(op, key, e);
    }
  }

  private serial<T>(full: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(full) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.queues.set(full, tail);
    void tail.then(() => {
      if (this.queues.get(full) === tail) this.queues.delete(full);
    });
    return run;
  }

  /** One clear sentence for an SDK or network error, without credentials. */
  failure(op: string, key: string, e: unknown): StoreError {
    return describeS3Failure(op, key, e, this);
  }
}

function partKey(full: string, n: number): string {
  return `${full}.part-${String(n).padStart(PART_DIGITS, '0')}`;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
