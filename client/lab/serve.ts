/** `client lab api`: the lab's DigitalOcean API in the foreground until SIGINT/SIGTERM. */
import { existsSync } from 'node:fs';
import { APT_CACHER_NG, startAptCache, type AptCache } from '../../lab/apt-cache/apt-cacher-ng';
import { createLabServer, type LabServer } from '../../lab/api/server';
import { LAB_APT_PROXY } from '../../lab/droplets/network';
import { createNspawnRuntime, ensureBaseImage, listDistributions } from '../../lab/droplets/nspawn-runtime';
import { join } from 'node:path';
import { stateDir } from '../../lab/droplets/paths';
import { UserError } from '../../contract/user-error';
import { isWildcardAddress, parseAllowedHosts } from '../../lab/api/access';

export interface ServeOptions {
  port: number;
  host: string;
  audit?: string;
  /** Default: <state dir>/api/data-<port>. */
  dataDir?: string;
  /** A fixed accepted token; without it the lab makes a random one at each start. */
  token?: string;
  /** Where the random token goes (0600; default: api-token in the server's own directory). */
  tokenFile?: string;
  /** Host names the lab answers to besides loopback; needed when `host` is 0.0.0.0 or ::. */
  allowHosts: string[];
  contractCheck: boolean;
  /** Base images to build in the background right away (the runtime would build them on first use). */
  prepare: string[];
  /** Run the lab's apt cache (apt-cacher-ng) for the droplets. */
  aptCache: boolean;
}

/** Whether `client lab api` runs an apt cache by default here: apt-cacher-ng is installed. */
export function labHasAptCache(): boolean {
  return existsSync(APT_CACHER_NG);
}

export async function serveLabApi(opts: ServeOptions): Promise<void> {
  requireRoot();
  const known = listDistributions().map((d) => d.slug);
  for (const slug of opts.prepare) {
    if (!known.includes(slug))
      throw new UserError(`unknown distribution ${slug} for --prepare (known: ${known.join(', ')})`);
  }
  let allowHosts: string[];
  try {
    allowHosts = parseAllowedHosts(opts.allowHosts);
  } catch (err) {
    throw new UserError(`--allow-host: ${(err as Error).message}`);
  }
  if (isWildcardAddress(opts.host) && allowHosts.length === 0)
    throw new UserError(
      `--host ${opts.host} listens on every address, so the lab answers only the host names it is given: name the ones its clients use with --allow-host NAME (repeatable)`,
    );
  let aptCache: AptCache | undefined;
  if (opts.aptCache && !labHasAptCache())
    process.stderr.write(`lab api: no apt cache: ${APT_CACHER_NG} is not installed (scripts/ensure-lab-debs.sh)\n`);
  else if (opts.aptCache) aptCache = await startAptCache();
  let server: LabServer;
  try {
    server = await createLabServer({
      runtime: createNspawnRuntime({ aptCachePort: () => aptCache?.port }),
      tokens: opts.token ? [opts.token] : [],
      ...(opts.token ? {} : { randomToken: opts.tokenFile ? { file: opts.tokenFile } : {} }),
      port: opts.port,
      host: opts.host,
      allowHosts,
      dataDir: opts.dataDir ?? join(stateDir(), 'api', `data-${opts.port}`),
      contractCheck: opts.contractCheck,
      extraDistributions: opts.prepare,
      onContractViolation: (v) =>
        process.stderr.write(
          `lab api: contract violation (${v.direction}) ${v.method} ${v.path} → ${v.status}: ${v.errors.slice(0, 3).join('; ')}\n`,
        ),
      ...(opts.audit ? { auditFile: opts.audit } : {}),
    });
  } catch (err) {
    await aptCache?.stop();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new UserError(`port ${opts.port} is already in use (another lab?): choose one with --port`);
    if (code === 'EACCES' || code === 'EADDRNOTAVAIL')
      throw new UserError(`cannot listen on ${opts.host}:${opts.port} (${code})`);
    throw err;
  }
  const token = opts.token
    ? 'the one given with --token'
    : `the Bearer token in ${server.apiTokenFile} (0600, new each start)`;
  process.stdout.write(`lab API: ${server.endpoint}\ntoken:   ${token}\n`);
  if (allowHosts.length > 0) process.stdout.write(`hosts:   loopback and ${allowHosts.join(', ')}\n`);
  process.stdout.write(
    `control: /_lab/… needs the Bearer token in ${server.controlTokenFile} (0600, new each start)\n`,
  );
  if (opts.audit) process.stdout.write(`audit:   ${opts.audit}\n`);
  process.stdout.write(
    aptCache
      ? `apt:     cache ${aptCache.dir} (apt-cacher-ng on 127.0.0.1:${aptCache.port}); workers: IMAGE_FORGE_APT_PROXY=${LAB_APT_PROXY}\n`
      : 'apt:     no cache (droplets reach the mirror directly)\n',
  );
  process.stdout.write(
    `checks:  ${opts.contractCheck ? "every exchange against DigitalOcean's OpenAPI document (violations on stderr and in /_lab/state)" : 'off'}\n`,
  );
  process.stdout.write('Ctrl-C stops it: its droplets are powered off for good, their records and snapshots kept.\n');
  for (const slug of opts.prepare) {
    ensureBaseImage(slug).then(
      () => process.stdout.write(`base image ${slug} ready\n`),
      (err: Error) => process.stderr.write(`client: base image ${slug} could not be built: ${err.message}\n`),
    );
  }

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const { droplets } = await server.state();
  process.stdout.write(`${signal}: stopping the lab and the systems of its ${droplets.total} droplet(s) …\n`);
  await server.close();
  await aptCache?.stop();
  const { leaks } = await server.state();
  if (leaks.length > 0)
    throw new UserError(
      `some droplets could not be destroyed: ${leaks.map((l) => `${l.machineName} (${l.error})`).join('; ')}; try 'client lab clean'`,
    );
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0)
    throw new UserError('the lab needs root: its droplets are namespaces, cgroups and loop-mounted disks');
}
