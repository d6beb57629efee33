/**
 * Walks the recipe (workflows/build.ts) in order: runs each step through the step runner (so a
 * failure waits for the operator), registers each undo where its entry says, and unwinds every
 * armed undo, newest first, whatever ended the build.
 */
import * as wf from '@temporalio/workflow';
import { ApplicationFailure, isCancellation } from '@temporalio/workflow';
import { LONG, PERSISTENT, QUICK, call } from '../calls';
import { dropletCost } from '../../contract/cost';
import type { BuildActivities as Activities } from '../../contract/activities';
import type { BuildManifest } from '../../contract/build';
import type { Undo } from '../undo';
import type { Build, EachEntry, Next, RecipeEntry, Retry, StepEntry, UndoDef } from './entry';

const OPTIONS: Record<Retry, wf.ActivityOptions> = { quick: QUICK, long: LONG, persistent: PERSISTENT };

export async function runRecipe(recipe: readonly RecipeEntry[], b: Build, undo: Undo): Promise<BuildManifest> {
  const { steps, manifest } = b;
  // The leading `final` steps check the build before anything exists: a refusal ends it at once.
  const firstOfRest = recipe.findIndex((e) => !(e.kind === 'step' && e.leeway === 'final'));
  const preflight = recipe.slice(0, firstOfRest < 0 ? recipe.length : firstOfRest) as StepEntry[];
  for (const e of preflight) {
    if ((await runFinal(b, e)) === 'stop') {
      manifest.status = 'succeeded';
      steps.end('succeeded');
      return manifest;
    }
  }

  let outcome: unknown;
  try {
    await steps.scope.run(async () => {
      for (const e of recipe.slice(preflight.length)) if ((await runEntry(b, undo, e)) === 'stop') return;
    });
    manifest.status = 'succeeded';
  } catch (err) {
    outcome = err;
    manifest.error = steps.abortReason ?? (err instanceof Error ? err.message : String(err));
  }
  // Undo runs whatever ended the build: success, failure, abort or cancellation.
  const undoFailures = await undo.unwind();
  if (undoFailures.length > 0) {
    manifest.status = 'failed';
    manifest.undoFailures = undoFailures;
    manifest.error = [manifest.error, `clean-up failed (see \`client janitor\`): ${undoFailures.join('; ')}`]
      .filter(Boolean)
      .join('; ');
  }
  steps.end(manifest.status);
  manifest.cost = dropletCost(steps.records, Date.now());
  if (outcome === undefined && undoFailures.length === 0) return manifest;
  if (steps.abortReason !== undefined)
    throw ApplicationFailure.nonRetryable(`build aborted: ${steps.abortReason}`, 'BuildAborted');
  if (isCancellation(outcome) || outcome instanceof ApplicationFailure) throw outcome;
  throw ApplicationFailure.nonRetryable(manifest.error ?? 'build failed', 'BuildFailed');
}

async function runFinal(b: Build, e: StepEntry): Promise<Next> {
  if (e.when && !e.when(b)) return;
  try {
    const result = await b.steps.runFinal(e.name, e.summary(b), (s) =>
      invoke(e.retry, e.activity, s, e.input(b, b.input.contextDigest)),
    );
    return e.done?.(b, result as never);
  } catch (err) {
    e.failed?.(b, err);
    throw err;
  }
}

async function runEntry(b: Build, undo: Undo, e: RecipeEntry): Promise<Next> {
  if (e.when && !e.when(b)) {
    if (e.kind === 'step') e.otherwise?.(b);
    return;
  }
  if (e.kind === 'control') return e.run(b);
  if (e.kind === 'each') return runEach(b, undo, e);
  return runStep(b, undo, e);
}

async function runEach(b: Build, undo: Undo, e: EachEntry): Promise<Next> {
  const items = e.items(b);
  const results: unknown[] = [];
  if (e.parallel) results.push(...(await Promise.all(items.map((s) => runStepValue(b, undo, s)))));
  else for (const s of items) results.push(await runStepValue(b, undo, s));
  e.doneAll?.(b, results);
}

async function runStep(b: Build, undo: Undo, e: StepEntry): Promise<Next> {
  const next = { value: undefined as Next };
  await runStepValue(b, undo, e, next);
  return next.value;
}

async function runStepValue(b: Build, undo: Undo, e: StepEntry, next?: { value: Next }): Promise<unknown> {
  if (e.undo?.registered === 'before') register(b, undo, e.name, e.undo);
  const summary = e.summary(b);
  e.before?.(b);
  const fn = (digest: string, s: string) => invoke(e.retry, e.activity, s, e.input(b, digest));
  let result: unknown;
  if (e.leeway === 'accept') {
    const r = await b.steps.runAcceptable(e.name, summary, fn);
    if (!('value' in r)) {
      e.accepted?.(b, r.accepted);
      return undefined;
    }
    result = r.value;
  } else if (e.leeway === 'skip') {
    result = await b.steps.runSkippable(e.name, summary, fn);
    if (result === undefined) return undefined; // the operator skipped it
  } else {
    result = await b.steps.run(e.name, summary, fn);
  }
  const n = e.done?.(b, result as never);
  if (next) next.value = n;
  if (e.undo?.registered === 'after' && (!e.undo.when || e.undo.when(b))) register(b, undo, e.name, e.undo);
  return result;
}

/** Registers a step's undo, found later by the step's name (to keep it, run it early or re-arm it). */
function register(b: Build, undo: Undo, stepName: string, u: UndoDef): void {
  b.undos.set(
    stepName,
    undo.add(u.what, async () => {
      await b.steps.run(u.name, u.summary(b), (_d, s) => invoke(u.retry, u.activity, s, u.input(b)));
      u.undone?.(b);
    }),
  );
}

/** An entry's activity, untyped here: step() and undo() typed its input and result where the entry was written. */
function invoke(retry: Retry, activity: keyof Activities, summary: string, input: unknown): Promise<unknown> {
  const untyped = call as (
    o: wf.ActivityOptions,
    name: keyof Activities,
    summary: string,
    input: unknown,
  ) => Promise<unknown>;
  return untyped(OPTIONS[retry], activity, summary, input);
}
