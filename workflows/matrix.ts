/**
 * A matrix build: one parent that builds each variant as a child build (an ordinary buildImage,
 * with its own id, operator controls and clean-up), a few at a time, and sums them up for the
 * Web UI, `client status` and its JSON result. A variant that fails does not stop the others.
 */
import * as wf from '@temporalio/workflow';
import { ApplicationFailure, ParentClosePolicy } from '@temporalio/workflow';
import { FailureType } from '../contract/failures';
import { matrixProblems } from '../contract/plan-checks';
import { stateQuery } from '../contract/operator';
import type { BuildState } from '../contract/operator';
import { BuildName, BuildStatus } from '../contract/search-attributes';
import type { BuildStatusValue } from '../contract/search-attributes';
import type { BuildManifest, MatrixInput, MatrixResult, MatrixVariantResult, StepRecord } from '../contract/build';
import type { buildImage } from './build';

export async function buildMatrix(input: MatrixInput): Promise<MatrixResult> {
  // A matrix input may come from anyone who can reach the task queue: its size is checked before
  // any child starts (each child's own input is checked by that child's check-input).
  const problems = wf.patched('matrix-input-checked')
    ? matrixProblems(input.concurrency, Array.isArray(input.children) ? input.children.length : 0)
    : [];
  if (problems.length > 0)
    throw ApplicationFailure.create({
      message: `refused workflow input: ${problems.join('; ')}`,
      type: FailureType.Spec,
      nonRetryable: true,
    });
  let status: BuildStatusValue = 'running';
  const rows: StepRecord[] = input.children.map((c) => ({
    name: c.key,
    summary: `${c.input.buildId}: ${describe(c.input.plan.droplet)}`,
    state: 'pending',
    attempts: 0,
  }));
  const results: MatrixVariantResult[] = [];
  const publish = () => {
    wf.setCurrentDetails(details(input, rows, results));
    wf.upsertSearchAttributes([
      { key: BuildName, value: input.name },
      { key: BuildStatus, value: status },
    ]);
  };
  wf.setHandler(stateQuery, (): BuildState => ({ buildId: input.buildId, status, steps: rows, contextDigest: '' }));
  publish();

  const runVariant = async (i: number) => {
    const c = input.children[i]!;
    const row = rows[i]!;
    row.state = 'running';
    row.attempts = 1;
    row.startedAt = new Date().toISOString();
    publish();
    const t0 = Date.now();
    const base = {
      key: c.key,
      buildId: c.input.buildId,
      image: c.input.plan.droplet.image,
      region: c.input.plan.droplet.region,
      size: c.input.plan.droplet.size,
    };
    try {
      const m: BuildManifest = await wf.executeChild<typeof buildImage>('buildImage', {
        workflowId: c.input.buildId,
        args: [c.input],
        // Closing the parent (terminate, time-out) asks children to cancel: their undo destroys droplets.
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        ...(c.memo ? { memo: c.memo } : {}),
        staticSummary: `${input.name} / ${c.key}: ${describe(c.input.plan.droplet)}`,
        typedSearchAttributes: [
          { key: BuildName, value: c.input.plan.name },
          { key: BuildStatus, value: 'running' },
        ],
      });
      row.state = 'succeeded';
      results[i] = {
        ...base,
        status: 'succeeded',
        seconds: (Date.now() - t0) / 1000,
        ...(m.snapshot ? { snapshot: m.snapshot } : {}),
        ...(m.verify ? { verify: m.verify.state } : {}),
        ...(m.os ? { os: m.os.prettyName } : {}),
      };
    } catch (err) {
      row.state = 'failed';
      row.error = failureMessage(err);
      results[i] = { ...base, status: 'failed', seconds: (Date.now() - t0) / 1000, error: row.error };
    } finally {
      row.seconds = (Date.now() - t0) / 1000;
      publish();
    }
  };
  // `concurrency` lanes, each taking the next variant when its last one ends.
  let next = 0;
  const lane = async () => {
    while (next < input.children.length) await runVariant(next++);
  };
  await Promise.all(Array.from({ length: Math.min(input.concurrency, input.children.length) }, lane));
  status = results.every((r) => r.status === 'succeeded') ? 'succeeded' : 'failed';
  publish();
  return { buildId: input.buildId, status, variants: results };
}

function describe(d: { image: string; region: string; size: string }): string {
  return `${d.image}, ${d.size}, ${d.region}`;
}

function failureMessage(err: unknown): string {
  let e: unknown = err;
  // ChildWorkflowFailure → the child's own failure, which says what went wrong.
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(err);
}

function details(input: MatrixInput, rows: StepRecord[], results: MatrixVariantResult[]): string {
  const lines = rows.map((r, i) => {
    const res = results[i];
    const snap = res?.snapshot ? `${res.snapshot.name} (${res.snapshot.id})` : '';
    return `| ${r.name} | ${input.children[i]!.input.buildId} | ${r.state} | ${r.seconds !== undefined ? `${r.seconds.toFixed(0)} s` : ''} | ${snap}${res?.error ? ` ${res.error.replace(/\|/g, '/')}` : ''} |`;
  });
  return [
    `**${input.children.length} variants**, ${input.concurrency} at a time`,
    '',
    '| variant | build | state | time | snapshot |',
    '|---|---|---|---|---|',
    ...lines,
  ].join('\n');
}
