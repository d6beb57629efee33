/** Runs one command on the build droplet as part of a step, with its output in the step log. */
import type { Readable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../runtime/deps';
import { scriptFailed } from '../runtime/failures';
import { maskPatterns, maskText } from '../runtime/masker';
import { StepLog, stepLogKey } from '../runtime/step-log';
import { FailureType } from '../../contract/failures';
import type { CommandResult, DropletRef } from '../../contract/steps';
import { check, checkDropletRef, checked } from '../runtime/input-checks';

/** Output read as data (a package list, an image check's report): more is not something the worker holds. */
export const CAPTURE_MAX_BYTES = 64 << 20;

export interface RemoteOptions {
  stdin?: string | Buffer | Readable;
  /** Values to mask in the log, tail and heartbeats, besides every secret the worker may hand out. */
  secrets?: string[];
  /** Return a non-zero exit instead of failing the step. */
  allowFailure?: boolean;
  /** Also return the output (for commands whose output is data), masked, at most CAPTURE_MAX_BYTES. */
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
  // Every step masks every value the worker may hand out, not only the values this command was given:
  // a script may leave one where cleanup, validate or verify prints it.
  const secrets = [...workerSecretValues(deps), ...(opts.secrets ?? [])];
  const log = new StepLog(deps.store, stepLogKey(ref.buildId, step), secrets);
  log.begin(title);
  const captured: Buffer[] = [];
  let capturedBytes = 0;
  try {
    const r = await deps.shells.run(ref, command, {
      ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
      onOutput: (c, stream) => {
        if (opts.capture && capturedBytes <= CAPTURE_MAX_BYTES) {
          captured.push(c);
          capturedBytes += c.length;
        }
        log.write(c, stream);
      },
      busy: () => log.storeLagging,
    });
    log.endOutput();
    const tail = log.tail();
    if (r.exitCode !== 0) log.note(`[exit code ${r.exitCode}]`);
    await log.close();
    if (capturedBytes > CAPTURE_MAX_BYTES)
      throw ApplicationFailure.create({
        message: `${title} printed more than ${CAPTURE_MAX_BYTES >> 20} MiB, more than the worker reads as a step's data: look at what on the droplet makes its output so large (\`client logs\`)`,
        type: FailureType.ScriptFailed,
        nonRetryable: true,
      });
    const result = {
      exitCode: r.exitCode,
      tail,
      seconds: r.seconds,
      output: opts.capture ? maskText(Buffer.concat(captured).toString(), maskPatterns(secrets)) : '',
      ...(log.warning ? { warning: log.warning } : {}),
    };
    if (r.exitCode !== 0 && !opts.allowFailure) throw scriptFailed(title, r.exitCode, result.tail);
    return result;
  } catch (err) {
    log.note(`[${err instanceof Error ? err.message : String(err)}]`);
    await log.close();
    throw err;
  }
}

/** The values of the worker's environment a build may read (IMAGE_FORGE_WORKER_SECRETS). */
function workerSecretValues(deps: Pick<ActivityDeps, 'workerEnv' | 'workerSecrets'>): string[] {
  return (deps.workerSecrets ?? []).flatMap((n) => deps.workerEnv?.[n] ?? []);
}
