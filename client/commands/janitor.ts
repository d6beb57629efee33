/**
 * `client janitor [--yes]`: droplets with the builder's tag whose build is no longer running —
 * left by a build that ended without its destroy step (a terminated workflow, a lost worker).
 * Lists them; deletes them with --yes. Kept base-build droplets only with --include-base.
 */
import type { Command } from 'commander';
import { DoApi } from '../../platform/digitalocean';
import { BUILDER_TAG, KEEP_TAG, RUN_TAG_PREFIX, buildTag, runTag } from '../../contract/tags';
import { temporalClient, temporalSettings, withConnectionFlags } from '../settings';
import type { ConnectionFlags } from '../settings';
import { UserError } from '../../contract/user-error';

interface Flags extends ConnectionFlags {
  yes?: boolean;
  includeBase?: boolean;
  json?: boolean;
}

interface Droplet {
  id: number;
  name: string;
  tags: string[];
  created_at: string;
}

export function registerJanitor(program: Command): void {
  withConnectionFlags(
    program
      .command('janitor')
      .description('find (and with --yes delete) build droplets whose build is no longer running')
      .option('--yes', 'delete them')
      .option('--include-base', 'also droplets kept by --base builds')
      .option('--json', 'print JSON'),
  ).action(async (flags: Flags) => {
    const token = process.env.DIGITALOCEAN_TOKEN || process.env.DIGITALOCEAN_ACCESS_TOKEN;
    if (!token)
      throw new UserError('DIGITALOCEAN_TOKEN is not set: the janitor lists droplets with your DigitalOcean token');
    const api = new DoApi({
      token,
      ...(process.env.DIGITALOCEAN_API_URL ? { endpoint: process.env.DIGITALOCEAN_API_URL } : {}),
    });
    const client = await temporalClient(temporalSettings(flags));
    // A droplet is live when the run that made it is running (its run tag); one made before run
    // tags, when a build of its id is running. Another run of the same build id does not count.
    const live = new Set<string>();
    for await (const w of client.workflow.list({
      query: `WorkflowType = 'buildImage' AND ExecutionStatus = 'Running'`,
    })) {
      live.add(buildTag(w.workflowId));
      live.add(runTag(w.workflowId, w.runId));
    }
    const isLive = (tags: string[]) =>
      tags.some((t) => t.startsWith(RUN_TAG_PREFIX))
        ? tags.some((t) => t.startsWith(RUN_TAG_PREFIX) && live.has(t))
        : tags.some((t) => live.has(t));

    const droplets: Droplet[] = [];
    for (let page = 1; ; page++) {
      const r = await api.call('list droplets', (c) =>
        c.droplet.listDroplets({ tag_name: BUILDER_TAG, page, per_page: 200 }),
      );
      droplets.push(...(r.data.droplets as unknown as Droplet[]));
      if (!r.data.links?.pages?.next) break;
    }
    const orphans = droplets.filter((d) => !isLive(d.tags) && (flags.includeBase || !d.tags.includes(KEEP_TAG)));
    const deleted: number[] = [];
    if (flags.yes) {
      for (const d of orphans) {
        await api.call('delete droplet', (c) => c.droplet.deleteDroplet({ droplet_id: d.id }));
        deleted.push(d.id);
      }
    }
    if (flags.json) {
      console.log(
        JSON.stringify(
          { orphans: orphans.map((d) => ({ id: d.id, name: d.name, created: d.created_at })), deleted },
          null,
          2,
        ),
      );
      return;
    }
    if (orphans.length === 0) console.log('no leftover build droplets');
    for (const d of orphans)
      console.log(`${flags.yes ? 'deleted' : 'leftover'} droplet ${d.id} ${d.name} (created ${d.created_at})`);
    if (orphans.length > 0 && !flags.yes) console.log('run `client janitor --yes` to delete them');
  });
}
