/**
 * `client publish <build> --dry-run`: the exact Vendor API body a build sends to its Marketplace
 * app (or will send once approved). Publishing itself is `start-build --publish` then `approve`.
 */
import type { Command } from 'commander';
import { publishPreviewQuery } from '../../contract/operator';
import { UserError } from '../../contract/user-error';
import { openBuild } from '../build-handle';
import { withConnectionFlags } from '../settings';
import type { ConnectionFlags } from '../settings';

interface Flags extends ConnectionFlags {
  dryRun?: boolean;
}

export function registerPublish(program: Command): void {
  withConnectionFlags(
    program
      .command('publish')
      .description('show the exact Vendor API update a build sends to its Marketplace app (--dry-run)')
      .argument('<build>', 'build id')
      .option('--dry-run', 'print the body of PATCH …/vendor-portal/apps/<app id> without sending anything'),
  ).action(async (buildId: string, flags: Flags) => {
    if (!flags.dryRun) {
      throw new UserError(
        'publishing is part of a build: start it with `client start-build --publish`, then `client approve`; ' +
          'add --dry-run to see what it sends',
        2,
      );
    }
    const { handle } = await openBuild(buildId, flags);
    const preview = await handle.query(publishPreviewQuery).catch(() => null);
    if (!preview) {
      throw new UserError(
        `build ${buildId} has nothing to publish yet: its image is not built, or it was not started with --publish`,
      );
    }
    console.log(
      JSON.stringify(
        { method: 'PATCH', path: `/api/v1/vendor-portal/apps/${preview.appId}`, body: preview.body },
        null,
        2,
      ),
    );
  });
}
