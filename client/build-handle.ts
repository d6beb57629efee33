/** Finds a build by id for the commands that act on one, with clear messages when it can't. */
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { temporalClient, temporalSettings } from './settings';
import type { ConnectionFlags } from './settings';
import type { TemporalSettings } from '../platform/temporal-settings';
import { UserError } from '../contract/user-error';

export interface BuildMemo {
  /** Where the spec was on the machine that started the build (for `client retry` after an edit). */
  specDir: string;
  specFile: string;
  host: string;
  contextPaths: string[];
}

export async function openBuild(
  buildId: string,
  flags: ConnectionFlags,
): Promise<{ client: Client; handle: WorkflowHandle; settings: TemporalSettings }> {
  const settings = temporalSettings(flags);
  const client = await temporalClient(settings);
  const handle = client.workflow.getHandle(buildId);
  try {
    await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || (err instanceof Error && /not found/i.test(err.message))) {
      throw new UserError(`no build with id ${buildId} in namespace ${settings.namespace}: see \`client list\``);
    }
    throw err;
  }
  return { client, handle, settings };
}

/** The message of a refused Update (validator) or a failed one, without the SDK's wrapping. */
export function updateErrorMessage(err: unknown): string {
  const e = err as { cause?: { message?: string }; message?: string };
  const msg = e.cause?.message ?? e.message ?? String(err);
  return /already completed/i.test(msg) ? 'the build has already ended: nothing to answer (see `client status`)' : msg;
}
