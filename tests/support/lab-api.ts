/**
 * A lab API for tests: the real nspawn runtime, a private state dir, an audit file, the contract
 * self-check on, and a machine-name prefix of its own so the test can prove nothing is left.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiClient } from 'dots-wrapper';
import { createLabServer, type LabServer, type LabServerOptions } from '../../lab/api/server';
import { createNspawnRuntime, ensureBaseImage, findLeftovers, type Leftovers } from '../../lab/droplets/nspawn-runtime';
import {
  cleanHost,
  hostLeftovers,
  leftoverError,
  requireLabRoot,
  skipUnlessRootFor,
  unexpectedDroplets,
} from './teardown';
import { setTimeout as sleep } from 'node:timers/promises';

/** Skips a lab test without root, except under CI=true: there it fails with NEEDS_ROOT. */
export const skipUnlessRoot = skipUnlessRootFor();

export interface TestLab {
  server: LabServer;
  client: ReturnType<typeof createApiClient>;
  token: string;
  auditFile: string;
  machinePrefix: string;
  work: string;
  /** Audit log lines, parsed. */
  audit(): Promise<Array<Record<string, unknown> & { type: string }>>;
  leftovers(): Promise<Leftovers>;
  /**
   * Fails if a droplet other than `expected` is still listed, or (after closing the server) if
   * anything of its droplets is left on the host; cleans up either way and removes the work dir.
   */
  dispose(expected?: number[]): Promise<void>;
}

export async function startTestLab(name: string, opts: Partial<LabServerOptions> = {}): Promise<TestLab> {
  requireLabRoot();
  const work = await mkdtemp(join(tmpdir(), `${name}-`));
  // Droplet disks, snapshot trees and network slots of this test stay in its own state dir.
  process.env.IMAGE_FORGE_LAB_DIR = join(work, 'state');
  await ensureBaseImage('debian-12-x64');
  const token = `dop_v1_test_${process.pid}`;
  const auditFile = join(work, 'audit.jsonl');
  const machinePrefix = `t-${name.replace(/[^a-z0-9]/g, '').slice(0, 8)}${process.pid}-`;
  const server = await createLabServer({
    runtime: createNspawnRuntime(),
    tokens: [token],
    auditFile,
    stateDir: join(work, 'api'),
    machinePrefix,
    contractCheck: true,
    faultSeed: 42,
    timing: { transferDelayMs: 300, minActionMs: 100 },
    ...opts,
  });
  const client = createApiClient({ token, endpoint: server.endpoint });
  return {
    server,
    client,
    token,
    auditFile,
    machinePrefix,
    work,
    audit: async () =>
      (await readFile(auditFile, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown> & { type: string }),
    leftovers: () => findLeftovers(machinePrefix),
    dispose: async (expected = []) => {
      const found: string[] = [];
      try {
        found.push(...(await unexpectedDroplets(server, expected)));
        await server.close();
      } finally {
        found.push(...(await hostLeftovers(machinePrefix, work)));
        if (found.length > 0) await cleanHost(machinePrefix, work);
        await rm(work, { recursive: true, force: true });
      }
      if (found.length > 0) throw leftoverError(`lab test ${name}`, found);
    },
  };
}

/** Polls until check returns a value (not undefined), or fails after timeoutMs. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 120_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The status and body of a failed dots-wrapper call (an axios error), without its request config. */
export async function failure(
  p: Promise<unknown>,
): Promise<{ status: number; data: unknown; headers: Record<string, string> }> {
  const outcome = await p.then(
    () => ({ failed: false as const }),
    (err: unknown) => ({
      failed: true as const,
      err: err as { message?: string; response?: { status: number; data: unknown; headers: Record<string, string> } },
    }),
  );
  if (!outcome.failed) throw new Error('expected the request to fail');
  const r = outcome.err.response;
  // Only the message: the axios error's config carries the token.
  if (!r) throw new Error(`request failed without a response: ${outcome.err.message ?? 'unknown error'}`);
  return { status: r.status, data: r.data, headers: r.headers };
}
