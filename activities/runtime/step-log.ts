/**
 * A step's output: kept in the store (so `client logs` works after the worker is gone), its last
 * lines kept for the failure summary, and its last line sent as the heartbeat. The worker's
 * secret values are masked before any of that; stdout and stderr are read apart (a line of one
 * is never split by the other), and every line is bounded (output-lines.ts). What the store has
 * not yet taken is bounded too: past BACKLOG_BYTES the command is paused until it catches up.
 */
import { Context } from '@temporalio/activity';
import type { BlobStore } from '../../context/store';
import { beat } from './heartbeat';
import { maskPatterns, maskText } from './masker';
import { OutputLines } from './output-lines';

export { stepLogKey } from '../../contract/names';

export type OutputStream = 'stdout' | 'stderr';

const TAIL = 20;
/** A tail line goes into the step's result (the workflow's history) and `client status`. */
export const TAIL_LINE_CHARS = 1000;
const FLUSH_CHARS = 1 << 20;
const BACKLOG_BYTES = 8 << 20;

export class StepLog {
  private readonly lines: string[] = [];
  private readonly patterns: string[];
  private readonly streams: Record<OutputStream, OutputLines>;
  private pending = '';
  private lastBeat = 0;
  private flushing: Promise<void> = Promise.resolve();
  /** Bytes handed to the store and not yet written. */
  private backlog = 0;
  /** Why a write to the store failed, the first time it did (the step goes on; the log is then incomplete). */
  private lost: string | undefined;

  /** `secrets`: values masked wherever the output goes. */
  constructor(
    private readonly store: BlobStore,
    private readonly key: string,
    secrets: Iterable<string> = [],
  ) {
    this.patterns = maskPatterns(secrets);
    this.streams = {
      stdout: new OutputLines(this.patterns, (l) => this.push(l)),
      stderr: new OutputLines(this.patterns, (l) => this.push(l)),
    };
  }

  /** Marks a new attempt in the log, so retries read apart. */
  begin(title: string): void {
    let attempt = 1;
    try {
      attempt = Context.current().info.attempt;
    } catch {
      // not in an activity (tests)
    }
    this.pending += `\n=== ${maskText(title, this.patterns)} (attempt ${attempt}, ${new Date().toISOString()})\n`;
  }

  /** Output of the command, as it arrives. */
  write(chunk: Buffer | string, stream: OutputStream = 'stdout'): void {
    this.streams[stream].write(chunk);
  }

  /** Set while the store lags far behind: the caller should pause the command until it settles. */
  get storeLagging(): Promise<void> | undefined {
    return this.backlog > BACKLOG_BYTES ? this.flushing : undefined;
  }

  /** The command's output is over: its last lines (without newline, or held back by the masker) are taken. */
  endOutput(): void {
    this.streams.stdout.end();
    this.streams.stderr.end();
  }

  /** A line of the worker's own (an exit code, an error) after the command's output. */
  note(text: string): void {
    this.endOutput();
    for (const line of maskText(text, this.patterns).split('\n')) this.push(line);
  }

  private push(line: string): void {
    this.lines.push(line.length > TAIL_LINE_CHARS ? `${line.slice(0, TAIL_LINE_CHARS)} …` : line);
    if (this.lines.length > TAIL) this.lines.shift();
    this.pending += `${line}\n`;
    const now = Date.now();
    if (now - this.lastBeat > 1000) {
      this.lastBeat = now;
      beat({ lastLine: line.slice(0, 200) });
      void this.flush();
    } else if (this.pending.length > FLUSH_CHARS) void this.flush();
  }

  /** The last lines, each at most TAIL_LINE_CHARS (with the lines still being printed). */
  tail(): string[] {
    const open = [this.streams.stdout.partial, this.streams.stderr.partial]
      .filter(Boolean)
      .map((l) => (l.length > TAIL_LINE_CHARS ? `${l.slice(0, TAIL_LINE_CHARS)} …` : l));
    return [...this.lines, ...open].slice(-TAIL);
  }

  async flush(): Promise<void> {
    const data = this.pending;
    this.pending = '';
    if (!data) return this.flushing;
    const bytes = Buffer.from(data);
    this.backlog += bytes.length;
    this.flushing = this.flushing
      .then(() => this.store.append(this.key, bytes))
      .catch((err: unknown) => {
        // The error's own words only (a store error names the key and cause, never the log's text).
        this.lost ??= err instanceof Error ? err.message.split('\n')[0]!.slice(0, 300) : String(err);
      })
      .finally(() => {
        this.backlog -= bytes.length;
      });
    return this.flushing;
  }

  /** Set when part of the log never reached the store: said in the step's result and by `client status`. */
  get warning(): string | undefined {
    return this.lost === undefined
      ? undefined
      : `the step log could not be stored whole (${maskText(this.lost, this.patterns)}): \`client logs\` misses some of its output`;
  }

  async close(): Promise<void> {
    this.endOutput();
    await this.flush();
  }
}
