/**
 * `--local`: everything a build needs on this machine, started when missing and left running for
 * the next build — the Temporal dev server (Web UI, state in a SQLite file), the lab (the local
 * DigitalOcean, with its apt cache when apt-cacher-ng is installed) and a worker pointed at both.
 * `client local stop` stops them. The lab makes a random API token at each start, in a 0600 file
 * here (lab-token) that this client and the worker it starts read: no other local process has it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ed25519FromSeed } from '../platform/host-key';
import { allSearchAttributes } from '../contract/search-attributes';
import { DEFAULT_TASK_QUEUE } from '../platform/temporal-settings';
import type { TemporalSettings } from '../platform/temporal-settings';
import { connectClient } from '../platform/temporal-connection';
import { UserError } from '../contract/user-error';
import { WORKER_SECRETS_VAR, parseWorkerSecrets, shortWorkerSecrets } from '../contract/worker-secrets';
import { setTimeout as sleep } from 'node:timers/promises';
import { LAB_APT_PROXY } from '../lab/droplets/network';
import { labHasAptCache } from './lab/serve';

const ROOT = path.resolve(__dirname, '..', '..');

export const LOCAL = {
  temporalAddress: '127.0.0.1:7233',
  uiPort: 8233,
  labPort: 8585,
};

/** The file (in the local stack's folder) with the API token of the lab it started. */
export const LAB_TOKEN_FILE = 'lab-token';

export function localDir(): string {
  const cache = process.env.IMAGE_FORGE_CACHE ?? path.join(os.homedir(), '.cache', 'image-forge');
  return path.join(cache, 'local');
}

export interface LocalStack {
  temporal: TemporalSettings;
  labUrl: string;
  started: string[];
}

export async function ensureLocalStack(log: (msg: string) => void): Promise<LocalStack> {
  // The worker's allow-list comes from this shell (IMAGE_FORGE_WORKER_SECRETS=ACME_LICENSE_KEY);
  // a refused name stops here, before anything is started.
  let workerSecrets: string[];
  try {
    workerSecrets = parseWorkerSecrets(process.env[WORKER_SECRETS_VAR]);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  const short = shortWorkerSecrets(workerSecrets, process.env);
  if (short.length > 0) throw new UserError(short.join('; '));
  const dir = localDir();
  await fs.mkdir(dir, { recursive: true });
  const temporal: TemporalSettings = { address: LOCAL.temporalAddress, namespace: 'default', tls: false };
  const started: string[] = [];

  if (!(await reachable(temporal))) {
    log('starting the Temporal dev server (Web UI on http://127.0.0.1:8233) …');
    const bin = await temporalBinary();
    const args = [
      'server',
      'start-dev',
      '--db-filename',
      path.join(dir, 'temporal.sqlite'),
      '--ip',
      '127.0.0.1',
      '--port',
      '7233',
      '--ui-port',
      String(LOCAL.uiPort),
      '--log-level',
      'warn',
      '--dynamic-config-value',
      'system.enableActivityEagerExecution=true',
      ...allSearchAttributes.flatMap((k) => [
        '--search-attribute',
        `${k.name}=${k.type === 'INT' ? 'Int' : 'Keyword'}`,
      ]),
    ];
    await daemon(dir, 'temporal', bin, args, {});
    await waitFor(
      () => reachable(temporal),
      60_000,
      'the Temporal dev server did not come up: see ' + path.join(dir, 'temporal.log'),
    );
    started.push('temporal');
  }

  const lab = await ensureLocalLab({ dir, port: LOCAL.labPort, aptCache: labHasAptCache() }, log);
  let staleWorker = false;
  if (lab.started) {
    started.push('lab');
    // A worker of an earlier start holds that lab's token, which this one refuses: start it anew.
    staleWorker = await stopDaemon(dir, 'worker');
    if (staleWorker) log("stopped the worker of the earlier lab (it holds that lab's token)");
  }

  // The server lists a stopped worker as a poller for a while yet: a stale one is replaced regardless.
  if (staleWorker || !(await workerPolling(temporal))) {
    log('starting a worker …');
    const key = await localLoginKey(dir);
    await daemon(dir, 'worker', process.execPath, [path.join(ROOT, 'dist/worker/main.js')], {
      TEMPORAL_ADDRESS: LOCAL.temporalAddress,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: DEFAULT_TASK_QUEUE,
      DIGITALOCEAN_TOKEN: lab.token,
      DIGITALOCEAN_API_URL: lab.labUrl,
      IMAGE_FORGE_SSH_KEY: key,
      [WORKER_SECRETS_VAR]: workerSecrets.join(','),
      // The lab's droplets reach its apt cache by this name (a forwarder on their veth).
      ...(labHasAptCache() ? { IMAGE_FORGE_APT_PROXY: LAB_APT_PROXY } : {}),
    });
    await waitFor(
      () => workerPolling(temporal),
      90_000,
      'the worker did not start polling: see ' + path.join(dir, 'worker.log'),
    );
    started.push('worker');
  }
  return { temporal, labUrl: lab.labUrl, started };
}

/**
 * The local lab on `port`, started (its API token written to lab-token in `dir`) unless it is
 * already up and takes the token there.
 */
export async function ensureLocalLab(
  opts: { dir: string; port: number; aptCache: boolean },
  log: (msg: string) => void,
): Promise<{ labUrl: string; token: string; started: boolean }> {
  const labUrl = `http://127.0.0.1:${opts.port}/v2`;
  const tokenFile = path.join(opts.dir, LAB_TOKEN_FILE);
  const before = await labStatus(opts.port, tokenFile);
  if (before.up) return { labUrl, token: before.token, started: false };
  if (before.refused)
    throw new UserError(
      `a lab on 127.0.0.1:${opts.port} refuses the token in ${tokenFile}: it was not started by client local; stop it, then try again`,
    );
  log(`starting the lab (local DigitalOcean API on ${labUrl}) …`);
  await daemon(
    opts.dir,
    'lab',
    process.execPath,
    [
      path.join(ROOT, 'dist/client/main.js'),
      'lab',
      'api',
      '--port',
      String(opts.port),
      '--token-file',
      tokenFile,
      '--audit',
      path.join(opts.dir, 'lab-audit.jsonl'),
      ...(opts.aptCache ? [] : ['--no-apt-cache']),
    ],
    {},
  );
  let token = '';
  await waitFor(
    async () => {
      // Refused while the file still holds the earlier start's token: it is written before the lab listens.
      const now = await labStatus(opts.port, tokenFile);
      token = now.up ? now.token : '';
      return now.up;
    },
    60_000,
    'the lab API did not come up: see ' + path.join(opts.dir, 'lab.log'),
  );
  return { labUrl, token, started: true };
}

/** Stops what ensureLocalStack started (by the pids it recorded). */
export async function stopLocalStack(): Promise<string[]> {
  const stopped: string[] = [];
  for (const name of ['worker', 'lab', 'temporal']) if (await stopDaemon(localDir(), name)) stopped.push(name);
  return stopped;
}

/** Stops a process ensureLocalStack started (by the pid it recorded); false when none ran. */
export async function stopDaemon(dir: string, name: string): Promise<boolean> {
  const pidFile = path.join(dir, `${name}.pid`);
  const pid = Number(await fs.readFile(pidFile, 'utf8').catch(() => ''));
  let stopped = false;
  if (pid) {
    try {
      process.kill(pid, 'SIGTERM');
      stopped = true;
      await waitFor(async () => !alive(pid), 30_000, `${name} (pid ${pid}) did not stop`);
    } catch (err) {
      if (err instanceof UserError) throw err;
      // already gone
    }
  }
  await fs.rm(pidFile, { force: true });
  return stopped;
}

async function temporalBinary(): Promise<string> {
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn('bash', [path.join(ROOT, 'scripts/ensure-temporal.sh')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    p.stdout.on('data', (c: Buffer) => (s += c.toString()));
    p.on('close', (code) =>
      code === 0
        ? resolve(s.trim())
        : reject(new UserError('could not build the Temporal CLI: see the messages above')),
    );
  });
  return out;
}

async function daemon(
  dir: string,
  name: string,
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<void> {
  const out = openSync(path.join(dir, `${name}.log`), 'a');
  const child = spawn(cmd, args, {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, ...env },
    cwd: ROOT,
  });
  closeSync(out);
  await fs.writeFile(path.join(dir, `${name}.pid`), String(child.pid));
  child.unref();
}

async function reachable(s: TemporalSettings): Promise<boolean> {
  try {
    const c = await connectClient(s);
    await c.close();
    return true;
  } catch {
    return false;
  }
}

type LabStatus = { up: true; token: string } | { up: false; refused: boolean };

/** Whether a lab answers on the port, and takes the token in the file (refused: it answers 401). */
async function labStatus(port: number, tokenFile: string): Promise<LabStatus> {
  const token = (await fs.readFile(tokenFile, 'utf8').catch(() => '')).trim();
  try {
    const r = await fetch(`http://127.0.0.1:${port}/v2/regions`, {
      headers: { authorization: `Bearer ${token}` },
      // Nothing listening fails at once; a lab that just started can be busy loading for seconds.
      signal: AbortSignal.timeout(10_000),
    });
    return r.status === 200 && token ? { up: true, token } : { up: false, refused: r.status === 401 };
  } catch {
    return { up: false, refused: false };
  }
}

async function workerPolling(s: TemporalSettings): Promise<boolean> {
  try {
    const c = await connectClient(s);
    try {
      const r = await c.workflowService.describeTaskQueue({
        namespace: s.namespace,
        taskQueue: { name: DEFAULT_TASK_QUEUE },
        taskQueueType: 2,
      });
      return (r.pollers ?? []).length > 0;
    } finally {
      await c.close();
    }
  } catch {
    return false;
  }
}

async function localLoginKey(dir: string): Promise<string> {
  const file = path.join(dir, 'id_ed25519');
  if (
    !(await fs.stat(file).then(
      () => true,
      () => false,
    ))
  ) {
    const k = ed25519FromSeed(randomBytes(32));
    await fs.writeFile(file, k.privateOpenSsh, { mode: 0o600 });
    await fs.writeFile(`${file}.pub`, `${k.publicOpenSsh} image-forge-local\n`);
  }
  return file;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(check: () => Promise<boolean>, ms: number, failure: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new UserError(failure);
    await sleep(500);
  }
}
