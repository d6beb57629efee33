/** How S3 failures become one sentence a person can act on, with no credentials in it. */

/** A storage failure. Retryable unless `permanent`. */
export class StoreError extends Error {
  override name = 'StoreError';
  readonly permanent: boolean = false;
}

/** The store is configured wrongly (bucket, credentials, endpoint): retrying cannot help. */
export class StoreConfigError extends StoreError {
  override name = 'StoreConfigError';
  override readonly permanent: boolean = true;
}

/** What a failure message may name about the store. */
export interface StoreFacts {
  bucket: string;
  endpoint: string;
  description: string;
  /** Where the credentials came from (names of variables, never values). */
  credentialSource: string;
}

interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  errors?: unknown[];
}

/** One clear sentence for an SDK or network error, without credentials. */
export function describeS3Failure(op: string, key: string, e: unknown, store: StoreFacts): StoreError {
  if (e instanceof StoreError) return e;
  const c = code(e);
  const s = status(e);
  const what = key ? `${op} ${key}` : op;
  const missingBucket = `bucket ${store.bucket} does not exist at ${store.endpoint}: create it or fix IMAGE_FORGE_S3_BUCKET`;
  if (c === 'NoSuchBucket') return new StoreConfigError(missingBucket);
  if (c === 'InvalidBucketName')
    return new StoreConfigError(
      `${store.bucket} is not a valid bucket name at ${store.endpoint}: fix IMAGE_FORGE_S3_BUCKET`,
    );
  const credentialCodes = [
    'InvalidAccessKeyId',
    'SignatureDoesNotMatch',
    'XAdminUserNotFound',
    'AccessDenied',
    'InvalidToken',
    'ExpiredToken',
    'InvalidSecurity',
    'AuthorizationHeaderMalformed',
  ];
  if ((c && credentialCodes.includes(c)) || s === 401 || s === 403) {
    return new StoreConfigError(
      `${store.endpoint} rejected the access key for bucket ${store.bucket} (${c ?? `HTTP ${s}`}): check ${store.credentialSource} ` +
        '(the key must exist, the secret must be its own, and the key must be allowed to read and write the bucket)',
    );
  }
  if (c === 'RequestTimeTooSkewed') {
    return new StoreConfigError(
      `${store.endpoint} refused the request because this machine's clock is off (RequestTimeTooSkewed): fix the clock (NTP)`,
    );
  }
  const net = networkCode(e);
  if (net === 'ENOTFOUND') {
    return new StoreConfigError(
      `cannot find the host of the S3 endpoint ${store.endpoint} (ENOTFOUND): check IMAGE_FORGE_S3_ENDPOINT`,
    );
  }
  if (net && (net.startsWith('ERR_SSL') || net.startsWith('ERR_TLS') || net.includes('CERT'))) {
    return new StoreConfigError(
      `TLS with the S3 endpoint ${store.endpoint} failed (${net}): check IMAGE_FORGE_S3_ENDPOINT (http or https, host name)`,
    );
  }
  if (net || (e as SdkError | undefined)?.name === 'TimeoutError') {
    return new StoreError(
      `cannot reach the S3 endpoint ${store.endpoint} (${net ?? 'timeout'}) to ${what}: check IMAGE_FORGE_S3_ENDPOINT and that the server is up`,
    );
  }
  if (c === 'BadDigest' || c === 'XAmzContentSHA256Mismatch' || c === 'InvalidDigest') {
    return new StoreError(
      `the ${store.description} refused the upload of ${key}: the bytes it received do not match their checksum (${c}); upload it again`,
    );
  }
  const detail = [c, s ? `HTTP ${s}` : undefined].filter(Boolean).join(', ');
  const msg = (e as SdkError | undefined)?.message;
  const extra = msg && msg !== c && msg !== 'UnknownError' ? `: ${msg.slice(0, 300)}` : '';
  return new StoreError(`could not ${what} in the ${store.description} (${detail || 'unknown error'})${extra}`);
}

export function status(e: unknown): number | undefined {
  return (e as SdkError | undefined)?.$metadata?.httpStatusCode;
}

/** The S3 error code (NoSuchBucket, …), if the server sent one (HEAD answers have none). */
export function code(e: unknown): string | undefined {
  const err = e as SdkError | undefined;
  if (!err?.$metadata) return undefined;
  const c = err.Code ?? err.name;
  return c && c !== 'Unknown' && c !== 'NotFound' && c !== 'Forbidden' ? c : undefined;
}

/** ECONNREFUSED etc. for errors below HTTP (also inside an AggregateError from happy eyeballs). */
function networkCode(e: unknown): string | undefined {
  const err = e as SdkError | undefined;
  if (!err || err.$metadata?.httpStatusCode) return undefined;
  if (typeof err.code === 'string' && /^(E[A-Z]+|ERR_[A-Z_]+|[A-Z_]*CERT[A-Z_]*)$/.test(err.code)) return err.code;
  for (const inner of err.errors ?? []) {
    const c = networkCode(inner);
    if (c) return c;
  }
  return undefined;
}
