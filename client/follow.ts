/** Follows a build's steps as they change, one line per change (used by --wait and `watch`). */
import type { WorkflowHandle } from '@temporalio/client';
import { stateQuery } from '../contract/operator';
import type { BuildState } from '../contract/operator';
import { setTimeout as sleep } from 'node:timers/promises';

/** How following ended: the build ended, or (untilApproval) it waits for a person to approve publishing. */
export type FollowEnd = 'ended' | 'waiting-for-approval';

export async function followBuild(
  handle: WorkflowHandle,
  opts: { json: boolean; intervalMs?: number; untilApproval?: boolean },
): Promise<FollowEnd> {
  if (opts.json && !opts.untilApproval) {
    // Nothing to print until the end: wait on the server's long poll, not a describe and a query a
    // second (20 builds followed that way kept the worker answering 20 queries a second; bench P5).
    await handle.result().catch(() => undefined);
    return 'ended';
  }
  const seen = new Map<string, string>();
  let waitingShown = '';
  const print = (line: string) => {
    if (!opts.json) process.stderr.write(`${line}\n`);
  };
  for (;;) {
    const desc = await handle.describe();
    let state: BuildState | undefined;
    try {
      state = await handle.query(stateQuery);
    } catch {
      // No worker has picked the build up yet.
    }
    for (const s of state?.steps ?? []) {
      const key = `${s.state}#${s.attempts}`;
      if (seen.get(s.name) === key) continue;
      seen.set(s.name, key);
      const time = s.seconds !== undefined && s.state !== 'running' ? ` (${s.seconds.toFixed(1)} s)` : '';
      print(`  ${s.name.padEnd(14)} ${s.state}${time}  ${s.state === 'running' ? s.summary : ''}`.trimEnd());
    }
    if (state?.waiting && waitingShown !== state.waiting.step + state.waiting.since) {
      waitingShown = state.waiting.step + state.waiting.since;
      print(`  step ${state.waiting.step} failed: ${state.waiting.error}`);
      print(
        `  the build waits: client retry ${handle.workflowId}${state.waiting.skippable ? ` | client skip ${handle.workflowId}` : ''}${state.waiting.acceptable ? ` | client accept ${handle.workflowId}` : ''} | client abort ${handle.workflowId}`,
      );
    }
    if (state?.approval && waitingShown !== `approval${state.approval.since}`) {
      waitingShown = `approval${state.approval.since}`;
      print(
        `  waiting for approval to publish image ${state.approval.imageId} to app ${state.approval.appId}: client approve ${handle.workflowId} | client reject ${handle.workflowId} --reason …`,
      );
    }
    if (desc.status.name !== 'RUNNING') return 'ended';
    // CI: the build job ends here with its reports; a later job approves (client approve).
    if (opts.untilApproval && state?.approval) return 'waiting-for-approval';
    await sleep(opts.intervalMs ?? 1000);
  }
}
