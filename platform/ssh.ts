/**
 * The product's SSH helper (ssh2): connect to a droplet that may still be booting, verify its
 * pinned host key, run commands. Errors are typed so callers can tell a wrong host key (never
 * retry) from a lost connection (retry), and no error message ever carries key material.
 */
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import { Client, utils } from 'ssh2';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SshConnectOptions {
  host: string;
  port?: number;
  username: string;
  /** OpenSSH or PEM private key. Secret: never echoed in errors. */
  privateKey: string | Buffer;
  /** Pinned host key fingerprint, 'SHA256:<base64>' as OpenSSH prints it; any key is accepted when absent. */
  hostKeySha256?: string;
  /** SSH keepalive interval (default 2000 ms); three unanswered keepalives drop the connection. */
  keepaliveIntervalMs?: number;
  /** Deadline for the whole connect (default 60 s): TCP retries while the droplet boots, then the handshake. */
  readyTimeoutMs?: number;
  /** Called with the fingerprint of the host key the server presented. */
  onHostKey?: (sha256: string) => void;
  /** Stops the retries (e.g. Ctrl-C). */
  signal?: AbortSignal;
  /** false: one attempt, its failure thrown (a probe whose every new connection counts, e.g. against `ufw limit`). */
  retry?: boolean;
  /**
   * Reach host:port through this connected jump host (an SSH bastion): each attempt asks it to open
   * a direct-tcpip channel (`forwardOut`) and speaks SSH over that channel instead of a TCP socket.
   */
  jump?: Client;
}

export interface ExecOptions {
  /** Standard input for the command; the channel gets EOF after it (or at once when absent). */
  stdin?: string | Buffer | Readable;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /**
   * Asked after each chunk of output: while the promise it returns is pending, the output is not
   * read, and SSH's flow control holds the command's writes (a consumer that fell behind).
   */
  busy?: () => Promise<void> | undefined;
  /** Exported before the command runs (sshd drops `env` requests not in its AcceptEnv). */
  env?: Record<string, string>;
}

export interface ExecResult {
  /** null when the command was killed by a signal. */
  exitCode: number | null;
  /** e.g. 'SIGTERM', or null. */
  signal: string | null;
}

/** The server presented a different host key than the pinned one: never retry, never trust. */
export class HostKeyMismatchError extends Error {
  override name = 'HostKeyMismatchError';
  constructor(
    readonly host: string,
    readonly expected: string,
    readonly presented: string,
  ) {
    super(`host key of ${host} is ${presented}, expected ${expected}: refusing to connect`);
  }
}

/** The connection could not be made before the deadline, or dropped while in use. */
export class SshConnectionLostError extends Error {
  override name = 'SshConnectionLostError';
}

/** The server refused our key until the deadline (a booting droplet may not have it yet). */
export class SshAuthenticationError extends Error {
  override name = 'SshAuthenticationError';
}

// Gentle retries: `ufw limit ssh` drops a source after 6 new connections in 30 s.
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 8000;
/** One TCP attempt: a dropped SYN must not eat the whole deadline. */
const CONNECT_ATTEMPT_MS = 5000;

/** OpenSSH's SHA256 fingerprint of a public key blob: 'SHA256:' + unpadded base64. */
export function sha256Fingerprint(publicKeyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '')}`;
}

function normaliseFingerprint(fp: string): string {
  const body = fp.startsWith('SHA256:') ? fp.slice('SHA256:'.length) : fp;
  return `SHA256:${body.replace(/=+$/, '')}`;
}

/**
 * Connects, retrying refused/unreachable TCP connects and early handshake failures until the
 * deadline (a droplet that is still booting). A host key mismatch fails at once.
 */
export async function connectSsh(opts: SshConnectOptions): Promise<Client> {
  const parsed = utils.parseKey(opts.privateKey);
  if (parsed instanceof Error || Array.isArray(parsed)) throw new Error('the SSH private key could not be parsed');
  const port = opts.port ?? 22;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  let delay = RETRY_MIN_MS;
  let last: Error;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const attemptMs = Math.max(500, Math.min(CONNECT_ATTEMPT_MS, deadline - Date.now()));
      const sock = opts.jump
        ? await forwardThrough(opts.jump, opts.host, port, attemptMs)
        : await tcpConnect(opts.host, port, attemptMs, opts.signal);
      return await handshake(sock, opts, Math.max(1000, deadline - Date.now()));
    } catch (err) {
      if (err instanceof HostKeyMismatchError || opts.signal?.aborted) throw err;
      if (!(err instanceof SshConnectionLostError || err instanceof SshAuthenticationError)) throw err;
      if (opts.retry === false) throw err;
      last = err;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw last;
    // The last wait is cut short so that one attempt falls on the deadline.
    await sleep(Math.min(delay, remaining), undefined, opts.signal ? { signal: opts.signal } : {});
    delay = Math.min(RETRY_MAX_MS, delay * 2);
  }
}

/** Our own socket with TCP_NODELAY: ssh2's default socket costs ~44 ms per command (Nagle × delayed ACK). */
function tcpConnect(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port, noDelay: true });
    sock.setNoDelay(true);
    const fail = (why: string) => {
      cleanup();
      sock.destroy();
      reject(new SshConnectionLostError(`could not connect to ${host}:${port}: ${why}`));
    };
    const onError = (err: NodeJS.ErrnoException) => fail(err.code ?? err.message);
    const onAbort = () => fail('aborted');
    const timer = setTimeout(() => fail('timed out'), timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      sock.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    sock.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.once('connect', () => {
      cleanup();
      resolve(sock);
    });
  });
}

/** A channel from the jump host to host:port; a refusal (the droplet still booting) is a lost connection, retried. */
function forwardThrough(jump: Client, host: string, port: number, timeoutMs: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new SshConnectionLostError(`the jump host did not open a channel to ${host}:${port} in time`)),
      timeoutMs,
    );
    try {
      jump.forwardOut('127.0.0.1', 0, host, port, (err, channel) => {
        clearTimeout(timer);
        if (err) reject(new SshConnectionLostError(`the jump host could not reach ${host}:${port}: ${err.message}`));
        else resolve(channel);
      });
    } catch (err) {
      clearTimeout(timer);
      reject(new SshConnectionLostError(`the jump host connection is gone: ${(err as Error).message}`));
    }
  });
}

function handshake(sock: Duplex, opts: SshConnectOptions, readyTimeoutMs: number): Promise<Client> {
  const pinned = opts.hostKeySha256 !== undefined ? normaliseFingerprint(opts.hostKeySha256) : undefined;
  const where = `${opts.host}:${opts.port ?? 22}`;
  return new Promise((resolve, reject) => {
    const client = new Client();
    let presented: string | undefined;
    let settled = false;
    const settle = (err: Error | undefined) => {
      if (settled) return;
      settled = true;
      if (err) {
        client.end();
        sock.destroy();
        reject(err);
      } else {
        resolve(client);
      }
    };
    // Always listen: an 'error' without a listener would crash the process after ready.
    client.on('error', (err: Error & { level?: string }) => {
      if (pinned && presented && presented !== pinned)
        return settle(new HostKeyMismatchError(where, pinned, presented));
      if (err.level === 'client-authentication') {
        return settle(new SshAuthenticationError(`SSH authentication as ${opts.username} to ${where} failed`));
      }
      settle(new SshConnectionLostError(`SSH connection to ${where} failed: ${err.message}`));
    });
    client.once('close', () =>
      settle(new SshConnectionLostError(`SSH connection to ${where} closed during the handshake`)),
    );
    client.once('ready', () => settle(undefined));
    client.connect({
      sock,
      username: opts.username,
      privateKey: opts.privateKey,
      readyTimeout: readyTimeoutMs,
      keepaliveInterval: opts.keepaliveIntervalMs ?? 2000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        presented = sha256Fingerprint(key);
        opts.onHostKey?.(presented);
        return pinned === undefined || presented === pinned;
      },
    });
  });
}

/** Runs a command; resolves with its exit status, rejects with SshConnectionLostError if the channel dies first. */
export function exec(conn: Client, command: string, opts: ExecOptions = {}): Promise<ExecResult> {
  const full = opts.env && Object.keys(opts.env).length > 0 ? `${exportLines(opts.env)}\n${command}` : command;
  return new Promise((resolve, reject) => {
    let settled = false;
    const onConnClose = () =>
      finish(new SshConnectionLostError('the SSH connection closed while a command was running'));
    const onConnError = (err: Error) =>
      finish(new SshConnectionLostError(`the SSH connection failed while a command was running: ${err.message}`));
    const finish = (result: ExecResult | Error) => {
      if (settled) return;
      settled = true;
      conn.off('close', onConnClose);
      conn.off('error', onConnError);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    conn.once('close', onConnClose);
    conn.once('error', onConnError);
    try {
      conn.exec(full, (err, channel) => {
        if (err) return finish(new SshConnectionLostError(`could not start a command over SSH: ${err.message}`));
        let exit: ExecResult | undefined;
        let paused = false;
        const waitIfBusy = () => {
          const wait = paused ? undefined : opts.busy?.();
          if (!wait) return;
          paused = true;
          channel.pause();
          channel.stderr.pause();
          const resume = () => {
            paused = false;
            channel.resume();
            channel.stderr.resume();
          };
          wait.then(resume, resume);
        };
        channel.on('data', (c: Buffer) => {
          opts.onStdout?.(c);
          waitIfBusy();
        });
        channel.stderr.on('data', (c: Buffer) => {
          opts.onStderr?.(c);
          waitIfBusy();
        });
        channel.on('exit', (code: number | null, signal?: string) => {
          exit = { exitCode: typeof code === 'number' ? code : null, signal: signal ?? null };
        });
        // Writes after the command exited (stdin still flowing) end up here: the exit status decides.
        channel.on('error', () => undefined);
        channel.on('close', () => {
          if (exit) finish(exit);
          else finish(new SshConnectionLostError('the command ended without an exit status (connection lost)'));
        });
        const stdin = opts.stdin;
        if (stdin === undefined) channel.end();
        else if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) channel.end(stdin);
        else {
          stdin.once('error', (e: Error) => {
            finish(new Error(`reading the command's standard input failed: ${e.message}`));
            channel.close();
          });
          stdin.pipe(channel);
        }
      });
    } catch (err) {
      finish(new SshConnectionLostError(`could not start a command over SSH: ${(err as Error).message}`));
    }
  });
}

/** `export K='v'` lines for a POSIX shell. */
function exportLines(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
        throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
      return `export ${k}='${v.replace(/'/g, `'\\''`)}'`;
    })
    .join('\n');
}
