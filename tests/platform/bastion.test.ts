/**
 * SSH through a jump host, against a real OpenSSH sshd on 127.0.0.1 (tests/support/bastion.ts):
 * a channel opened by the bastion carries the second SSH connection, the bastion's host key is
 * pinned from the spec (a different key is refused, never trusted on first use), its private key
 * can come from the worker's environment, and a stopped bastion refuses the connection.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DropletShells } from '../../activities/remote/droplet-shells';
import { activityDeps } from '../../activities/remote/activity-deps';
import { ed25519FromSeed, hostKeySecretFrom } from '../../platform/host-key';
import { HostKeyMismatchError, SshConnectionLostError, connectSsh, exec, sha256Fingerprint } from '../../platform/ssh';
import type { BastionPlan } from '../../contract/plan';
import { startBastion, type Bastion } from '../support/bastion';

const login = ed25519FromSeed(randomBytes(32));
const other = ed25519FromSeed(randomBytes(32));
let dir = '';
let bastion: Bastion;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bastion-'));
  bastion = await startBastion(join(dir, 'sshd'), [login.publicOpenSsh, other.publicOpenSsh]);
});
after(async () => {
  await bastion?.stop();
  await rm(dir, { recursive: true, force: true });
});

const fingerprintOf = (key: string) => sha256Fingerprint(Buffer.from(key.split(' ')[1]!, 'base64'));

test('a second SSH connection rides a channel the bastion opens; the bastion logs the channel', async () => {
  const jump = await connectSsh({
    host: '127.0.0.1',
    port: bastion.port,
    username: 'root',
    privateKey: login.privateOpenSsh,
    hostKeySha256: fingerprintOf(bastion.hostKey),
    readyTimeoutMs: 10_000,
  });
  // The target is the bastion's own sshd, reached through itself: its end of the connection is a channel.
  const inner = await connectSsh({
    host: '127.0.0.1',
    port: bastion.port,
    username: 'root',
    privateKey: login.privateOpenSsh,
    hostKeySha256: fingerprintOf(bastion.hostKey),
    readyTimeoutMs: 10_000,
    jump,
  });
  let out = '';
  const r = await exec(inner, 'echo hello-through-the-bastion', { onStdout: (b) => (out += b.toString()) });
  inner.end();
  jump.end();
  assert.equal(r.exitCode, 0);
  assert.equal(out, 'hello-through-the-bastion\n');
  assert.match(
    await bastion.log(),
    new RegExp(`server_request_direct_tcpip: .* target 127\\.0\\.0\\.1 port ${bastion.port}`),
  );
});

test('DropletShells: the bastion must present the host key of the spec; its key may come from the worker', async () => {
  const shells = new DropletShells(Buffer.from(login.privateOpenSsh), hostKeySecretFrom(randomBytes(32)), (n) =>
    n === 'BASTION_KEY' ? join(dir, 'other-key') : undefined,
  );
  const ref = { buildId: 'b-1', dropletId: 1, ipv4: '10.250.9.9' };
  try {
    await shellChecks(shells, ref);
  } finally {
    shells.closeAll();
  }
});

async function shellChecks(shells: DropletShells, ref: { buildId: string; dropletId: number; ipv4: string }) {
  const b: BastionPlan = { host: '127.0.0.1', port: bastion.port, user: 'root', hostKey: other.publicOpenSsh };
  await assert.rejects(shells.run({ ...ref, bastion: b }, 'true', { connectTimeoutMs: 5000 }), (err: Error) => {
    assert.ok(err instanceof HostKeyMismatchError, String(err));
    assert.match(err.message, new RegExp(`host key of 127\\.0\\.0\\.1:${bastion.port} is SHA256:`));
    return true;
  });
  await assert.rejects(
    shells.run({ ...ref, bastion: { ...b, hostKey: bastion.hostKey, privateKey: { fromWorker: 'NOT_SET' } } }, 'true'),
    /ssh\.bastion\.privateKey names NOT_SET, which is not set on this worker/,
  );
  await assert.rejects(
    shells.run({ ...ref, bastion: { ...b, hostKey: undefined } }, 'true'),
    /refused workflow input: ssh\.bastion\.hostKey is needed/,
  );
  // With the right key the bastion accepts the worker (here with a key from the worker's environment)
  // and asks itself for the droplet, which does not exist: the channel is refused, and retried.
  await writeFile(join(dir, 'other-key'), other.privateOpenSsh, { mode: 0o600 });
  await assert.rejects(
    shells.run(
      { ...ref, dropletId: 2, bastion: { ...b, hostKey: bastion.hostKey, privateKey: { fromWorker: 'BASTION_KEY' } } },
      'true',
      { connectTimeoutMs: 2000 },
    ),
    (err: Error) => {
      assert.ok(err instanceof SshConnectionLostError, String(err));
      // OpenSSH refuses the channel, or opens it and closes it when its connect fails: either way a lost connection.
      assert.match(err.message, /10\.250\.9\.9:22/);
      return true;
    },
  );
  assert.match(await bastion.log(), /target 10\.250\.9\.9 port 22/);

  // A stopped bastion: the connection is refused.
  shells.closeAll();
  await bastion.stop();
  await assert.rejects(
    shells.run({ ...ref, dropletId: 3, bastion: { ...b, hostKey: bastion.hostKey } }, 'true', {
      connectTimeoutMs: 1500,
    }),
    new RegExp(`could not connect to 127\\.0\\.0\\.1:${bastion.port}: ECONNREFUSED`),
  );
}

test("a worker's shells read a bastion key only from a variable its operator allowed (IMAGE_FORGE_WORKER_SECRETS)", async () => {
  const base = {
    api: {} as never,
    login: { privateKey: Buffer.from(login.privateOpenSsh), publicKey: login.publicOpenSsh, md5Fingerprint: 'x' },
    store: {} as never,
    contextCacheDir: dir,
    vendor: {} as never,
    workerEnv: { BASTION_KEY: join(dir, 'other-key'), IMAGE_FORGE_SSH_KEY: join(dir, 'other-key') },
  };
  const b: BastionPlan = { host: '127.0.0.1', port: bastion.port, user: 'root', hostKey: bastion.hostKey };
  const ref = { buildId: 'b-2', dropletId: 3, ipv4: '10.250.9.10' };
  const refused = activityDeps({ ...base, workerSecrets: [] });
  await assert.rejects(
    refused.shells.run({ ...ref, bastion: { ...b, privateKey: { fromWorker: 'BASTION_KEY' } } }, 'true'),
    /reads BASTION_KEY .* the worker does not allow it: .*IMAGE_FORGE_WORKER_SECRETS/,
  );
  const own = activityDeps({ ...base, workerSecrets: ['IMAGE_FORGE_SSH_KEY'] });
  await assert.rejects(
    own.shells.run({ ...ref, bastion: { ...b, privateKey: { fromWorker: 'IMAGE_FORGE_SSH_KEY' } } }, 'true'),
    /reads IMAGE_FORGE_SSH_KEY .* which no build may read/,
  );
  refused.shells.closeAll();
  own.shells.closeAll();
});
