/**
 * `client retry | skip | accept | abort <build>`: answer a build whose step failed. Retry repacks
 * the build's files from the spec's folder, so an edited script is used; skip is for script
 * steps only, accept for a failed verify; abort destroys the droplets and ends the build as
 * failed. `client approve | reject <build>` answer a build waiting to publish.
 */
import type { Command } from 'commander';
import * as os from 'node:os';
import * as path from 'node:path';
import { packContext, publishContext } from '../../context/pack';
import { storeFromEnv } from '../../context/store-config';
import {
  abortUpdate,
  acceptUpdate,
  approveUpdate,
  rejectUpdate,
  retryUpdate,
  skipUpdate,
  stateQuery,
} from '../../contract/operator';
import type { OperatorReply, RetryRequest } from '../../contract/operator';
import { openBuild, updateErrorMessage } from '../build-handle';
import type { BuildMemo } from '../build-handle';
import { withConnectionFlags } from '../settings';
import type { ConnectionFlags } from '../settings';
import { UserError } from '../../contract/user-error';

interface Flags extends ConnectionFlags {
  json?: boolean;
  reason?: string;
  spec?: string;
}

export function registerOperatorCommands(program: Command): void {
  withConnectionFlags(
    program
      .command('retry')
      .description('run the failed step of a waiting build again (with the current content of its files)')
      .argument('<build>', 'build id')
      .option('--spec <folder>', "the spec's folder, when it is not where the build was started from")
      .option('--json', 'print JSON'),
  ).action(async (buildId: string, flags: Flags) => {
    const { handle } = await openBuild(buildId, flags);
    const req: RetryRequest = {};
    const memo = (await handle.describe()).memo as Partial<BuildMemo> | undefined;
    const dir = flags.spec ?? (memo?.host === os.hostname() ? memo.specDir : undefined);
    if (dir && memo?.contextPaths) {
      const state = await handle.query(stateQuery);
      const ctx = await packContext(path.resolve(dir), memo.contextPaths).catch((err: unknown) => {
        throw new UserError(
          `cannot pack the build's files from ${dir}: ${err instanceof Error ? err.message : String(err)}`,
        );
      });
      if (ctx.digest !== state.contextDigest) {
        await publishContext(storeFromEnv(), ctx);
        req.contextDigest = ctx.digest;
      }
    }
    await answer(
      handle,
      flags,
      () => handle.executeUpdate(retryUpdate, { args: [req] }),
      req.contextDigest ? ' with the edited files' : '',
    );
  });
  withConnectionFlags(
    program
      .command('skip')
      .description('skip the failed script step of a waiting build')
      .argument('<build>', 'build id')
      .option('--json', 'print JSON'),
  ).action(async (buildId: string, flags: Flags) => {
    const { handle } = await openBuild(buildId, flags);
    await answer(handle, flags, () => handle.executeUpdate(skipUpdate));
  });
  withConnectionFlags(
    program
      .command('accept')
      .description('continue a build whose verify failed; the manifest records the image as unverified')
      .argument('<build>', 'build id')
      .option('--json', 'print JSON'),
  ).action(async (buildId: string, flags: Flags) => {
    const { handle } = await openBuild(buildId, flags);
    await answer(handle, flags, () => handle.executeUpdate(acceptUpdate));
  });
  withConnectionFlags(
    program
      .command('approve')
      .description('publish the image of a build waiting for approval to its Marketplace app')
      .argument('<build>', 'build id')
      .option('--json', 'print JSON'),
  ).action(async (buildId: string, flags: Flags) => {
    const { handle } = await openBuild(buildId, flags);
    await answer(handle, flags, () => handle.executeUpdate(approveUpdate, { args: [{ by: who() }] }));
  });
  withConnectionFlags(
    program
      .command('reject')
      .description('do not publish the image of a build waiting for approval (the snapshot is kept)')
      .argument('<build>', 'build id')
      .requiredOption('--reason <text>', 'why (recorded in the manifest)')
      .option('--json', 'print JSON'),
  ).action(async (buildId: string, flags: Flags) => {
    const { handle } = await openBuild(buildId, flags);
    await answer(handle, flags, () =>
      handle.executeUpdate(rejectUpdate, { args: [{ by: who(), ...(flags.reason ? { reason: flags.reason } : {}) }] }),
    );
  });
  withConnectionFlags(
    program
      .command('abort')
      .description('stop a build: destroy its droplet and end it as failed')
      .argument('<build>', 'build id')
      .option('--reason <text>', 'why (recorded in the build)')
      .option('--json', 'print JSON'),
  ).action(async (buildId: string, flags: Flags) => {
    const { handle } = await openBuild(buildId, flags);
    await answer(handle, flags, () =>
      handle.executeUpdate(abortUpdate, { args: [{ reason: flags.reason ?? 'aborted by operator' }] }),
    );
  });
}

/** Who answered, for the manifest: the operator's login on this machine. */
function who(): string {
  return `${os.userInfo().username}@${os.hostname()}`;
}

async function answer(
  handle: { workflowId: string },
  flags: Flags,
  send: () => Promise<OperatorReply>,
  extra = '',
): Promise<void> {
  let reply: OperatorReply;
  try {
    reply = await send();
  } catch (err) {
    throw new UserError(`${handle.workflowId}: ${updateErrorMessage(err)}`);
  }
  if (flags.json) console.log(JSON.stringify({ buildId: handle.workflowId, ...reply }, null, 2));
  else console.log(`${handle.workflowId}: ${reply.message}${extra}`);
}
