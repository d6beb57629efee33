/**
 * Runs the build's steps one at a time and keeps their records. A step that fails for good does
 * not fail the build: it waits for an operator to retry it (possibly with an edited build
 * context), skip it (where that is safe) or abort the build.
 */
import * as wf from '@temporalio/workflow';
import { ActivityFailure, ApplicationFailure, isCancellation } from '@temporalio/workflow';
import type { BuildInput, StepRecord } from './types';
import { abortUpdate, acceptUpdate, approveUpdate, rejectUpdate, retryUpdate, skipUpdate, stateQuery } from './operator';
import type { ApprovalRequest, BuildState, OperatorReply } from './operator';
import { BuildName, BuildStatus, DropletId, FailedStep, SnapshotId } from './search-attributes';
import type { BuildStatusValue } from './search-attributes';

const DAY = 24 * 60 * 60 * 1000;

type Decision = { kind: 'retry'; contextDigest?: string } | { kind: 'skip' } | { kind: 'accept' };

/** What an operator may do besides retry and abort: skip a script, accept a failed verify. */
type Leeway = 'none' | 'skip' | 'accept';

interface Waiting {
  step: string;
  skippable: boolean;
  acceptable?: boolean;
  since: string;
  error: string;
}

export interface ApprovalDecision {
  approved: boolean;
  by?: string;
  reason?: string;
}

export class BuildAborted extends Error {
  override name = 'BuildAborted';
}

export class StepRunner {
  readonly records: StepRecord[] = [];
  contextDigest: string;
  status: BuildStatusValue = 'running';
  dropletId?: number;
  snapshotId?: number;
  abortReason?: string;
  private waiting?: Waiting;
  private decision?: Decision;
  private approval?: { appId: string; imageId: number; since: string };
  private approvalDecision?: ApprovalDecision;
  private published = '';
  /** Cancelled by an abort, so a running step stops at once. */
  readonly scope = new wf.CancellationScope();

  constructor(private readonly input: BuildInput) {
    this.contextDigest = input.contextDigest;
    wf.setHandler(stateQuery, () => this.state());
    wf.setHandler(retryUpdate, (req) => this.decide({ kind: 'retry', ...(req.contextDigest ? { contextDigest: req.contextDigest } : {}) }), {
      validator: (_req) => this.mustBeWaiting('retry'),
    });
    wf.setHandler(skipUpdate, () => this.decide({ kind: 'skip' }), {
      validator: () => {
        this.mustBeWaiting('skip');
        if (this.waiting?.acceptable) throw new Error(`step ${this.waiting.step} cannot be skipped: accept it (continue with the image marked unverified), retry it or abort the build`);
        if (!this.waiting?.skippable) {
          throw new Error(`step ${this.waiting?.step} cannot be skipped: only script steps can; retry it or abort the build`);
        }
      },
    });
    wf.setHandler(acceptUpdate, () => this.decide({ kind: 'accept' }), {
      validator: () => {
        this.mustBeWaiting('accept');
        if (!this.waiting?.acceptable) throw new Error(`step ${this.waiting?.step} cannot be accepted: only a failed verify can; retry it${this.waiting?.skippable ? ', skip it' : ''} or abort the build`);
      },
    });
    const decideApproval = (approved: boolean) => (req: ApprovalRequest): OperatorReply => {
      this.approvalDecision = { approved, ...(req.by ? { by: req.by } : {}), ...(req.reason ? { reason: req.reason } : {}) };
      return { step: 'approval', message: approved ? `publishing image ${this.approval?.imageId} to app ${this.approval?.appId}` : 'not publishing; the image is kept' };
    };
    const mustAwaitApproval = (_req: ApprovalRequest) => {
      if (!this.approval) throw new Error(`nothing to approve: the build is not waiting for approval (status: ${this.status})`);
      if (this.approvalDecision) throw new Error('the build already has an answer');
    };
    wf.setHandler(approveUpdate, decideApproval(true), { validator: mustAwaitApproval });
    wf.setHandler(rejectUpdate, decideApproval(false), { validator: mustAwaitApproval });
    wf.setHandler(abortUpdate, (req) => this.abort(req.reason ?? 'aborted by operator'), {
      validator: (_req) => {
        if (this.status === 'succeeded' || this.status === 'failed' || this.abortReason) throw new Error('the build has already ended');
      },
    });
  }

  /** Runs a step that must succeed (or be retried by the operator). */
  async run<T>(name: string, summary: string, fn: (contextDigest: string, summary: string) => Promise<T>): Promise<T> {
    const r = await this.attempt(name, summary, fn, 'none');
    return r as T;
  }

  /** Runs a step the operator may skip; undefined when skipped. */
  async runSkippable<T>(name: string, summary: string, fn: (contextDigest: string, summary: string) => Promise<T>): Promise<T | undefined> {
    return this.attempt(name, summary, fn, 'skip');
  }

  /** Runs a check the operator may accept despite its failure; `accepted` holds the failure then. */
  async runAcceptable<T>(name: string, summary: string, fn: (contextDigest: string, summary: string) => Promise<T>): Promise<{ value: T } | { accepted: string }> {
    const value = await this.attempt(name, summary, fn, 'accept');
    if (value !== undefined) return { value };
    return { accepted: this.records.filter((r) => r.name === name).at(-1)?.error ?? 'failed' };
  }

  /** A wait that is part of the recipe (a person's approval, a review), shown as its own row. */
  async waitFor<T>(name: string, summary: string, status: BuildStatusValue, fn: () => Promise<T>): Promise<T> {
    const rec: StepRecord = { name, summary, state: 'waiting', attempts: 1, startedAt: new Date().toISOString() };
    this.records.push(rec);
    this.status = status;
    this.publish();
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
      this.status = 'running';
      this.publish();
    }
  }

  /** Waits for `client approve` or `client reject`; undefined when nobody answered in time. */
  async awaitApproval(appId: string, imageId: number, timeoutMs: number): Promise<ApprovalDecision | undefined> {
    this.approval = { appId, imageId, since: new Date().toISOString() };
    try {
      return await this.waitFor('approval', `wait for a person to approve publishing image ${imageId} to app ${appId}`, 'waiting-for-approval', async () => {
        const answered = await wf.condition(() => this.approvalDecision !== undefined, timeoutMs);
        return answered ? this.approvalDecision : undefined;
      });
    } finally {
      this.approval = undefined;
    }
  }

  private async attempt<T>(name: string, summary: string, fn: (d: string, summary: string) => Promise<T>, leeway: Leeway): Promise<T | undefined> {
    const skippable = leeway === 'skip';
    const rec: StepRecord = { name, summary, state: 'running', attempts: 0 };
    this.records.push(rec);
    for (;;) {
      rec.attempts++;
      rec.state = 'running';
      rec.startedAt = new Date().toISOString();
      delete rec.error;
      delete rec.exitCode;
      delete rec.tail;
      this.publish();
      const t0 = Date.now();
      try {
        const value = await fn(this.contextDigest, summary);
        rec.state = 'succeeded';
        rec.seconds = (Date.now() - t0) / 1000;
        this.publish();
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
        this.waiting = { step: name, skippable, ...(leeway === 'accept' ? { acceptable: true } : {}), since: new Date().toISOString(), error: rec.error ?? 'failed' };
        this.status = 'waiting-for-operator';
        this.publish();
        const timeout = this.input.operatorTimeoutMs ?? DAY;
        const answered = await wf.condition(() => this.decision !== undefined || this.abortReason !== undefined, timeout);
        this.waiting = undefined;
        this.status = 'running';
        if (this.abortReason !== undefined) {
          rec.state = 'failed';
          throw new BuildAborted(this.abortReason);
        }
        if (!answered) {
          rec.state = 'failed';
          throw ApplicationFailure.nonRetryable(
            `step ${name} failed and no operator answered within ${timeout < 120_000 ? `${Math.round(timeout / 1000)} s` : `${Math.round(timeout / 60000)} min`}: ${rec.error}`,
            'OperatorTimeout',
          );
        }
        const d = this.decision!;
        this.decision = undefined;
        if (d.kind === 'skip' || d.kind === 'accept') {
          rec.state = d.kind === 'skip' ? 'skipped' : 'accepted';
          this.publish();
          return undefined;
        }
        if (d.contextDigest) this.contextDigest = d.contextDigest;
      }
    }
  }

  private mustBeWaiting(what: string): void {
    if (!this.waiting) throw new Error(`nothing to ${what}: no step is waiting for an operator (status: ${this.status})`);
    if (this.decision) throw new Error(`step ${this.waiting.step} already has an answer`);
  }

  private decide(d: Decision): OperatorReply {
    const step = this.waiting!.step;
    this.decision = d;
    const verb = { skip: 'skipping', accept: 'accepting', retry: 'retrying' }[d.kind];
    return { step, message: `${verb} ${step}` };
  }

  private abort(reason: string): OperatorReply {
    this.abortReason = reason;
    const step = this.waiting?.step ?? this.records.at(-1)?.name ?? '';
    this.scope.cancel();
    return { step, message: `aborting the build; its droplets will be destroyed` };
  }

  end(status: 'succeeded' | 'failed'): void {
    this.status = status;
    this.publish();
  }

  state(): BuildState {
    return {
      buildId: this.input.buildId,
      status: this.status,
      steps: this.records,
      ...(this.waiting ? { waiting: this.waiting } : {}),
      ...(this.approval ? { approval: this.approval } : {}),
      ...(this.dropletId !== undefined ? { dropletId: this.dropletId } : {}),
      ...(this.snapshotId !== undefined ? { snapshotId: this.snapshotId } : {}),
      contextDigest: this.contextDigest,
    };
  }

  /** Keeps the Web UI's current details and the search attributes in step with the records. */
  private publish(): void {
    wf.setCurrentDetails(detailsMarkdown(this.records, this.waiting, this.approval));
    const failed = this.waiting?.step ?? this.records.find((r) => r.state === 'failed')?.name ?? '';
    const sa = JSON.stringify([this.status, failed, this.dropletId, this.snapshotId]);
    if (sa === this.published) return;
    this.published = sa;
    wf.upsertSearchAttributes([
      { key: BuildName, value: this.input.plan.name },
      { key: BuildStatus, value: this.status },
      { key: FailedStep, value: failed || null },
      { key: DropletId, value: this.dropletId ?? null },
      { key: SnapshotId, value: this.snapshotId ?? null },
    ]);
  }
}

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

function detailsMarkdown(records: StepRecord[], waiting: Waiting | undefined, approval: StepRunner['approval']): string {
  const rows = records.map((r) => `| ${r.name} | ${r.state} | ${r.seconds !== undefined ? `${r.seconds.toFixed(1)} s` : ''} | ${r.attempts} |`);
  let md = ['| step | state | time | attempts |', '|---|---|---|---|', ...rows].join('\n');
  if (waiting) {
    md += `\n\n**Waiting for an operator**: step \`${waiting.step}\` failed: ${waiting.error.replace(/\n/g, ' ')}\n\n`;
    md += `Run \`client retry\`${waiting.skippable ? ', `client skip`' : ''}${waiting.acceptable ? ', `client accept`' : ''} or \`client abort\` with this build's id.`;
  }
  if (approval) {
    md += `\n\n**Waiting for approval**: publish image ${approval.imageId} to Marketplace app \`${approval.appId}\`? Run \`client approve\` or \`client reject --reason …\` with this build's id.`;
  }
  return md;
}
