/**
 * One SSH connection per build droplet per worker, reused across steps (a new connection costs
 * ~185 ms; a command on an open one ~2.5 ms). Every connection checks the droplet's pinned host
 * key; a connection that drops is forgotten and made again by the next command.
 * With a bastion (spec ssh.bastion) the worker first connects to it — its host key pinned from
 * the spec, never trusted on first use — and reaches each droplet through a channel it opens
 * (ssh2 forwardOut), one bastion connection shared by every droplet behind it.
 */
import { readFileSync } from 'node:fs';
import type { Client } from 'ssh2';
import { ApplicationFailure } from '@temporalio/common';
import { SshAuthenticationError, connectSsh, exec, sha256Fingerprint } from '../../platform/ssh';
import { deriveHostKey } from '../../platform/host-key';
import { bastionProblems } from '../../contract/plan-checks';
import { FailureType } from '../../contract/failures';
import type { BastionPlan } from '../../contract/plan';
import type { DropletRef } from '../../contract/steps';
import type { DropletSessions, RunOptions, RunResult } from '../runtime/droplet-sessions';

export type { RunOptions, RunResult };

export class DropletShells implements DropletSessions {
  private readonly conns = new Map<string, Promise<Client>>();
  /** Droplets logged in to with another key than the worker's (verify's one-time key). */
  private readonly keys = new Map<string, Buffer>();
  private readonly jumps = new Map<string, Promise<Client>>();

  constructor(
    private readonly privateKey: Buffer,
    private readonly hostKeySecret: Buffer,
    /** The worker's environment, for a bastion's `privateKey: { fromWorker: NAME }`. */
    private readonly workerEnv: (name: string) => string | undefined = () => undefined,
  ) {}

  /** Runs a command as root with bash; output goes to onOutput, each chunk with the stream it came from. */
  async run(ref: DropletRef, command: string, opts: RunOptions = {}): Promise<RunResult> {
    const conn = await this.connection(ref, opts.connectTimeoutMs ?? 30_000);
    const t0 = Date.now();
    try {
      const r = await exec(conn, command, {
        ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
        onStdout: (c: Buffer) => opts.onOutput?.(c, 'stdout'),
        onStderr: (c: Buffer) => opts.onOutput?.(c, 'stderr'),
        ...(opts.busy ? { busy: opts.busy } : {}),
      });
      return { exitCode: r.exitCode ?? 255, seconds: (Date.now() - t0) / 1000 };
    } catch (err) {
      this.forget(ref);
      throw err;
    }
  }

  /**
   * Whether `privateKey` logs in to the droplet as `username` — through the ref's bastion, as the
   * worker reaches it. One attempt: a refused key is an answer, not a droplet still booting.
   */
  async opensAs(ref: DropletRef, username: string, privateKey: Buffer, timeoutMs = 15_000): Promise<boolean> {
    try {
      const c = await connectSsh({
        host: ref.ipv4,
        username,
        privateKey,
        hostKeySha256: deriveHostKey(this.hostKeySecret, ref.hostKeyId ?? ref.buildId).fingerprint,
        readyTimeoutMs: timeoutMs,
        retry: false,
        ...(ref.bastion ? { jump: await this.jump(ref.bastion, timeoutMs) } : {}),
      });
      c.end();
      return true;
    } catch (err) {
      if (err instanceof SshAuthenticationError) return false;
      throw err;
    }
  }

  /** Logs in to this droplet with `privateKey` instead of the worker's key (until forgotten). */
  useKey(ref: Pick<DropletRef, 'dropletId' | 'ipv4'>, privateKey: Buffer): void {
    this.forget(ref);
    this.keys.set(key(ref), privateKey);
  }

  /** Back to the worker's key for this droplet; its connection is closed. */
  releaseKey(ref: Pick<DropletRef, 'dropletId' | 'ipv4'>): void {
    this.forget(ref);
    this.keys.delete(key(ref));
  }

  /** Closes and forgets the connection to a droplet (after shutdown, or before destroy). */
  forget(ref: Pick<DropletRef, 'dropletId' | 'ipv4'>): void {
    const k = key(ref);
    const c = this.conns.get(k);
    this.conns.delete(k);
    c?.then(
      (client) => client.end(),
      () => undefined,
    );
  }

  closeAll(): void {
    for (const c of [...this.conns.values(), ...this.jumps.values()])
      c.then(
        (client) => client.end(),
        () => undefined,
      );
    this.conns.clear();
    this.jumps.clear();
  }

  private connection(ref: DropletRef, timeoutMs: number): Promise<Client> {
    const k = key(ref);
    const existing = this.conns.get(k);
    if (existing) return existing;
    const pinned = deriveHostKey(this.hostKeySecret, ref.hostKeyId ?? ref.buildId).fingerprint;
    const c: Promise<Client> = (async () =>
      connectSsh({
        host: ref.ipv4,
        username: 'root',
        privateKey: this.keys.get(k) ?? this.privateKey,
        hostKeySha256: pinned,
        readyTimeoutMs: timeoutMs,
        ...(ref.bastion ? { jump: await this.jump(ref.bastion, timeoutMs) } : {}),
      }))();
    this.conns.set(k, c);
    const drop = () => {
      if (this.conns.get(k) === c) this.conns.delete(k);
    };
    c.then((client) => {
      client.on('close', drop);
      client.on('error', drop);
    }, drop);
    return c;
  }

  /** The connection to a bastion, made once and shared; checked again here (the ref came from a workflow input). */
  private jump(b: BastionPlan, timeoutMs: number): Promise<Client> {
    const problems = bastionProblems(b);
    if (problems.length > 0)
      throw ApplicationFailure.create({
        message: `refused workflow input: ${problems.join('; ')}`,
        type: FailureType.Spec,
        nonRetryable: true,
      });
    const hostKeySha256 = sha256Fingerprint(Buffer.from(b.hostKey!.trim().split(/\s+/)[1]!, 'base64'));
    const privateKey = b.privateKey ? this.bastionKey(b.privateKey.fromWorker) : this.privateKey;
    const k = `${b.user}@${b.host}:${b.port}/${hostKeySha256}`;
    const existing = this.jumps.get(k);
    if (existing) return existing;
    const c = connectSsh({
      host: b.host,
      port: b.port,
      username: b.user,
      privateKey,
      hostKeySha256,
      readyTimeoutMs: timeoutMs,
    });
    this.jumps.set(k, c);
    const drop = () => {
      if (this.jumps.get(k) === c) this.jumps.delete(k);
    };
    c.then((client) => {
      client.on('close', drop);
      client.on('error', drop);
    }, drop);
    return c;
  }

  private bastionKey(envName: string): Buffer {
    const file = this.workerEnv(envName);
    if (!file)
      throw ApplicationFailure.create({
        message: `ssh.bastion.privateKey names ${envName}, which is not set on this worker (it should name the bastion's private key file)`,
        type: FailureType.MissingWorkerEnv,
        nonRetryable: true,
      });
    try {
      return readFileSync(file);
    } catch (err) {
      throw ApplicationFailure.create({
        message: `the bastion key file named by ${envName} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        type: FailureType.MissingWorkerEnv,
        nonRetryable: true,
      });
    }
  }
}

function key(ref: Pick<DropletRef, 'dropletId' | 'ipv4'>): string {
  return `${ref.dropletId}@${ref.ipv4}`;
}
