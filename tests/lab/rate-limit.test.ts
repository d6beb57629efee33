/**
 * The lab's request limits follow DigitalOcean's API reference: each request counts for one whole
 * hour and one whole minute after it was made (no fixed windows), 250 a minute at most, and 10
 * listings of the SSH keys a minute. The clock is passed in: these run in no time.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RateLimiter } from '../../lab/api/rate-limit';

const T0 = 1_800_000_000_000;
const MIN = 60_000;

describe('lab rate limits', () => {
  test('the hourly budget slides: a request frees its place one hour after it was made, not at a reset of all', () => {
    const l = new RateLimiter({ perHour: 3 });
    for (const at of [0, 10, 20]) assert.equal(l.take('t', T0 + at * MIN).limited, false);
    const refused = l.take('t', T0 + 30 * MIN);
    assert.equal(refused.limited, true);
    // The oldest (made at 0) expires at 60 min: 30 minutes from now.
    assert.equal(refused.retryAfterSeconds, 30 * 60);
    assert.equal(refused.headers['ratelimit-remaining'], '0');
    // One hour after the first request one place is free, not three.
    const next = l.take('t', T0 + 60 * MIN);
    assert.equal(next.limited, false);
    assert.equal(next.headers['ratelimit-remaining'], '0');
    // ratelimit-reset: when the oldest counted request (made at 10 min) expires.
    assert.equal(next.headers['ratelimit-reset'], String((T0 + 70 * MIN) / 1000));
    assert.equal(l.take('t', T0 + 60 * MIN + 1).limited, true);
  });

  test('the burst limit: 250 a minute even with the hour far from spent, remaining 0, retry-after until one expires', () => {
    const l = new RateLimiter();
    for (let i = 0; i < 250; i++) {
      const r = l.take('t', T0 + i * 100);
      assert.equal(r.limited, false);
      assert.equal(r.headers['ratelimit-limit'], '5000');
      assert.equal(r.headers['ratelimit-remaining'], String(5000 - i - 1));
    }
    const refused = l.take('t', T0 + 30_000);
    assert.equal(refused.limited, true);
    assert.equal(refused.headers['ratelimit-remaining'], '0');
    assert.equal(refused.retryAfterSeconds, 30);
    // A refused request is not counted: the first one's expiry frees exactly one place.
    assert.equal(l.take('t', T0 + MIN).limited, false);
    assert.equal(l.take('t', T0 + MIN).limited, true);
    assert.equal(l.take('t', T0 + MIN + 100).limited, false);
    // Another token has its own limits.
    assert.equal(l.take('u', T0 + MIN).limited, false);
  });

  test('listing SSH keys: 10 a minute, and other requests still pass meanwhile', () => {
    const l = new RateLimiter();
    for (let i = 0; i < 10; i++) assert.equal(l.take('t', T0 + i * 1000, true).limited, false);
    const refused = l.take('t', T0 + 10_000, true);
    assert.equal(refused.limited, true);
    assert.equal(refused.retryAfterSeconds, 50);
    assert.equal(l.take('t', T0 + 10_000).limited, false);
    assert.equal(l.take('t', T0 + MIN, true).limited, false);
  });

  test('over a long run only the last hour counts', () => {
    const l = new RateLimiter({ perHour: 100_000, perMinute: 100_000 });
    for (let i = 0; i < 20_000; i++) l.take('t', T0 + i * 1000);
    // 20,000 s in: the last hour holds 3,600 requests, one a second, this one included.
    assert.equal(l.take('t', T0 + 20_000 * 1000).headers['ratelimit-remaining'], String(100_000 - 3600));
  });
});
