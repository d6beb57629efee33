/**
 * The shutdown step's decisions (issue #19 §3), with a fake DigitalOcean and fake SSH: a droplet
 * is powered off through the API only after a seal that succeeded — in this attempt, or in an
 * earlier one recorded in the heartbeat details. Never for a seal that failed or never ran, nor
 * for one that started but whose last line was never read (issue #28 §2): that one runs again.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { shutdown } from '../../activities/shutdown';
import { SEAL_DONE } from '../../activities/image/seal';
import type { ActivityDeps } from '../../activities/runtime/deps';
import { LocalDirStore } from '../../context/store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Step logs go to a store of this file's own, removed after.
const storeDir = mkdtempSync(join(tmpdir(), 'forge-shutdown-decisions-'));
after(() => rmSync(storeDir, { recursive: true, force: true }));

interface Fake {
  status: string;
  posted: string[];
  commands: string[];
}

/** The fake droplet's answer to a command: its exit code, and its output (the seal's last line, or not). */
type Ssh = (command: string) => Promise<number | { exitCode: number; output: string }>;

/** A seal that ran to its end: exit 0 and its last line. */
const sealRuns = { exitCode: 0, output: `${SEAL_DONE}\n` };
const isSeal = (command: string) => command.endsWith(' bash -s') && command.startsWith('BUILDER_KEY=');

function deps(fake: Fake, ssh: Ssh): ActivityDeps {
  const client = {
    droplet: {
      getDroplet: async () => ({ data: { droplet: { id: 7, status: fake.status, locked: false } } }),
      shutdownDroplet: async () => {
        fake.posted.push('shutdown');
        fake.status = 'off';
        return { data: { action: { id: 1, status: 'completed', type: 'shutdown' } } };
      },
      powerOffDroplet: async () => {
        fake.posted.push('power_off');
        fake.status = 'off';
        return { data: { action: { id: 2, status: 'completed', type: 'power_off' } } };
      },
    },
    action: { getAction: async () => ({ data: { action: { id: 1, status: 'completed', type: 'shutdown' } } }) },
  };
  return {
    api: { call: async (_what: string, fn: (c: typeof client) => unknown) => fn(client) },
    store: new LocalDirStore(storeDir),
    shells: {
      run: async (_ref: unknown, command: string, opts: { onOutput?: (c: Buffer) => void }) => {
        fake.commands.push(command);
        const r = await ssh(command);
        const { exitCode, output } = typeof r === 'number' ? { exitCode: r, output: '' } : r;
        if (output) opts.onOutput?.(Buffer.from(output));
        return { exitCode, seconds: 0 };
      },
      forget: () => undefined,
    },
    timing: { pollMs: 10, shutdownGraceMs: 50 },
    login: { publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBuilderBuilderBuilderBuilderBuilderBuilder0 builder' },
  } as unknown as ActivityDeps;
}

const ref = { buildId: 'b', dropletId: 7, ipv4: '10.0.0.7' };

test('a seal that exits non-zero fails the step; nothing is powered off through the API', async () => {
  const fake: Fake = { status: 'active', posted: [], commands: [] };
  const run = new MockActivityEnvironment().run(shutdown(deps(fake, async (c) => (isSeal(c) ? 1 : 0))), ref);
  await assert.rejects(run, /seal the image.*exited with code 1/);
  assert.deepEqual(fake.posted, []);
});

test('an SSH error after the seal started fails the step; nothing is powered off', async () => {
  const fake: Fake = { status: 'active', posted: [], commands: [] };
  const ssh = async (c: string) => {
    if (isSeal(c)) throw new Error('connection lost');
    return 0;
  };
  await assert.rejects(new MockActivityEnvironment().run(shutdown(deps(fake, ssh)), ref), /connection lost/);
  assert.deepEqual(fake.posted, []);
});

test('an unreachable droplet never sealed is not powered off; one an earlier attempt sealed is', async () => {
  const unreachable = async () => {
    throw new Error('could not connect');
  };
  const fresh: Fake = { status: 'active', posted: [], commands: [] };
  await assert.rejects(new MockActivityEnvironment().run(shutdown(deps(fresh, unreachable)), ref), /could not connect/);
  assert.deepEqual(fresh.posted, []);
  const retried: Fake = { status: 'active', posted: [], commands: [] };
  const env = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { sealed: true } });
  const r = (await env.run(shutdown(deps(retried, unreachable)), ref)) as { how: string };
  assert.ok(['graceful', 'power_off'].includes(r.how));
  assert.deepEqual(retried.posted, ['shutdown']);
});

test('a droplet already off: done if an earlier attempt sealed it, refused otherwise', async () => {
  const off: Fake = { status: 'off', posted: [], commands: [] };
  await assert.rejects(
    new MockActivityEnvironment().run(shutdown(deps(off, async () => 0)), ref),
    /is off but was never sealed/,
  );
  const sealed = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { sealed: true } });
  assert.deepEqual(await sealed.run(shutdown(deps(off, async () => 0)), ref), { how: 'already-off' });
  assert.deepEqual(off.posted, []);
  assert.deepEqual(off.commands, [], 'no SSH to a droplet that is off');
});

test('a seal that succeeds: the droplet powers off by itself, graceful', async () => {
  const fake: Fake = { status: 'active', posted: [], commands: [] };
  const ssh = async (c: string) => {
    if (!isSeal(c)) return 0;
    setTimeout(() => (fake.status = 'off'), 5);
    return sealRuns;
  };
  assert.deepEqual(await new MockActivityEnvironment().run(shutdown(deps(fake, ssh)), ref), { how: 'graceful' });
  assert.deepEqual(fake.posted, []);
});

test('a droplet already off after a seal that only started: refused, not counted as sealed', async () => {
  const off: Fake = { status: 'off', posted: [], commands: [] };
  const started = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { sealing: true } });
  await assert.rejects(started.run(shutdown(deps(off, async () => 0)), ref), /is off but was never sealed/);
  assert.deepEqual(off.posted, []);
});

test('a seal cut off mid-way: the next attempt seals again, nothing is powered off through the API', async () => {
  const fake: Fake = { status: 'active', posted: [], commands: [] };
  const ssh = async (c: string) => {
    if (!isSeal(c)) return 0;
    setTimeout(() => (fake.status = 'off'), 5);
    return sealRuns;
  };
  const retried = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { sealing: true } });
  assert.deepEqual(await retried.run(shutdown(deps(fake, ssh)), ref), { how: 'graceful' });
  assert.equal(fake.commands.filter(isSeal).length, 1, 'the seal ran again');
  assert.deepEqual(fake.posted, []);
});

test('an unreachable droplet after a seal that only started is not powered off', async () => {
  const fake: Fake = { status: 'active', posted: [], commands: [] };
  const unreachable = async () => {
    throw new Error('could not connect');
  };
  const started = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { sealing: true } });
  await assert.rejects(started.run(shutdown(deps(fake, unreachable)), ref), /could not connect/);
  assert.deepEqual(fake.posted, []);
});

test('a seal that exits 0 without its last line is not a seal: the step fails, nothing is powered off', async () => {
  const fake: Fake = { status: 'active', posted: [], commands: [] };
  const ssh = async (c: string) => (isSeal(c) ? { exitCode: 0, output: 'the connection ended here\n' } : 0);
  await assert.rejects(
    new MockActivityEnvironment().run(shutdown(deps(fake, ssh)), ref),
    /the seal of droplet 7 ended before its last line: retry this step/,
  );
  assert.deepEqual(fake.posted, []);
});

test('the seal is given the builder key by its fields (type and blob), not its comment', async () => {
  const fake: Fake = { status: 'active', posted: [], commands: [] };
  const ssh = async (c: string) => {
    if (!isSeal(c)) return 0;
    setTimeout(() => (fake.status = 'off'), 5);
    return sealRuns;
  };
  await new MockActivityEnvironment().run(shutdown(deps(fake, ssh)), ref);
  assert.deepEqual(fake.commands.filter(isSeal), [
    "BUILDER_KEY='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBuilderBuilderBuilderBuilderBuilderBuilder0' bash -s",
  ]);
});
