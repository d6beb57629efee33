/**
 * The one place the worker talks to DigitalOcean (dots-wrapper). Every call goes through `call`,
 * which retries transient faults (429 honouring retry-after, 5xx, timeouts, resets) and turns
 * every error into a DoApiError that carries no request config — dots-wrapper's raw axios errors
 * hold the token in `config.headers`, so they never leave this file.
 */
import { createApiClient } from 'dots-wrapper';
import type { RequestPacer } from './request-pacer';
import { doRequests, statusLabel } from './metrics';
import { setTimeout as sleep } from 'node:timers/promises';

export type DoClient = ReturnType<typeof createApiClient>;

export class DoApiError extends Error {
  override name = 'DoApiError';
  constructor(
    message: string,
    /** HTTP status, or undefined for a network-level failure. */
    readonly status: number | undefined,
    /** DigitalOcean's error id, e.g. "unprocessable_entity". */
    readonly errorId: string | undefined,
    /** Seconds the server asked us to wait (429). */
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(message);
  }

  /** Bad input or credentials: retrying the same request cannot help. */
  get permanent(): boolean {
    if (this.status === 401 || this.status === 403 || this.status === 404) return true;
    return this.status === 422 && !this.isPendingEvent;
  }

  get isPendingEvent(): boolean {
    return this.status === 422 && /pending event|blocking events/i.test(this.message);
  }

  get transient(): boolean {
    return !this.permanent && !this.isPendingEvent;
  }
}

export interface DoApiOptions {
  token: string;
  /** e.g. the lab's http://127.0.0.1:8585/v2; DigitalOcean's own API when undefined. */
  endpoint?: string;
  requestTimeoutMs?: number;
  /** In-call retries for transient faults before giving up to Temporal's retry policy. */
  maxAttempts?: number;
  /** Shared by every call of the worker: keeps them under the burst limit (none: unpaced). */
  pacer?: RequestPacer;
}

/** How a call retries transient faults: a build's spec `api:` (Packer's http_retry_*), in seconds. */
export interface RetrySettings {
  /** Retries after the first attempt (default 5). */
  retryMax?: number;
  /** Wait before the first retry (default 0.25 s); doubles each retry… */
  retryWaitMin?: number;
  /** …up to this (default 8 s). */
  retryWaitMax?: number;
}

export class DoApi {
  readonly client: DoClient;
  private readonly maxAttempts: number;
  private readonly waitMinMs: number;
  private readonly waitMaxMs: number;
  private readonly pacer: RequestPacer | undefined;

  constructor(opts: DoApiOptions, client?: DoClient, retry: RetrySettings = {}) {
    this.pacer = opts.pacer;
    this.client =
      client ??
      createApiClient({
        token: opts.token,
        ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
        requestTimeoutInMs: opts.requestTimeoutMs ?? 30_000,
      });
    this.maxAttempts = retry.retryMax !== undefined ? retry.retryMax + 1 : (opts.maxAttempts ?? 6);
    this.waitMinMs = (retry.retryWaitMin ?? 0.25) * 1000;
    this.waitMaxMs = Math.max(this.waitMinMs, (retry.retryWaitMax ?? 8) * 1000);
  }

  /** The same client (token, endpoint) retrying as `retry` says; undefined keeps this one's. */
  withRetry(retry: RetrySettings | undefined): DoApi {
    if (!retry || Object.keys(retry).length === 0) return this;
    return new DoApi({ token: '', ...(this.pacer && { pacer: this.pacer }) }, this.client, {
      retryMax: retry.retryMax ?? this.maxAttempts - 1,
      retryWaitMin: retry.retryWaitMin ?? this.waitMinMs / 1000,
      retryWaitMax: retry.retryWaitMax ?? this.waitMaxMs / 1000,
    });
  }

  /** Attempts per call (1 + retries), for callers that retry by hand (create). */
  get attempts(): number {
    return this.maxAttempts;
  }

  /** The wait before retry number `retry` (1-based): retryWaitMin doubling up to retryWaitMax. */
  backoffMs(retry: number): number {
    return Math.min(this.waitMaxMs, this.waitMinMs * 2 ** (retry - 1));
  }

  /**
   * Runs one API call, retrying transient faults with backoff; throws only DoApiError.
   * `retry: false` for calls that are not safe to repeat blindly (create). `ownLimit`: the endpoint
   * has a limit of its own (listing SSH keys: 10 a minute), so its 429 waits alone and does not
   * hold back the worker's other calls.
   */
  async call<T>(
    what: string,
    fn: (c: DoClient) => Promise<T>,
    opts: { retry?: boolean; ownLimit?: boolean } = {},
  ): Promise<T> {
    const attempts = opts.retry === false ? 1 : this.maxAttempts;
    // Whom a 429's retry-after holds back: every call of the worker (the token's limits), or this one.
    const shared = opts.ownLimit ? undefined : this.pacer;
    for (let attempt = 1; ; attempt++) {
      await this.pacer?.turn();
      try {
        const answer = await fn(this.client);
        // dots-wrapper answers with the axios response: its status when it has one.
        const status = (answer as { status?: unknown } | null | undefined)?.status;
        doRequests.inc({ status: typeof status === 'number' ? statusLabel(status) : '2xx' });
        return answer;
      } catch (raw) {
        const err = toDoApiError(what, raw);
        doRequests.inc({ status: statusLabel(err.status) });
        const retryAfterMs =
          err.retryAfterSeconds !== undefined ? Math.min(err.retryAfterSeconds * 1000, 60_000) : undefined;
        if (retryAfterMs !== undefined) shared?.pause(retryAfterMs / 1000);
        if (!err.transient || attempt >= attempts) throw err;
        // Paused, the pacer's next turn comes after the retry-after; otherwise this call waits alone.
        if (retryAfterMs === undefined || !shared) await sleep(retryAfterMs ?? this.backoffMs(attempt));
      }
    }
  }
}

/** Scrubs an axios error down to what is safe to show: status, DigitalOcean's message, retry-after. */
export function toDoApiError(what: string, raw: unknown): DoApiError {
  if (raw instanceof DoApiError) return raw;
  const e = raw as {
    response?: { status?: number; data?: unknown; headers?: Record<string, unknown> };
    code?: string;
    message?: string;
  };
  const status = e.response?.status;
  if (status === undefined) {
    // Network level: no response. Only the error code is safe to repeat.
    const code = e.code ?? 'network error';
    return new DoApiError(`${what}: DigitalOcean API unreachable (${code})`, undefined, undefined, undefined);
  }
  const data = e.response?.data;
  let id: string | undefined;
  let message: string;
  if (data && typeof data === 'object' && 'message' in data) {
    id = typeof (data as { id?: unknown }).id === 'string' ? (data as unknown as { id: string }).id : undefined;
    message = String((data as { message: unknown }).message);
  } else {
    // 5xx bodies are sometimes HTML: say so rather than echoing a page.
    message = typeof data === 'string' && data.trimStart().startsWith('<') ? 'an HTML error page' : 'no error message';
  }
  const ra = e.response?.headers?.['retry-after'];
  const retryAfter = ra !== undefined && !Number.isNaN(Number(ra)) ? Number(ra) : undefined;
  const hint =
    status === 401
      ? " (check the worker's DIGITALOCEAN_TOKEN)"
      : status === 403
        ? ' (the token lacks the needed scope)'
        : '';
  return new DoApiError(`${what}: HTTP ${status} ${message}${hint}`, status, id, retryAfter);
}
