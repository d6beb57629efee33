/**
 * Turns what went wrong in an activity into a Temporal failure with the right retry behaviour:
 * bad input and credentials are not retried; rate limits wait as long as the server asked; lost
 * connections and 5xx are retried with backoff. Messages never carry secrets.
 */
import { ApplicationFailure } from '@temporalio/common';
import { DoApiError } from '../../platform/digitalocean';
import { VendorApiError } from '../../platform/vendor-api';
import { HostKeyMismatchError, SshConnectionLostError } from '../../platform/ssh';
import { ContextError } from '../../context/unpack';
import { withHeartbeats } from './heartbeat';
import { StoreError } from '../../context/s3-store';
import { FailureType } from '../../contract/failures';

export function toFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof DoApiError) {
    if (err.permanent)
      return ApplicationFailure.create({ message: err.message, type: FailureType.PermanentApi, nonRetryable: true });
    return ApplicationFailure.create({
      message: err.message,
      type: err.isPendingEvent ? 'PendingEvent' : 'TransientApiError',
      ...(err.retryAfterSeconds !== undefined ? { nextRetryDelay: `${err.retryAfterSeconds}s` } : {}),
    });
  }
  if (err instanceof VendorApiError) {
    return ApplicationFailure.create({
      message: err.message,
      type: err.permanent ? FailureType.PermanentApi : 'TransientApiError',
      nonRetryable: err.permanent,
    });
  }
  if (err instanceof HostKeyMismatchError) {
    return ApplicationFailure.create({ message: err.message, type: FailureType.HostKeyMismatch, nonRetryable: true });
  }
  if (err instanceof SshConnectionLostError)
    return ApplicationFailure.create({ message: err.message, type: 'SshConnectionLost' });
  if (err instanceof StoreError) {
    return ApplicationFailure.create({
      message: err.message,
      type: err.permanent ? FailureType.StoreConfig : 'StoreError',
      nonRetryable: err.permanent,
    });
  }
  if (err instanceof ContextError)
    return ApplicationFailure.create({ message: err.message, type: FailureType.Context, nonRetryable: true });
  const message = err instanceof Error ? err.message : String(err);
  return ApplicationFailure.create({ message, type: err instanceof Error ? err.name : 'Error' });
}

/** Wraps an activity so everything it throws goes through toFailure. */
export function activity<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await withHeartbeats(() => fn(...args));
    } catch (err) {
      throw toFailure(err);
    }
  };
}

/** A command on the droplet exited non-zero: the operator must look, retrying blindly won't help. */
export function scriptFailed(what: string, exitCode: number, tail: string[]): ApplicationFailure {
  return ApplicationFailure.create({
    message: `${what} exited with code ${exitCode}${tail.length ? `: ${tail.at(-1)}` : ''}`,
    type: FailureType.ScriptFailed,
    nonRetryable: true,
    details: [{ exitCode, tail }],
  });
}

/** A wait that ran out of its (spec) timeout: final, like Packer's timeouts. */
export function timedOut(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: 'Timeout', nonRetryable: true });
}

/** 3600000 → '1 h', 90000 → '90 s': how a timeout reads in a message. */
export function describeMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
