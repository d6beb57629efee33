/**
 * What the activities ask of the worker's SSH sessions to build droplets. The toolbox's bottom
 * floor says what it needs; remote/droplet-shells.ts provides it (one connection per droplet,
 * pinned host keys, bastions), so runtime never reaches up into remote.
 */
import type { Readable } from 'node:stream';
import type { DropletRef } from '../../contract/steps';

export interface RunOptions {
  stdin?: string | Buffer | Readable;
  onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
  /** While the promise it returns is pending, the command's output is not read (see exec). */
  busy?: () => Promise<void> | undefined;
  /** How long to keep trying to connect (a booting droplet). */
  connectTimeoutMs?: number;
}

export interface RunResult {
  exitCode: number;
  seconds: number;
}

type DropletAddress = Pick<DropletRef, 'dropletId' | 'ipv4'>;

export interface DropletSessions {
  /** Runs a command as root with bash; output goes to onOutput, each chunk with the stream it came from. */
  run(ref: DropletRef, command: string, opts?: RunOptions): Promise<RunResult>;
  /** Whether `username` can log in with `privateKey` (the builder-key probe). */
  opensAs(ref: DropletRef, username: string, privateKey: Buffer, timeoutMs?: number): Promise<boolean>;
  /** Log in to this droplet with another key than the worker's (verify's one-time key). */
  useKey(ref: DropletAddress, privateKey: Buffer): void;
  releaseKey(ref: DropletAddress): void;
  /** Closes and forgets the connection to a droplet (after shutdown, or before destroy). */
  forget(ref: DropletAddress): void;
  closeAll(): void;
}
