/**
 * DigitalOcean's request limits per token, as its API reference states them: 5,000 requests an
 * hour and 250 a minute (the "burst limit"), each request counted for one whole hour (or minute)
 * after it was made, not in fixed windows. Every response carries `ratelimit-limit` (the hourly
 * figure), `ratelimit-remaining` and `ratelimit-reset` (Unix seconds: when the oldest counted
 * request expires). Past either limit: 429 with `retry-after`, and `ratelimit-remaining` reads 0
 * (the reference: "can also indicate that the burst limit ... was met"). Listing SSH keys has its
 * own limit: 10 GETs of /v2/account/keys a minute.
 * Inferred (the reference is silent): a refused request is not counted; retry-after is the
 * seconds until the request that frees a place expires, at least 1.
 */
import { createHash } from 'node:crypto';

export interface RateLimitResult {
  headers: Record<string, string>;
  limited: boolean;
  retryAfterSeconds: number;
}

export interface RateLimits {
  perHour: number;
  perMinute: number;
  /** GETs of /v2/account/keys (the SSH key list) a minute. */
  keyListsPerMinute: number;
}

export const DIGITALOCEAN_RATE_LIMITS: RateLimits = { perHour: 5000, perMinute: 250, keyListsPerMinute: 10 };

const HOUR = 3_600_000;
const MINUTE = 60_000;

/** The times of one token's counted requests within the last window, oldest first. */
class SlidingLog {
  private readonly times: number[] = [];
  private start = 0;

  constructor(private readonly windowMs: number) {}

  /** How many requests were counted in the window ending now. */
  count(now: number): number {
    while (this.start < this.times.length && this.times[this.start]! + this.windowMs <= now) this.start++;
    // Drop the expired head now and then, not on every request.
    if (this.start > 1024 && this.start * 2 > this.times.length) {
      this.times.splice(0, this.start);
      this.start = 0;
    }
    return this.times.length - this.start;
  }

  /** When the oldest counted request expires (call count first). */
  expiry(): number | undefined {
    const t = this.times[this.start];
    return t === undefined ? undefined : t + this.windowMs;
  }

  add(now: number): void {
    this.times.push(now);
  }
}

interface Bucket {
  hour: SlidingLog;
  minute: SlidingLog;
  keyLists: SlidingLog;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  readonly limits: RateLimits;

  constructor(limits: Partial<RateLimits> = {}) {
    this.limits = { ...DIGITALOCEAN_RATE_LIMITS, ...limits };
  }

  /**
   * Counts one request for this token, unless a limit refuses it. `listsKeys`: the request is a
   * GET of the SSH key list. Keys are hashes: no token is kept in memory as such.
   */
  take(token: string, now = Date.now(), listsKeys = false): RateLimitResult {
    const key = createHash('sha256').update(token).digest('hex');
    let b = this.buckets.get(key);
    if (!b) {
      b = { hour: new SlidingLog(HOUR), minute: new SlidingLog(MINUTE), keyLists: new SlidingLog(MINUTE) };
      this.buckets.set(key, b);
    }
    const { perHour, perMinute, keyListsPerMinute } = this.limits;
    // Each full log frees a place when its oldest counted request expires.
    const full: SlidingLog[] = [];
    if (b.hour.count(now) >= perHour) full.push(b.hour);
    if (b.minute.count(now) >= perMinute) full.push(b.minute);
    if (listsKeys && b.keyLists.count(now) >= keyListsPerMinute) full.push(b.keyLists);
    const limited = full.length > 0;
    if (!limited) {
      b.hour.add(now);
      b.minute.add(now);
      if (listsKeys) b.keyLists.add(now);
    }
    const freeAt = Math.max(now, ...full.map((log) => log.expiry() ?? now));
    const remaining = limited ? 0 : perHour - b.hour.count(now);
    return {
      limited,
      retryAfterSeconds: Math.max(1, Math.ceil((freeAt - now) / 1000)),
      headers: {
        'ratelimit-limit': String(perHour),
        'ratelimit-remaining': String(Math.max(0, remaining)),
        'ratelimit-reset': String(Math.ceil((b.hour.expiry() ?? now + HOUR) / 1000)),
      },
    };
  }
}
