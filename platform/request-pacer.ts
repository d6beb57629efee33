/**
 * Keeps one worker's DigitalOcean calls under the API's burst limit (250 requests a minute per
 * token): every call waits its turn, one every 60/perMinute seconds across all the worker's builds,
 * and a 429's retry-after holds back every call, not only the one refused. Without it 20 builds on
 * one worker made up to 489 requests in a minute, 234 of them refused and retried (bench P5).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pacerWait } from './metrics';

export class RequestPacer {
  private next = 0;
  private pausedUntil = 0;
  private readonly spacingMs: number;

  constructor(readonly perMinute: number) {
    this.spacingMs = 60_000 / perMinute;
  }

  /** Resolves when this call may go out. */
  async turn(): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.next, this.pausedUntil);
    this.next = at + this.spacingMs;
    if (at > now) {
      pacerWait.inc((at - now) / 1000);
      await sleep(at - now);
    }
  }

  /** DigitalOcean said to wait (429 retry-after): no call goes out before then. */
  pause(seconds: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + seconds * 1000);
    this.next = Math.max(this.next, this.pausedUntil);
  }
}
