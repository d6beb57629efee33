/**
 * Who may talk to the lab. Its control endpoints (/_lab/…) change what every build sees (faults,
 * Marketplace reviews, image owners), so any local process must not use them: each start makes a
 * random control token, written 0600 for its operator's tools; its API token can be made so too.
 * And a browser page must not reach the lab through a name it controls (DNS rebinding): only
 * requests addressed to the lab's own address, by IP or a loopback name, or by a name its operator
 * gave, are answered. A lab listening on every address answers only the names it was given.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { ApiError } from './errors';

/** The control token's file in the lab's state directory. */
export const CONTROL_TOKEN_FILE = 'control-token';

/** The API token's file in the lab's state directory, when the lab makes its own. */
export const API_TOKEN_FILE = 'api-token';

export async function writeControlToken(file: string): Promise<string> {
  return writeRandomToken(file, 'lab_');
}

/** A random /v2 token, new at each start, for the lab's users to read from a 0600 file. */
export async function writeApiToken(file: string): Promise<string> {
  return writeRandomToken(file, 'lab_api_');
}

async function writeRandomToken(file: string, prefix: string): Promise<string> {
  const token = `${prefix}${randomBytes(32).toString('hex')}`;
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600); // mode applies only to a new file; a stale one from an earlier start is reused
  return token;
}

export async function readControlToken(file: string): Promise<string> {
  return (await readFile(file, 'utf8')).trim();
}

export function requireControlToken(authorization: string | undefined, token: string, file: string): void {
  const given = Buffer.from(/^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim() ?? '');
  const want = Buffer.from(token);
  if (given.length === want.length && timingSafeEqual(given, want)) return;
  throw new ApiError(
    401,
    'unauthorized',
    `the lab's control endpoints need its control token as a Bearer token (in ${file}, readable by its operator)`,
  );
}

const LOOPBACK_NAMES = new Set(['localhost', 'localhost.', 'ip6-localhost', 'ip6-loopback']);

/** An address that listens on every interface: reachable by any name, so names must be listed. */
export function isWildcardAddress(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

/**
 * The names and addresses the lab answers to besides loopback, from the operator: lower case,
 * without brackets or a trailing dot. Throws on one that is not a host name or IP address.
 */
export function parseAllowedHosts(names: string[]): string[] {
  return names.map((raw) => {
    const name = bareHost(raw.trim().toLowerCase());
    if (
      isIP(name) === 0 &&
      !/^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(name)
    )
      throw new Error(`not a host name or IP address to allow: ${JSON.stringify(raw)}`);
    return name;
  });
}

/**
 * Refuses a request whose Host is not the lab itself, on the port the lab listens on: a loopback
 * name or address, a name in `allowed`, or — unless the lab listens on every address, where any
 * address could be someone else's — an IP address (no DNS involved, so no rebinding).
 */
export function checkHost(
  host: string | undefined,
  port: number,
  guard: { allowed: string[]; wildcard: boolean } = { allowed: [], wildcard: false },
): void {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d+))?$/.exec(host ?? '');
  const name = bareHost(m?.[1]?.toLowerCase() ?? '');
  const hostPort = m?.[2] === undefined ? 80 : Number(m[2]);
  const itself =
    LOOPBACK_NAMES.has(name) ||
    isLoopbackAddress(name) ||
    guard.allowed.includes(name) ||
    (!guard.wildcard && isIP(name) !== 0);
  if (m && hostPort === port && itself) return;
  const named = guard.allowed.length > 0 ? `, or ${guard.allowed.join(', ')} as given with --allow-host` : '';
  const which = guard.wildcard ? `localhost${named}` : `an IP address or localhost${named}`;
  throw new ApiError(
    421,
    'misdirected_request',
    `the lab answers only requests addressed to itself (${which}, on port ${port}), not Host ${JSON.stringify(host ?? '')}`,
  );
}

function bareHost(name: string): string {
  const unbracketed = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
  return unbracketed.length > 1 && unbracketed.endsWith('.') ? unbracketed.slice(0, -1) : unbracketed;
}

function isLoopbackAddress(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith('127.');
  return address === '::1' || address === '::ffff:127.0.0.1';
}
