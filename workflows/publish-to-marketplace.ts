/**
 * Publishing a verified image to its Marketplace app: skip when a scheduled rebuild changed no
 * package, wait for a person's approval, submit (waiting on a durable timer while the app is
 * pending or in review), then follow the review with durable timers — days of waiting cost no
 * worker anything.
 */
import * as wf from '@temporalio/workflow';
import { ApplicationFailure } from '@temporalio/workflow';
import type { MarketplacePlan } from '../contract/plan';
import { approveUpdate, publishPreviewQuery, rejectUpdate } from '../contract/operator';
import type { ApprovalRequest, OperatorReply, PublishPreview } from '../contract/operator';
import { QUICK, call } from './calls';
import type { StepRunner } from './steps/runner';
import { isUnderReview, reviewState, vendorUpdateBody } from '../contract/marketplace';
import type { AppStatus, PublishInput, PublishOutcome, PublishedRecord } from '../contract/marketplace';
import { reasonForUpdate } from '../contract/bill-of-materials';
import type { BuildInput, PublishTiming } from '../contract/build';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

export interface PublishRequest {
  input: BuildInput;
  marketplace: MarketplacePlan;
  imageId: number;
  os: { id: string; versionId: string; prettyName: string } | undefined;
  packages: Record<string, string>;
  baseImageId?: number;
}

export interface ApprovalDecision {
  approved: boolean;
  by?: string;
  reason?: string;
}

/**
 * Where a person approves or rejects publishing (`client approve` / `client reject`): Updates
 * refused unless the build waits for exactly that answer. Registered when the build starts.
 */
export class ApprovalDesk {
  private decision?: ApprovalDecision;
  /** What publishing sends, for `client publish --dry-run`: known once the image is built. */
  preview: PublishPreview | null = null;

  constructor(private readonly steps: StepRunner) {
    const decide =
      (approved: boolean) =>
      (req: ApprovalRequest): OperatorReply => {
        this.decision = { approved, ...(req.by ? { by: req.by } : {}), ...(req.reason ? { reason: req.reason } : {}) };
        const a = this.steps.progress.approval;
        const message = approved
          ? `publishing image ${a?.imageId} to app ${a?.appId}`
          : 'not publishing; the image is kept';
        return { step: 'approval', message };
      };
    const mustAwaitApproval = (_req: ApprovalRequest) => {
      const p = this.steps.progress;
      if (!p.approval)
        throw new Error(`nothing to approve: the build is not waiting for approval (status: ${p.status})`);
      if (this.decision) throw new Error('the build already has an answer');
    };
    wf.setHandler(approveUpdate, decide(true), { validator: mustAwaitApproval });
    wf.setHandler(rejectUpdate, decide(false), { validator: mustAwaitApproval });
    wf.setHandler(publishPreviewQuery, () => this.preview);
  }

  /** Waits for `client approve` or `client reject`; undefined when nobody answered in time. */
  async awaitApproval(appId: string, imageId: number, timeoutMs: number): Promise<ApprovalDecision | undefined> {
    const p = this.steps.progress;
    p.approval = { appId, imageId, since: new Date().toISOString() };
    try {
      const summary = `wait for a person to approve publishing image ${imageId} to app ${appId}`;
      return await this.steps.waitFor('approval', summary, 'waiting-for-approval', async () => {
        const answered = await wf.condition(() => this.decision !== undefined, timeoutMs);
        return answered ? this.decision : undefined;
      });
    } finally {
      p.approval = undefined;
    }
  }
}

export async function publishToMarketplace(
  steps: StepRunner,
  approvals: ApprovalDesk,
  req: PublishRequest,
): Promise<PublishOutcome> {
  const { input, marketplace: mp, imageId } = req;
  const t = timing(input.publishTiming);
  const family = input.plan.name;

  let last: PublishedRecord | null = null;
  if (input.scheduled) {
    last = await steps.run('compare', 'compare packages with the last published image', (_d, s) =>
      call(QUICK, 'lastPublished', s, { family }),
    );
    // A new base image behind the spec's slug is a change too (when both builds know their base image's id).
    const sameBase =
      last?.baseImageId === undefined || req.baseImageId === undefined || last.baseImageId === req.baseImageId;
    if (last && samePackages(last.packages, req.packages) && sameBase) {
      return {
        state: 'unchanged',
        reason: `no package changed since image ${last.imageId} (build ${last.buildId}) was published: not publishing again`,
      };
    }
  }

  // The spec's own reason wins; a scheduled rebuild otherwise says which packages changed; else none is sent.
  const { reasonForUpdate: specReason, ...rest } = mp;
  const reason = reasonForUpdate(specReason, last?.packages, req.packages);
  const planned = { ...rest, ...(reason !== undefined ? { reasonForUpdate: reason } : {}) };
  const update: PublishInput = {
    buildId: input.buildId,
    appId: mp.appId,
    imageId,
    family,
    body: vendorUpdateBody(planned, imageId, { ...(req.os ? { os: req.os } : {}), packages: req.packages }),
  };
  approvals.preview = { appId: mp.appId, body: update.body! };

  const decision = await approvals.awaitApproval(mp.appId, imageId, t.approvalTimeoutMs);
  if (!decision) return { state: 'approval-timed-out', reason: `nobody approved within ${human(t.approvalTimeoutMs)}` };
  if (!decision.approved)
    return {
      state: 'rejected-by-operator',
      ...(decision.by ? { by: decision.by } : {}),
      ...(decision.reason ? { reason: decision.reason } : {}),
    };

  // How long an app may stay busy before the build gives up: a ceiling of its own since the
  // documented contract (builds started before keep the review timeout).
  const ceilingOfItsOwn = wf.patched('publish-busy-ceiling');
  const busyCeilingMs = ceilingOfItsOwn ? t.busyTimeoutMs : t.reviewTimeoutMs;
  const started = Date.now();
  let busyRetries = 0;
  let submitted: AppStatus | undefined;
  while (!submitted) {
    const attempt = await steps.run('publish', `submit image ${imageId} to Marketplace app ${mp.appId}`, (_d, s) =>
      call(QUICK, 'publish', s, update),
    );
    if (attempt.kind === 'submitted') {
      submitted = attempt.status;
      break;
    }
    if (Date.now() - started > busyCeilingMs) {
      if (!ceilingOfItsOwn) {
        return {
          state: 'review-timed-out',
          busyRetries,
          reason: `the app stayed pending or in review for ${human(t.reviewTimeoutMs)}: ${attempt.message}`,
        };
      }
      throw ApplicationFailure.nonRetryable(
        `Marketplace app ${mp.appId} stayed pending or in review for ${human(busyCeilingMs)}, so image ${imageId} ` +
          `was not submitted (${attempt.message}); once the app's review has ended, publish it again`,
        'PublishBusyTooLong',
      );
    }
    busyRetries++;
    await steps.waitFor(
      'publish-wait',
      `the app is pending or in review; trying again in ${human(t.busyRetryMs)}`,
      'waiting-for-review',
      () => wf.sleep(t.busyRetryMs),
    );
  }

  const review = await steps.waitFor(
    'review',
    `follow the Marketplace review of image ${imageId}`,
    'waiting-for-review',
    async () => {
      let status: AppStatus | null = submitted;
      let delay = t.reviewPollMs;
      const deadline = Date.now() + t.reviewTimeoutMs;
      while (status && isUnderReview(status.value) && Date.now() < deadline) {
        await wf.sleep(delay);
        delay = Math.min(delay * 2, 12 * HOUR);
        status = await call(QUICK, 'reviewStatus', `look at the review of app ${mp.appId}`, { appId: mp.appId });
      }
      return status;
    },
  );
  const answered = { busyRetries, submitted };
  if (!review) {
    const reason = 'submitted, review status unknown: the Vendor API offers no read of this app; see the Vendor Portal';
    return { state: 'submitted', ...answered, reason };
  }
  if (isUnderReview(review.value)) {
    return {
      state: 'review-timed-out',
      ...answered,
      review,
      reason: `still ${review.value} after ${human(t.reviewTimeoutMs)}`,
    };
  }
  const state = reviewState(review.value);
  if (state === 'other') {
    const reason = `submitted; the review says "${review.value}", a status this tool does not know: see the Vendor Portal`;
    return { state: 'submitted', ...answered, review, reason };
  }
  if (state !== 'approved') {
    return { state: 'review-rejected', ...answered, review, ...(review.reason ? { reason: review.reason } : {}) };
  }
  await steps.run('record-published', 'remember the published packages for the next scheduled build', (_d, s) =>
    call(QUICK, 'recordPublished', s, {
      family,
      appId: mp.appId,
      imageId,
      buildId: input.buildId,
      packages: req.packages,
      ...(req.baseImageId !== undefined ? { baseImageId: req.baseImageId } : {}),
      review: review.value,
      at: new Date().toISOString(),
    }),
  );
  return { state: 'approved', ...answered, review, ...(decision.by ? { by: decision.by } : {}) };
}

function samePackages(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function timing(t: PublishTiming | undefined): Required<PublishTiming> {
  return {
    approvalTimeoutMs: t?.approvalTimeoutMs ?? 7 * DAY,
    busyRetryMs: t?.busyRetryMs ?? HOUR,
    reviewPollMs: t?.reviewPollMs ?? 15 * 60 * 1000,
    reviewTimeoutMs: t?.reviewTimeoutMs ?? 30 * DAY,
    busyTimeoutMs: t?.busyTimeoutMs ?? 14 * DAY,
  };
}

function human(ms: number): string {
  if (ms >= DAY) return `${Math.round(ms / DAY)} d`;
  if (ms >= HOUR) return `${Math.round(ms / HOUR)} h`;
  if (ms >= 60_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 1000)} s`;
}
