/**
 * Everything an end-to-end build test needs, all real: the Temporal dev server, the lab (its API
 * in this process, its droplets real Debian systems), a login key, a context store, and a worker
 * — in this process, or as its own process (`worker/main.js`) for tests that kill it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { ed25519FromSeed } from '../../platform/host-key';
import type { ActivityDeps } from '../../activities/runtime/deps';
import { startAptCache, type AptCache } from '../../lab/apt-cache/apt-cacher-ng';
import { createLabServer } from '../../lab/api/server';
import type { LabServer, LabServerOptions } from '../../lab/api/server';
import { LAB_APT_PROXY } from '../../lab/droplets/network';
import { createNspawnRuntime, findLeftovers, isEmpty } from '../../lab/droplets/nspawn-runtime';
import type { WorkerSettings } from '../../worker/config';
import { createBuildWorker } from '../../worker/run';
import { cleanHost, hostLeftovers, leftoverError, requireLabRoot, unexpectedDroplets } from './teardown';
import { REPO, startTemporal } from './temporal';
import type { TemporalOptions } from './temporal';

export const LAB_TOKEN = 'lab-test-token-0123456789';

export interface Stack {
  dir: string;
  temporal: TestWorkflowEnvironment;
  temporalOptions: TemporalOptions;
  lab: LabServer;
  labOptions: LabServerOptions;
  auditFile: string;
  keyFile: string;
  storeDir: string;
  machinePrefix: string;
  /** The lab's apt cache, when on; droplets made from now on use the current one. */
  aptCache?: AptCache;
  /** Stops the apt cache and starts one on `dir` (default the machine's shared cache directory). */
  restartAptCache(dir?: string): Promise<AptCache>;
  /** The environment a client or worker process of this stack needs. */
  env: Record<string, string>;
  worker?: { worker: Worker; deps: ActivityDeps; running: Promise<void> };
  /** aptProxy: false starts a worker without IMAGE_FORGE_APT_PROXY. */
  startWorker(opts?: {
    timing?: ActivityDeps['timing'];
    extraEnv?: Record<string, string>;
    aptProxy?: boolean;
  }): Promise<void>;
  stopWorker(): Promise<void>;
  spawnWorker(extraEnv?: Record<string, string>): WorkerProcess;
  client(args: string[], extraEnv?: Record<string, string>): Promise<ClientRun>;
  /** Audit log records (JSON lines). */
  audit(): Promise<Record<string, unknown>[]>;
  /**
   * Tears everything down; throws when a droplet (other than keptDroplets), a one-time key, a
   * namespace, mount or loop device was left — after cleaning it anyway.
   */
  stop(keptDroplets?: number[]): Promise<void>;
}

export interface WorkerProcess {
  child: ChildProcess;
  logFile: string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface ClientRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface StackOptions {
  temporal?: TemporalOptions;
  lab?: Partial<LabServerOptions>;
  /** Start an in-process worker right away (default true). */
  worker?: boolean;
  timing?: ActivityDeps['timing'];
  apiTimeoutMs?: number;
  /** The lab's apt cache (default on): false runs without one, and the worker without a proxy. */
  aptCache?: boolean;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  requireLabRoot();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'forge-stack-'));
  const machinePrefix = `t${randomBytes(2).toString('hex')}-`;
  const auditFile = path.join(dir, 'lab-audit.jsonl');
  const storeDir = path.join(dir, 'store');
  const keyFile = path.join(dir, 'id_ed25519');
  const key = ed25519FromSeed(randomBytes(32));
  await fs.writeFile(keyFile, key.privateOpenSsh, { mode: 0o600 });

  const temporal = await startTemporal(opts.temporal);
  let aptCache = opts.aptCache === false ? undefined : await startAptCache();
  const labOptions: LabServerOptions = {
    runtime: createNspawnRuntime({ aptCachePort: () => aptCache?.port }),
    tokens: [LAB_TOKEN],
    auditFile,
    machinePrefix,
    timing: { transferDelayMs: 500 },
    ...opts.lab,
  };
  const lab = await createLabServer(labOptions).catch(async (err: unknown) => {
    await aptCache?.stop().catch(() => undefined);
    await temporal.teardown().catch(() => undefined);
    throw err;
  });
  const env: Record<string, string> = {
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: 'default',
    DIGITALOCEAN_TOKEN: LAB_TOKEN,
    DIGITALOCEAN_API_URL: lab.endpoint,
    IMAGE_FORGE_SSH_KEY: keyFile,
    IMAGE_FORGE_STORE_DIR: storeDir,
    IMAGE_FORGE_CACHE: path.join(dir, 'cache'),
    // The tiny fixture reads FORGE_TEST_SECRET, the SBOM test FORGE_BOM_SECRET: the operator allows both.
    IMAGE_FORGE_WORKER_SECRETS: 'FORGE_TEST_SECRET,FORGE_BOM_SECRET',
    ...(aptCache ? { IMAGE_FORGE_APT_PROXY: LAB_APT_PROXY } : {}),
  };
  const settings = (aptProxy = true): WorkerSettings => ({
    temporal: { address: temporal.address, namespace: 'default', tls: false },
    taskQueue: 'image-forge',
    token: LAB_TOKEN,
    apiUrl: lab.endpoint,
    sshKeyPath: keyFile,
    storeDir,
    cacheDir: path.join(dir, 'cache'),
    maxConcurrentActivities: 40,
    maxConcurrentWorkflows: 40,
    apiPerMinute: 240,
    workerSecrets: ['FORGE_TEST_SECRET', 'FORGE_BOM_SECRET'],
    ...(opts.apiTimeoutMs ? { apiTimeoutMs: opts.apiTimeoutMs } : {}),
    ...(aptCache && aptProxy ? { aptProxy: LAB_APT_PROXY } : {}),
  });
  const workers: WorkerProcess[] = [];

  const stack: Stack = {
    dir,
    temporal,
    temporalOptions: opts.temporal ?? {},
    lab,
    labOptions,
    auditFile,
    keyFile,
    storeDir,
    machinePrefix,
    ...(aptCache ? { aptCache } : {}),
    env,
    async restartAptCache(dir) {
      await aptCache?.stop();
      aptCache = undefined;
      aptCache = await startAptCache(dir ? { dir } : {});
      stack.aptCache = aptCache;
      return aptCache;
    },
    async startWorker(o = {}) {
      const timing = o.timing ?? opts.timing;
      const { worker, deps } = await createBuildWorker(
        settings(o.aptProxy ?? true),
        temporal.nativeConnection,
        timing ? { timing } : {},
      );
      if (o.extraEnv) deps.workerEnv = { ...process.env, ...o.extraEnv };
      stack.worker = { worker, deps, running: worker.run() };
    },
    async stopWorker() {
      if (!stack.worker) return;
      stack.worker.worker.shutdown();
      await stack.worker.running.catch(() => undefined);
      stack.worker.deps.shells.closeAll();
      delete stack.worker;
    },
    spawnWorker(extraEnv = {}) {
      const logFile = path.join(dir, `worker-${workers.length}.log`);
      const out = createWriteStream(logFile);
      const child = spawn(process.execPath, [path.join(REPO, 'dist/worker/main.js')], {
        env: { ...process.env, ...env, ...extraEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.pipe(out);
      child.stderr!.pipe(out);
      const wp: WorkerProcess = {
        child,
        logFile,
        kill: async (signal = 'SIGKILL') => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const gone = new Promise((r) => child.once('exit', r));
          child.kill(signal);
          await gone;
        },
      };
      workers.push(wp);
      return wp;
    },
    client(args, extraEnv = {}) {
      return new Promise((resolve) => {
        const child = spawn(process.execPath, [path.join(REPO, 'dist/client/main.js'), ...args], {
          env: { ...process.env, ...env, ...extraEnv },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      });
    },
    async audit() {
      const text = await fs.readFile(auditFile, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async stop(keptDroplets = []) {
      for (const w of workers) await w.kill('SIGKILL').catch(() => undefined);
      await stack.stopWorker().catch(() => undefined);
      // Looked for before anything is torn down, so a leak fails the test file that made it.
      const found: string[] = [];
      try {
        found.push(...(await unexpectedDroplets(lab, keptDroplets)));
      } catch (err) {
        found.push(`the lab's state could not be read: ${String(err)}`);
      }
      await lab.close().catch(() => undefined);
      await aptCache?.stop().catch(() => undefined);
      await stack.temporal.teardown().catch(() => undefined);
      found.push(...(await hostLeftovers(machinePrefix, dir).catch((err: unknown) => [String(err)])));
      await cleanHost(machinePrefix, dir).catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
      if (found.length > 0) throw leftoverError('this test stack', found);
    },
  };
  if (opts.worker !== false) await stack.startWorker();
  return stack;
}

/** Nothing of the lab's left on the machine: namespaces, mounts, cgroups, processes, disks. */
export async function assertNoLeftovers(prefix: string): Promise<void> {
  const l = await findLeftovers(prefix);
  if (!isEmpty(l)) throw new Error(`lab leftovers for ${prefix}: ${JSON.stringify(l)}`);
}
