/** Runs one command on the build droplet as part of a step, with its output in the step log. */
import type { Readable } from 'node:stream';
import type { ActivityDeps } from '../runtime/deps';
import { scriptFailed } from '../runtime/failures';
import { StepLog, stepLogKey } from '../runtime/step-log';
import type { CommandResult, DropletRef } from '../../contract/steps';
import { check, checkDropletRef, checked } from '../runtime/check-input';

export interface RemoteOptions {
  stdin?: string | Buffer | Readable;
  /** Values to mask in the log, tail and heartbeats. */
  secrets?: string[];
  /** Return a non-zero exit instead of failing the step. */
  allowFailure?: boolean;
  /** Also return the output (for commands whose output is data). */
  capture?: boolean;
}

export async function runOnDroplet(
  deps: ActivityDeps,
  ref: DropletRef,
  step: string,
  title: string,
  command: string,
  opts: RemoteOptions = {},
): Promise<CommandResult & { output: string }> {
  checkDropletRef(ref);
  checked(check.stepId, step, 'step');
  const log = new StepLog(deps.store, stepLogKey(ref.buildId, step), opts.secrets);
  log.begin(title);
  const captured: Buffer[] = [];
  try {
    const r = await deps.shells.run(ref, command, {
      ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
      onOutput: (c) => {
        if (opts.capture) captured.push(c);
        log.write(c);
      },
    });
    const tail = log.tail();
    if (r.exitCode !== 0) log.write(`\n[exit code ${r.exitCode}]\n`);
    await log.close();
    const result = {
      exitCode: r.exitCode,
      tail,
      seconds: r.seconds,
      output: Buffer.concat(captured).toString(),
      ...(log.warning ? { warning: log.warning } : {}),
    };
    if (r.exitCode !== 0 && !opts.allowFailure) throw scriptFailed(title, r.exitCode, result.tail);
    return result;
  } catch (err) {
    log.write(`\n[${err instanceof Error ? err.message : String(err)}]\n`);
    await log.close();
    throw err;
  }
}
