/**
 * platform/ssh.ts against an in-process ssh2 server: pinned host keys, exec with stdin/stdout/
 * stderr/env, exit codes and signals, a channel that dies without an exit status, connect retries
 * until the server comes up, and errors that never carry key material. No root, no droplet.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import { Readable } from 'node:stream';
import { Server, utils, type Client } from 'ssh2';
import { randomEd25519 } from '../../platform/host-key';
import { HostKeyMismatchError, SshConnectionLostError, connectSsh, exec, sha256Fingerprint } from '../../platform/ssh';

const hostKey = randomEd25519();
const userKey = randomEd25519();
const userPublic = utils.parseKey(userKey.publicOpenSsh);
const hostParsed = utils.parseKey(hostKey.privateOpenSsh);
if (userPublic instanceof Error || hostParsed instanceof Error) throw new Error('test keys did not parse');
const hostFingerprint = `SHA256:${createHash('sha256').update(hostParsed.getPublicSSH()).digest('base64').replace(/=+$/, '')}`;

/** Commands the fake server understands. */
function serve(): Server {
  const server = new Server({ hostKeys: [hostKey.privateOpenSsh] }, (client) => {
    client.on('authentication', (ctx) => {
      if (
        ctx.method === 'publickey' &&
        ctx.key.algo === 'ssh-ed25519' &&
        Buffer.compare(ctx.key.data, userPublic instanceof Error ? Buffer.alloc(0) : userPublic.getPublicSSH()) === 0
      )
        ctx.accept();
      else ctx.reject(['publickey']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('exec', (acceptExec, _reject, info) => {
          const ch = acceptExec();
          const cmd = info.command;
          if (cmd === 'cat') {
            ch.on('data', (d: Buffer) => ch.write(d)); // echo stdin back
            ch.on('end', () => {
              ch.exit(0);
              ch.end();
            });
          } else if (cmd.endsWith('\nprintenv')) {
            ch.write(cmd.split('\n')[0] + '\n');
            ch.exit(0);
            ch.end();
          } else if (cmd === 'fail') {
            ch.stderr.write('bad things\n');
            ch.exit(3);
            ch.end();
          } else if (cmd === 'killed') {
            ch.exit('KILL');
            ch.end();
          } else if (cmd === 'flood') {
            // 8 MiB in 64 KiB writes, each waiting for the channel to take the last (SSH flow control).
            let left = 128;
            const more = () => {
              while (left > 0) {
                left--;
                if (!ch.write(Buffer.alloc(64 << 10, 'f'))) return void ch.once('drain', more);
              }
              ch.exit(0);
              ch.end();
            };
            more();
          } else if (cmd === 'vanish') {
            ch.close(); // no exit status
          } else if (cmd === 'hangup') {
            client.end(); // the whole connection goes
          } else {
            ch.write(`ran: ${cmd}\n`);
            ch.exit(0);
            ch.end();
          }
        });
      });
    });
    client.on('error', () => undefined);
  });
  // The server side needs TCP_NODELAY too, or every exchange waits ~40 ms for a delayed ACK.
  server.on('connection', (sock: net.Socket) => sock.setNoDelay(true));
  return server;
}

let server: Server;
let port = 0;
const clients: Client[] = [];

before(async () => {
  server = serve();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  for (const c of clients) c.end();
  await new Promise<void>((r) => server.close(() => r()));
});

async function connect(extra: { hostKeySha256?: string } = {}): Promise<Client> {
  const c = await connectSsh({
    host: '127.0.0.1',
    port,
    username: 'root',
    privateKey: userKey.privateOpenSsh,
    readyTimeoutMs: 5000,
    ...extra,
  });
  clients.push(c);
  return c;
}

async function capture(c: Client, command: string, opts: Parameters<typeof exec>[2] = {}) {
  let out = '';
  let err = '';
  const r = await exec(c, command, {
    ...opts,
    onStdout: (b) => (out += b.toString()),
    onStderr: (b) => (err += b.toString()),
  });
  return { ...r, out, err };
}

test('fingerprints are OpenSSH SHA256 form', () => {
  assert.equal(sha256Fingerprint(hostParsed.getPublicSSH()), hostFingerprint);
});

test('exec: output, stderr, exit codes, signals, stdin as string, Buffer and stream, env', async () => {
  const c = await connect({ hostKeySha256: hostFingerprint });
  assert.deepEqual(await capture(c, 'hello'), { exitCode: 0, signal: null, out: 'ran: hello\n', err: '' });
  assert.deepEqual(await capture(c, 'fail'), { exitCode: 3, signal: null, out: '', err: 'bad things\n' });
  assert.deepEqual(await capture(c, 'killed'), { exitCode: null, signal: 'SIGKILL', out: '', err: '' });
  assert.equal((await capture(c, 'cat', { stdin: 'text in' })).out, 'text in');
  assert.equal((await capture(c, 'cat', { stdin: Buffer.from([1, 2, 3]) })).out, '\u0001\u0002\u0003');
  assert.equal((await capture(c, 'cat', { stdin: Readable.from(['a', 'b', 'c']) })).out, 'abc');
  assert.equal((await capture(c, 'cat')).out, '');
  assert.equal((await capture(c, 'printenv', { env: { GREETING: "it's" } })).out, `export GREETING='it'\\''s'\n`);
});

test('a pinned host key that differs is refused with HostKeyMismatchError, at once', async () => {
  const t = Date.now();
  await assert.rejects(
    connect({ hostKeySha256: 'SHA256:wrongwrongwrongwrongwrongwrongwrongwrongwro' }),
    (err: unknown) => {
      assert.ok(err instanceof HostKeyMismatchError);
      assert.equal(err.presented, hostFingerprint);
      return true;
    },
  );
  assert.ok(Date.now() - t < 3000, 'no retries on a mismatch');
});

test('a channel that closes without an exit status, or a dropped connection: SshConnectionLostError', async () => {
  const c = await connect();
  await assert.rejects(exec(c, 'vanish'), SshConnectionLostError);
  const d = await connect();
  await assert.rejects(exec(d, 'hangup'), SshConnectionLostError);
  await assert.rejects(exec(d, 'hello'), SshConnectionLostError);
});

test('connect retries until the server comes up, and gives up at the deadline', async () => {
  // A port nobody listens on yet.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const late = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));

  const t = Date.now();
  await assert.rejects(
    connectSsh({
      host: '127.0.0.1',
      port: late,
      username: 'root',
      privateKey: userKey.privateOpenSsh,
      readyTimeoutMs: 1200,
    }),
    SshConnectionLostError,
  );
  assert.ok(Date.now() - t >= 1000, 'kept trying until the deadline');

  const lateServer = serve();
  setTimeout(() => lateServer.listen(late, '127.0.0.1'), 700);
  try {
    const c = await connectSsh({
      host: '127.0.0.1',
      port: late,
      username: 'root',
      privateKey: userKey.privateOpenSsh,
      readyTimeoutMs: 10_000,
    });
    clients.push(c);
    assert.equal((await capture(c, 'hi')).out, 'ran: hi\n');
    c.end();
  } finally {
    await new Promise<void>((r) => lateServer.close(() => r()));
  }
});

test('errors never carry key material', async () => {
  const secret =
    '-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END OPENSSH PRIVATE KEY-----\n';
  await assert.rejects(connectSsh({ host: '127.0.0.1', port, username: 'root', privateKey: secret }), (err: Error) => {
    assert.ok(!err.message.includes('c2VjcmV0'));
    return true;
  });
  const wrongUser = randomEd25519();
  await assert.rejects(
    connectSsh({
      host: '127.0.0.1',
      port,
      username: 'root',
      privateKey: wrongUser.privateOpenSsh,
      readyTimeoutMs: 1500,
    }),
    (err: Error) => {
      assert.equal(err.name, 'SshAuthenticationError');
      assert.ok(!err.message.includes(wrongUser.privateOpenSsh.slice(40, 80)));
      return true;
    },
  );
});

test('a busy consumer pauses the output: nothing more arrives until it is ready, then all of it', async () => {
  const conn = await connect();
  let received = 0;
  let atPause = -1;
  let duringPause = -1;
  let paused = false;
  const r = await exec(conn, 'flood', {
    onStdout: (b) => (received += b.length),
    busy: () => {
      if (paused) return undefined;
      paused = true;
      atPause = received;
      return new Promise<void>((done) =>
        setTimeout(() => {
          duringPause = received;
          done();
        }, 500),
      );
    },
  });
  assert.equal(r.exitCode, 0);
  assert.ok(atPause > 0 && atPause < 8 << 20, `paused after the first chunk (${atPause})`);
  assert.equal(duringPause, atPause, 'no output was read while the consumer was busy');
  assert.equal(received, 8 << 20, 'all of it arrived after');
});
