/**
 * A real S3-compatible server for tests: Versity S3 Gateway (built by scripts/ensure-versitygw.sh)
 * serving a temporary directory (`posix` backend: buckets are its subfolders), bound to
 * 127.0.0.1 on a free port, with fresh random credentials and one bucket.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { setTimeout as sleep } from 'node:timers/promises';

const REPO = path.resolve(__dirname, '..', '..', '..');

export interface S3Server {
  endpoint: string; // http://127.0.0.1:<port>
  bucket: string;
  accessKey: string;
  secretKey: string;
  /** The posix directory served; `<root>/<bucket>/<key>` is an object's file. */
  root: string;
  /** Environment for storeFromEnv / S3Store pointing at this server. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export function versitygwPath(): string {
  return execFileSync('bash', [path.join(REPO, 'scripts/ensure-versitygw.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startS3Server(opts: { bucket?: string } = {}): Promise<S3Server> {
  const bin = versitygwPath();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'image-forge-s3-'));
  const root = path.join(dir, 'root');
  await fs.mkdir(root);
  const accessKey = `forge${randomBytes(6).toString('hex')}`;
  const secretKey = randomBytes(20).toString('hex');
  const bucket = opts.bucket ?? 'image-forge-test';
  let lastError: unknown;
  // A free port can be taken between finding and binding it: try a few.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const child = spawn(
      bin,
      ['--access', accessKey, '--secret', secretKey, '--port', `127.0.0.1:${port}`, '--quiet', 'posix', root],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    const keep = (c: Buffer) => {
      output = (output + c.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    const killOnExit = () => {
      if (child.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    };
    process.once('exit', killOnExit);
    const stopChild = async (): Promise<void> => {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        process.kill(child.pid, 'SIGTERM');
        const timer = setTimeout(() => {
          if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
        }, 5000);
        await exited;
        clearTimeout(timer);
      }
    };
    try {
      await waitUntilAnswers(port, exited, () => output);
      const client = new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
      });
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
      } finally {
        client.destroy();
      }
    } catch (e) {
      lastError = e;
      await stopChild();
      continue;
    }
    let stopped = false;
    return {
      endpoint,
      bucket,
      accessKey,
      secretKey,
      root,
      env: {
        IMAGE_FORGE_S3_BUCKET: bucket,
        IMAGE_FORGE_S3_ENDPOINT: endpoint,
        AWS_ACCESS_KEY_ID: accessKey,
        AWS_SECRET_ACCESS_KEY: secretKey,
      },
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await stopChild();
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  }
  await fs.rm(dir, { recursive: true, force: true });
  throw new Error(`versitygw did not start: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
}

/** Until an HTTP request to the port gets any answer (403 without credentials is an answer). */
async function waitUntilAnswers(port: number, exited: Promise<void>, output: () => string): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`versitygw exited: ${output().trim()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`versitygw did not answer on 127.0.0.1:${port} within 20 s: ${output().trim()}`);
}
