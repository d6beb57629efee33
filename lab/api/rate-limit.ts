/**
 * DigitalOcean's hourly request budget per token, with its headers on every response:
 * `ratelimit-limit`, `ratelimit-remaining`, `ratelimit-reset` (Unix seconds); 429 + retry-after
 * once the budget is spent.
 */
import { createHash } from 'node:crypto';

export interface RateLimitResult {
  headers: Record<string, string>;
  limited: boolean;
  retryAfterSeconds: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { resetAt: number; used: number }>();

  constructor(
    readonly limit = 5000,
    private readonly windowMs = 3_600_000,
  ) {}

  /** Counts one request for this token. Keys are hashes: no token is kept in memory as such. */
  take(token: string, now = Date.now()): RateLimitResult {
    const key = createHash('sha256').update(token).digest('hex');
    let b = this.buckets.get(key);
    if (!b || b.resetAt <= now) {
      b = { resetAt: now + this.windowMs, used: 0 };
      this.buckets.set(key, b);
    }
    const limited = b.used >= this.limit;
    if (!limited) b.used++;
    const retryAfterSeconds = Math.max(1, Math.ceil((b.resetAt - now) / 1000));
    return {
      limited,
      retryAfterSeconds,
      headers: {
        'ratelimit-limit': String(this.limit),
        'ratelimit-remaining': String(Math.max(0, this.limit - b.used)),
        'ratelimit-reset': String(Math.ceil(b.resetAt / 1000)),
      },
    };
  }
}
