/**
 * A step's output: kept whole in the store (so `client logs` works after the worker is gone),
 * its last lines kept for the failure summary, and its last line sent as the heartbeat. Known
 * secret values are masked before any of that.
 */
import { Context } from '@temporalio/activity';
import type { BlobStore } from '../../context/store';
import { beat } from './heartbeat';

export { stepLogKey } from '../../contract/names';

const TAIL = 20;

export class StepLog {
  private readonly lines: string[] = [];
  private pending = '';
  private partial = '';
  private lastBeat = 0;
  private flushing: Promise<void> = Promise.resolve();
  /** Why a write to the store failed, the first time it did (the step goes on; the log is then incomplete). */
  private lost: string | undefined;

  constructor(
    private readonly store: BlobStore,
    private readonly key: string,
    private readonly secrets: string[] = [],
  ) {}

  /** Marks a new attempt in the log, so retries read apart. */
  begin(title: string): void {
    let attempt = 1;
    try {
      attempt = Context.current().info.attempt;
    } catch {
      // not in an activity (tests)
    }
    this.pending += `\n=== ${title} (attempt ${attempt}, ${new Date().toISOString()})\n`;
  }

  write(chunk: Buffer | string): void {
    const text = this.mask(this.partial + chunk.toString());
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.push(line);
  }

  private push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > TAIL) this.lines.shift();
    this.pending += `${line}\n`;
    const now = Date.now();
    if (now - this.lastBeat > 1000) {
      this.lastBeat = now;
      beat({ lastLine: line.slice(0, 200) });
      void this.flush();
    }
  }

  tail(): string[] {
    return this.partial ? [...this.lines, this.partial].slice(-TAIL) : [...this.lines];
  }

  async flush(): Promise<void> {
    const data = this.pending;
    this.pending = '';
    if (!data) return this.flushing;
    this.flushing = this.flushing
      .then(() => this.store.append(this.key, Buffer.from(data)))
      .catch((err: unknown) => {
        // The error's own words only (a store error names the key and cause, never the log's text).
        this.lost ??= err instanceof Error ? err.message.split('\n')[0]!.slice(0, 300) : String(err);
      });
    return this.flushing;
  }

  /** Set when part of the log never reached the store: said in the step's result and by `client status`. */
  get warning(): string | undefined {
    return this.lost === undefined
      ? undefined
      : `the step log could not be stored whole (${this.mask(this.lost)}): \`client logs\` misses some of its output`;
  }

  async close(): Promise<void> {
    if (this.partial) {
      this.push(this.partial);
      this.partial = '';
    }
    await this.flush();
  }

  private mask(text: string): string {
    let out = text;
    for (const s of this.secrets) if (s.length >= 4) out = out.split(s).join('***');
    return out;
  }
}
