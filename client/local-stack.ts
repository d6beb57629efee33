/**
 * `--local`: everything a build needs on this machine, started when missing and left running for
 * the next build — the Temporal dev server (Web UI, state in a SQLite file), the lab (the local
 * DigitalOcean, with its apt cache when apt-cacher-ng is installed) and a worker pointed at both.
 * `client local stop` stops them.
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
  labToken: 'lab-local-token',
};

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
    await daemon('temporal', bin, args, {});
    await waitFor(
      () => reachable(temporal),
      60_000,
      'the Temporal dev server did not come up: see ' + path.join(dir, 'temporal.log'),
    );
    started.push('temporal');
  }

  const labUrl = `http://127.0.0.1:${LOCAL.labPort}/v2`;
  if (!(await labUp())) {
    log(`starting the lab (local DigitalOcean API on ${labUrl}) …`);
    await daemon(
      'lab',
      process.execPath,
      [
        path.join(ROOT, 'dist/client/main.js'),
        'lab',
        'api',
        '--port',
        String(LOCAL.labPort),
        '--token',
        LOCAL.labToken,
        '--audit',
        path.join(dir, 'lab-audit.jsonl'),
        ...(labHasAptCache() ? [] : ['--no-apt-cache']),
      ],
      {},
    );
    await waitFor(labUp, 60_000, 'the lab API did not come up: see ' + path.join(dir, 'lab.log'));
    started.push('lab');
  }

  if (!(await workerPolling(temporal))) {
    log('starting a worker …');
    const key = await localLoginKey(dir);
    await daemon('worker', process.execPath, [path.join(ROOT, 'dist/worker/main.js')], {
      TEMPORAL_ADDRESS: LOCAL.temporalAddress,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: DEFAULT_TASK_QUEUE,
      DIGITALOCEAN_TOKEN: LOCAL.labToken,
      DIGITALOCEAN_API_URL: labUrl,
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
  return { temporal, labUrl, started };
}

/** Stops what ensureLocalStack started (by the pids it recorded). */
export async function stopLocalStack(): Promise<string[]> {
  const stopped: string[] = [];
  for (const name of ['worker', 'lab', 'temporal']) {
    const pidFile = path.join(localDir(), `${name}.pid`);
    const pid = Number(await fs.readFile(pidFile, 'utf8').catch(() => ''));
    if (!pid) continue;
    try {
      process.kill(pid, 'SIGTERM');
      stopped.push(name);
      await waitFor(async () => !alive(pid), 30_000, `${name} (pid ${pid}) did not stop`);
    } catch {
      // already gone
    }
    await fs.rm(pidFile, { force: true });
  }
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

async function daemon(name: string, cmd: string, args: string[], env: Record<string, string>): Promise<void> {
  const dir = localDir();
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

async function labUp(): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${LOCAL.labPort}/v2/regions`, {
      headers: { authorization: `Bearer ${LOCAL.labToken}` },
      signal: AbortSignal.timeout(2000),
    });
    return r.status === 200;
  } catch {
    return false;
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
