/**
 * `client lab run`: a throwaway droplet for one command, through the same code path as a build —
 * DigitalOcean's API via dots-wrapper (a temporary key, create, poll until active), then SSH as
 * root. The droplet and key are deleted whatever happens, Ctrl-C included.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import type { Client } from 'ssh2';
import { DoApi, DoApiError } from '../../platform/digitalocean';
import { connectSsh, exec } from '../../platform/ssh';
import { createLabServer, type LabServer } from '../../lab/api/server';
import { createNspawnRuntime, ensureBaseImage, listDistributions } from '../../lab/droplets/nspawn-runtime';
import { UserError } from '../../contract/user-error';
import { givenLabToken } from './defaults';
import { requireRoot } from './serve';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomEd25519 } from '../../platform/host-key';

export interface RunOptions {
  image: string;
  command: string[];
  size: string;
  region: string;
  /** The lab's /v2 endpoint; an in-process lab is started when absent. */
  api?: string;
  token?: string;
  bootTimeoutMs: number;
  /** Wait for first boot (cloud-init) to finish before the command, as verify does (default true). */
  waitFirstBoot?: boolean;
}

interface DropletInfo {
  id: number;
  status: string;
  locked: boolean;
  networks: { v4?: Array<{ ip_address: string; type: string }> };
}

/** Returns the command's exit code (128 + signal number when it was killed). */
export async function labRun(opts: RunOptions): Promise<number> {
  if (opts.command.length === 0) throw new UserError('no command given: client lab run <image> -- <command…>');
  const abort = new AbortController();
  let conn: Client | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (abort.signal.aborted) return;
    process.stderr.write(`client: ${sig}: destroying the droplet …\n`);
    abort.abort(new UserError('interrupted', 130));
    conn?.end();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let server: LabServer | undefined;
  let api: DoApi | undefined;
  let keyId: number | undefined;
  let dropletId: number | undefined;
  try {
    let token = givenLabToken(opts.token);
    let endpoint = opts.api ?? process.env.IMAGE_FORGE_LAB_URL;
    if (!endpoint) {
      requireRoot();
      // A lab of this process only: its token need not be written anywhere.
      token ??= `lab_run_${randomBytes(32).toString('hex')}`;
      server = await startInProcessLab(opts.image, token);
      endpoint = server.endpoint;
    }
    if (!token)
      throw new UserError(
        `no token for the lab at ${endpoint}: give its API token with --token or DIGITALOCEAN_TOKEN (\`client lab api\` prints the 0600 file it is in; a --local lab's is lab-token in the local stack's folder)`,
      );
    api = new DoApi({ token, endpoint: endpoint.replace(/\/+$/, ''), requestTimeoutMs: 30_000 });
    const name = `lab-run-${randomBytes(3).toString('hex')}`;
    const keys = randomEd25519(name);
    const a = api;

    keyId = (
      await a.call('register a temporary SSH key', (c) =>
        c.sshKey.createSshKey({ name, public_key: keys.publicOpenSsh }),
      )
    ).data.ssh_key.id;
    const image = /^\d+$/.test(opts.image) ? Number(opts.image) : opts.image;
    const created = await a.call(
      'create droplet',
      (c) =>
        c.droplet.createDroplet({
          name,
          region: opts.region,
          size: opts.size,
          image,
          ssh_keys: [keyId!],
          tags: ['lab-run'],
          monitoring: false,
        }),
      { retry: false },
    );
    dropletId = created.data.droplet.id;
    // dots-wrapper's type omits `links`; DigitalOcean sends the create action there.
    const createAction = (created.data as { links?: { actions?: Array<{ id: number }> } }).links?.actions?.[0]?.id;
    const d = await waitActive(a, dropletId, createAction, opts.bootTimeoutMs, abort.signal);
    const ipv4 = d.networks.v4?.find((n) => n.type === 'public')?.ip_address;
    if (!ipv4) throw new UserError(`droplet ${dropletId} is active but has no public IPv4`);

    conn = await connectSsh({
      host: ipv4,
      username: 'root',
      privateKey: keys.privateOpenSsh,
      readyTimeoutMs: 60_000,
      signal: abort.signal,
    });
    if (opts.waitFirstBoot !== false) {
      // First boot holds the dpkg lock and runs per-instance scripts: a command before it ends sees a half-made droplet.
      let status = '';
      await exec(conn, 'cloud-init status --wait >/dev/null 2>&1; cloud-init status', {
        onStdout: (c) => (status += c.toString()),
      });
      if (!/status: (done|disabled)/.test(status)) {
        process.stderr.write(
          `client: first boot did not finish cleanly (${status.trim() || 'no cloud-init status'})\n`,
        );
      }
    }
    const r = await exec(conn, opts.command.join(' '), {
      stdin: process.stdin,
      onStdout: (c) => process.stdout.write(c),
      onStderr: (c) => process.stderr.write(c),
    });
    if (r.exitCode !== null) return r.exitCode;
    const signo = r.signal ? constants.signals[r.signal as NodeJS.Signals] : undefined;
    return signo !== undefined ? 128 + signo : 255;
  } catch (err) {
    if (abort.signal.aborted) throw abort.signal.reason as Error;
    if (err instanceof DoApiError) throw new UserError(err.message);
    throw err;
  } finally {
    conn?.end();
    // Stop reading our stdin, or the process would wait for it forever.
    process.stdin.unpipe();
    process.stdin.destroy();
    await cleanup(api, dropletId, keyId);
    await server?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function startInProcessLab(image: string, token: string): Promise<LabServer> {
  if (listDistributions().some((d) => d.slug === image)) {
    const t = setTimeout(
      () => process.stderr.write(`client: building the ${image} base image (once per machine, about 2 minutes) …\n`),
      2000,
    );
    try {
      await ensureBaseImage(image);
    } finally {
      clearTimeout(t);
    }
  }
  // The contract self-check costs a second of loading: the tests run it, a quick command need not.
  return createLabServer({
    runtime: createNspawnRuntime(),
    tokens: [token],
    contractCheck: false,
    log: (l) => process.stderr.write(`lab: ${l}\n`),
  });
}

async function waitActive(
  api: DoApi,
  id: number,
  createAction: number | undefined,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<DropletInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal.throwIfAborted();
    const d = (await api.call('get droplet', (c) => c.droplet.getDroplet({ droplet_id: id }))).data
      .droplet as unknown as DropletInfo;
    if (d.status === 'active' && !d.locked) return d;
    if (createAction !== undefined && !d.locked) {
      const a = (await api.call('get action', (c) => c.action.getAction({ action_id: createAction }))).data.action;
      if (a.status === 'errored')
        throw new UserError(`droplet ${id} could not be created (its create action errored); see the lab's output`);
    }
    if (Date.now() > deadline)
      throw new UserError(`droplet ${id} is still ${d.status} after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(250);
  }
}

/** Deletes what this run created; reports (does not throw) what could not be deleted. */
async function cleanup(
  api: DoApi | undefined,
  dropletId: number | undefined,
  keyId: number | undefined,
): Promise<void> {
  if (!api) return;
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      if (err instanceof DoApiError && err.status === 404) return;
      process.stderr.write(`client: could not ${what}: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  };
  if (dropletId !== undefined)
    await attempt(`delete droplet ${dropletId}`, () =>
      api.call('delete droplet', (c) => c.droplet.deleteDroplet({ droplet_id: dropletId })),
    );
  if (keyId !== undefined)
    await attempt(`delete SSH key ${keyId}`, () =>
      api.call('delete SSH key', (c) => c.sshKey.destroySshKey({ ssh_key_id: keyId })),
    );
}
