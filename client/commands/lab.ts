/** `client lab …`: the local stand-in for DigitalOcean — its API, one-off droplets, and cleaning up. */
import { Command, InvalidArgumentError } from 'commander';
import { labClean } from '../lab/clean';
import { DEFAULT_LAB_PORT, DEFAULT_REGION, DEFAULT_SIZE, parsePort } from '../lab/defaults';
import { labRun } from '../lab/run';
import { serveLabApi } from '../lab/serve';

export function registerLabCommands(program: Command): void {
  const lab = program
    .command('lab')
    .description('the lab: a local DigitalOcean whose droplets are containers on this machine (needs root)');

  lab
    .command('api')
    .description("serve the lab's DigitalOcean v2 API in the foreground; Ctrl-C destroys its droplets")
    .option('--port <n>', 'port to listen on', portArg, DEFAULT_LAB_PORT)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--audit <file>', 'append an audit log (JSON lines) of every request and state change')
    .option(
      '--data-dir <dir>',
      "keep the lab's droplets, snapshots, keys and apps here across restarts (default: <state dir>/api/data-<port>)",
    )
    .option(
      '--allow-host <name>',
      'a host name (or address) clients reach the lab by, besides loopback; repeatable; needed with --host 0.0.0.0',
      collect,
      [],
    )
    .option('--token <t>', 'a fixed accepted bearer token (default: a random one at each start, in a 0600 file)')
    .option(
      '--token-file <file>',
      "where the random token goes (0600; default: api-token in the server's own directory)",
    )
    .option('--no-contract-check', "do not validate exchanges against DigitalOcean's OpenAPI document")
    .option('--prepare <slugs>', 'base images to build right away, comma-separated ("" for none)', 'debian-12-x64')
    .option(
      '--no-apt-cache',
      'no apt cache for the droplets (by default apt-cacher-ng runs with the lab, its cache in ~/.cache/image-forge/apt-cache; workers use it with IMAGE_FORGE_APT_PROXY=http://apt-cache.lab.internal:3142)',
    )
    .action(
      async (o: {
        port: number;
        host: string;
        audit?: string;
        dataDir?: string;
        allowHost: string[];
        token?: string;
        tokenFile?: string;
        contractCheck: boolean;
        prepare: string;
        aptCache: boolean;
      }) => {
        await serveLabApi({
          port: o.port,
          host: o.host,
          allowHosts: o.allowHost,
          contractCheck: o.contractCheck,
          aptCache: o.aptCache,
          prepare: o.prepare
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          ...(o.audit ? { audit: o.audit } : {}),
          ...(o.dataDir ? { dataDir: o.dataDir } : {}),
          ...(o.token ? { token: o.token } : {}),
          ...(o.tokenFile ? { tokenFile: o.tokenFile } : {}),
        });
      },
    );

  lab
    .command('run')
    .description(
      "boot a throwaway droplet, run a command on it as root over SSH (stdin passed through), destroy it; exits with the command's code",
    )
    .argument('<image>', 'image slug (e.g. debian-12-x64) or snapshot id')
    .argument(
      '<command...>',
      'the command, after "--"; joined with spaces and run by the droplet\'s shell, as ssh does',
    )
    .option('--size <slug>', 'droplet size', DEFAULT_SIZE)
    .option('--region <slug>', 'region', DEFAULT_REGION)
    .option(
      '--api <url>',
      "a running lab's endpoint, e.g. http://127.0.0.1:8585/v2 (env IMAGE_FORGE_LAB_URL; default: start one in this process)",
    )
    .option(
      '--token <t>',
      "the lab's API token (default $DIGITALOCEAN_TOKEN; with no --api, the lab started in this process makes its own)",
    )
    .option('--boot-timeout <seconds>', 'how long to wait for the droplet to become active', secondsArg, 300)
    .option('--no-wait-first-boot', 'run the command at once, without waiting for cloud-init to finish first boot')
    .action(
      async (
        image: string,
        command: string[],
        o: { size: string; region: string; api?: string; token?: string; bootTimeout: number; waitFirstBoot: boolean },
      ) => {
        process.exitCode = await labRun({
          image,
          command,
          size: o.size,
          region: o.region,
          bootTimeoutMs: o.bootTimeout * 1000,
          waitFirstBoot: o.waitFirstBoot,
          ...(o.api ? { api: o.api } : {}),
          ...(o.token ? { token: o.token } : {}),
        });
      },
    );

  lab
    .command('clean')
    .description(
      'remove what crashed lab runs left behind (droplets of lab servers that are gone, unused snapshot trees)',
    )
    .option('--prefix <p>', 'also remove every droplet whose machine name starts with this (even of running labs)')
    .action(async (o: { prefix?: string }) => {
      await labClean(o.prefix !== undefined ? { prefix: o.prefix } : {});
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function portArg(v: string): number {
  try {
    return parsePort(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function secondsArg(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1) throw new InvalidArgumentError(`not a number of seconds: ${v}`);
  return n;
}
