/**
 * Runs the build's steps one at a time and keeps their records. A step that fails for good does
 * not fail the build: it waits for an operator (operator-desk.ts) to retry it, skip it (where
 * that is safe) or abort the build. What the build shows while it runs is in progress.ts.
 */
import * as wf from '@temporalio/workflow';
import { ActivityFailure, ApplicationFailure, isCancellation } from '@temporalio/workflow';
import type { BuildInput, StepRecord } from '../../contract/build';
import { stateQuery } from '../../contract/operator';
import type { BuildStatusValue } from '../../contract/search-attributes';
import { OperatorDesk } from './operator-desk';
import type { Leeway } from './operator-desk';
import { BuildProgress } from './progress';

const DAY = 24 * 60 * 60 * 1000;

export class BuildAborted extends Error {
  override name = 'BuildAborted';
}

type StepFn<T> = (contextDigest: string, summary: string) => Promise<T>;

export class StepRunner {
  readonly progress: BuildProgress;
  readonly desk: OperatorDesk;

  constructor(private readonly input: BuildInput) {
    this.progress = new BuildProgress(input.buildId, input.plan.name, input.contextDigest);
    this.desk = new OperatorDesk(this.progress);
    wf.setHandler(stateQuery, () => this.progress.state());
  }

  get records(): StepRecord[] {
    return this.progress.records;
  }

  get abortReason(): string | undefined {
    return this.desk.abortReason;
  }

  /** The scope the recipe runs in: an abort cancels it, so a running step stops at once. */
  get scope(): wf.CancellationScope {
    return this.desk.scope;
  }

  /** Runs a step that must succeed (or be retried by the operator). */
  async run<T>(name: string, summary: string, fn: StepFn<T>): Promise<T> {
    return (await this.attempt(name, summary, fn, 'none')) as T;
  }

  /** Runs a step the operator may skip; undefined when skipped. */
  async runSkippable<T>(name: string, summary: string, fn: StepFn<T>): Promise<T | undefined> {
    return this.attempt(name, summary, fn, 'skip');
  }

  /** Runs a check the operator may accept despite its failure; `accepted` holds the failure then. */
  async runAcceptable<T>(name: string, summary: string, fn: StepFn<T>): Promise<{ value: T } | { accepted: string }> {
    const value = await this.attempt(name, summary, fn, 'accept');
    if (value !== undefined) return { value };
    return { accepted: this.records.filter((r) => r.name === name).at(-1)?.error ?? 'failed' };
  }

  /**
   * Runs a check whose failure ends the build at once (no operator to ask: nothing exists yet to
   * retry against). Throws a non-retryable failure with the activity's own message and type.
   */
  async runFinal<T>(name: string, summary: string, fn: (summary: string) => Promise<T>): Promise<T> {
    const rec: StepRecord = { name, summary, state: 'running', attempts: 1, startedAt: new Date().toISOString() };
    this.records.push(rec);
    this.progress.publish();
    const t0 = Date.now();
    try {
      const value = await fn(summary);
      rec.state = 'succeeded';
      return value;
    } catch (err) {
      rec.state = 'failed';
      rec.error = describeFailure(err).error ?? 'failed';
      const cause = err instanceof ActivityFailure ? err.cause : err;
      const type = cause instanceof ApplicationFailure && cause.type ? cause.type : 'BuildRefused';
      throw ApplicationFailure.nonRetryable(`${name}: ${rec.error}`, type);
    } finally {
      rec.seconds = (Date.now() - t0) / 1000;
      this.progress.publish();
    }
  }

  /** A wait that is part of the recipe (a person's approval, a review), shown as its own row. */
  async waitFor<T>(name: string, summary: string, status: BuildStatusValue, fn: () => Promise<T>): Promise<T> {
    const rec: StepRecord = { name, summary, state: 'waiting', attempts: 1, startedAt: new Date().toISOString() };
    this.records.push(rec);
    this.progress.status = status;
    this.progress.publish();
    const t0 = Date.now();
    try {
      const value = await fn();
      rec.state = 'succeeded';
      return value;
    } catch (err) {
      rec.state = 'failed';
      rec.error = this.abortReason ?? (err instanceof Error ? err.message : String(err));
      throw err;
    } finally {
      rec.seconds = (Date.now() - t0) / 1000;
      this.progress.status = 'running';
      this.progress.publish();
    }
  }

  end(status: 'succeeded' | 'failed'): void {
    this.progress.status = status;
    this.progress.publish();
  }

  private async attempt<T>(name: string, summary: string, fn: StepFn<T>, leeway: Leeway): Promise<T | undefined> {
    const rec: StepRecord = { name, summary, state: 'running', attempts: 0 };
    this.records.push(rec);
    for (;;) {
      rec.attempts++;
      rec.state = 'running';
      rec.startedAt = new Date().toISOString();
      delete rec.error;
      delete rec.exitCode;
      delete rec.tail;
      delete rec.warning;
      this.progress.publish();
      const t0 = Date.now();
      try {
        const value = await fn(this.progress.contextDigest, summary);
        rec.state = 'succeeded';
        const warning = warningOf(value);
        if (warning) rec.warning = warning;
        rec.seconds = (Date.now() - t0) / 1000;
        this.progress.publish();
        return value;
      } catch (err) {
        rec.seconds = (Date.now() - t0) / 1000;
        if (this.abortReason !== undefined || isCancellation(err)) {
          rec.state = 'failed';
          rec.error = this.abortReason ?? 'cancelled';
          throw err;
        }
        Object.assign(rec, describeFailure(err));
        rec.state = 'waiting-for-operator';
        const timeout = this.input.operatorTimeoutMs ?? DAY;
        const answer = await this.desk.awaitAnswer(name, rec.error ?? 'failed', leeway, timeout);
        if (answer.kind === 'aborted') {
          rec.state = 'failed';
          throw new BuildAborted(this.abortReason);
        }
        if (answer.kind === 'timed-out') {
          rec.state = 'failed';
          const waited = timeout < 120_000 ? `${Math.round(timeout / 1000)} s` : `${Math.round(timeout / 60000)} min`;
          throw ApplicationFailure.nonRetryable(
            `step ${name} failed and no operator answered within ${waited}: ${rec.error}`,
            'OperatorTimeout',
          );
        }
        if (answer.kind === 'skip' || answer.kind === 'accept') {
          rec.state = answer.kind === 'skip' ? 'skipped' : 'accepted';
          this.progress.publish();
          return undefined;
        }
        if (answer.contextDigest) this.progress.contextDigest = answer.contextDigest;
      }
    }
  }
}

/** The failure's own message, and the exit code and last lines a failed script left in its details. */
function describeFailure(err: unknown): Pick<StepRecord, 'error' | 'exitCode' | 'tail'> {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  const out: Pick<StepRecord, 'error' | 'exitCode' | 'tail'> = {
    error: cause instanceof Error ? cause.message : String(cause),
  };
  if (cause instanceof ApplicationFailure && cause.details?.[0] && typeof cause.details[0] === 'object') {
    const d = cause.details[0] as { exitCode?: number; tail?: string[] };
    if (typeof d.exitCode === 'number') out.exitCode = d.exitCode;
    if (Array.isArray(d.tail)) out.tail = d.tail;
  }
  return out;
}

/** A step result's `warning` (CommandResult's), when it has one. */
function warningOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || !('warning' in value)) return undefined;
  const w = (value as { warning?: unknown }).warning;
  return typeof w === 'string' ? w : undefined;
}
