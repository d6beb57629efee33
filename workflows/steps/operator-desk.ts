/**
 * Where an operator steers a build whose step failed: `retry` (possibly with an edited build
 * context), `skip` (script steps only), `accept` (a failed verify) and `abort`, as Updates whose
 * validators refuse what makes no sense now with a message saying what would.
 */
import * as wf from '@temporalio/workflow';
import { abortUpdate, acceptUpdate, retryUpdate, skipUpdate } from '../../contract/operator';
import type { OperatorReply } from '../../contract/operator';
import type { BuildProgress } from './progress';

export type Decision = { kind: 'retry'; contextDigest?: string } | { kind: 'skip' } | { kind: 'accept' };

/** What an operator may do besides retry and abort: skip a script, accept a failed verify. */
export type Leeway = 'none' | 'skip' | 'accept';

export type Answer = Decision | { kind: 'aborted' } | { kind: 'timed-out' };

export class OperatorDesk {
  abortReason?: string;
  private decision?: Decision;
  /** Cancelled by an abort, so a running step stops at once. */
  readonly scope = new wf.CancellationScope();

  constructor(private readonly progress: BuildProgress) {
    wf.setHandler(
      retryUpdate,
      (req) => this.decide({ kind: 'retry', ...(req.contextDigest ? { contextDigest: req.contextDigest } : {}) }),
      {
        validator: (_req) => this.mustBeWaiting('retry'),
      },
    );
    wf.setHandler(skipUpdate, () => this.decide({ kind: 'skip' }), {
      validator: () => {
        this.mustBeWaiting('skip');
        const w = this.progress.waiting;
        if (w?.acceptable) {
          throw new Error(
            `step ${w.step} cannot be skipped: accept it (continue with the image marked unverified), retry it or abort the build`,
          );
        }
        if (!w?.skippable)
          throw new Error(
            `step ${w?.step} cannot be skipped: only script and ansible steps can; retry it or abort the build`,
          );
      },
    });
    wf.setHandler(acceptUpdate, () => this.decide({ kind: 'accept' }), {
      validator: () => {
        this.mustBeWaiting('accept');
        const w = this.progress.waiting;
        if (!w?.acceptable) {
          const skip = w?.skippable ? ', skip it' : '';
          throw new Error(
            `step ${w?.step} cannot be accepted: only a failed verify can; retry it${skip} or abort the build`,
          );
        }
      },
    });
    wf.setHandler(abortUpdate, (req) => this.abort(req.reason ?? 'aborted by operator'), {
      validator: (_req) => {
        const s = this.progress.status;
        if (s === 'succeeded' || s === 'failed' || this.abortReason) throw new Error('the build has already ended');
      },
    });
  }

  /** Shows the failed step as waiting and waits for an answer, an abort, or the timeout. */
  async awaitAnswer(step: string, error: string, leeway: Leeway, timeoutMs: number): Promise<Answer> {
    const acceptable = leeway === 'accept' ? { acceptable: true } : {};
    this.progress.waiting = {
      step,
      skippable: leeway === 'skip',
      ...acceptable,
      since: new Date().toISOString(),
      error,
    };
    this.progress.status = 'waiting-for-operator';
    this.progress.publish();
    const answered = await wf.condition(() => this.decision !== undefined || this.abortReason !== undefined, timeoutMs);
    this.progress.waiting = undefined;
    this.progress.status = 'running';
    if (this.abortReason !== undefined) return { kind: 'aborted' };
    if (!answered) return { kind: 'timed-out' };
    const d = this.decision!;
    this.decision = undefined;
    return d;
  }

  private mustBeWaiting(what: string): void {
    const w = this.progress.waiting;
    if (!w) throw new Error(`nothing to ${what}: no step is waiting for an operator (status: ${this.progress.status})`);
    if (this.decision) throw new Error(`step ${w.step} already has an answer`);
  }

  private decide(d: Decision): OperatorReply {
    const step = this.progress.waiting!.step;
    this.decision = d;
    const verb = { skip: 'skipping', accept: 'accepting', retry: 'retrying' }[d.kind];
    return { step, message: `${verb} ${step}` };
  }

  private abort(reason: string): OperatorReply {
    this.abortReason = reason;
    const step = this.progress.waiting?.step ?? this.progress.records.at(-1)?.name ?? '';
    this.scope.cancel();
    return { step, message: `aborting the build; its droplets will be destroyed` };
  }
}
