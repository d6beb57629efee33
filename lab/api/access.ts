/**
 * Who may talk to the lab. Its control endpoints (/_lab/…) change what every build sees (faults,
 * Marketplace reviews, image owners), so any local process must not use them: each start makes a
 * random control token, written 0600 for its operator's tools. And a browser page must not reach
 * the lab through a name it controls (DNS rebinding): only requests addressed to the lab's own
 * address, by IP or a loopback name, are answered.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { ApiError } from './errors';

/** The control token's file in the lab's state directory. */
export const CONTROL_TOKEN_FILE = 'control-token';

export async function writeControlToken(file: string): Promise<string> {
  const token = `lab_${randomBytes(32).toString('hex')}`;
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

/**
 * Refuses a request whose Host is not the lab itself: an IP address (no DNS involved, so no
 * rebinding) or a loopback name, on the port the lab listens on.
 */
export function checkHost(host: string | undefined, port: number): void {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d+))?$/.exec(host ?? '');
  const name = m?.[1]?.toLowerCase() ?? '';
  const hostPort = m?.[2] === undefined ? 80 : Number(m[2]);
  const literal = name.startsWith('[') ? name.slice(1, -1) : name;
  if (m && hostPort === port && (isIP(literal) !== 0 || LOOPBACK_NAMES.has(name))) return;
  throw new ApiError(
    421,
    'misdirected_request',
    `the lab answers only requests addressed to itself (an IP address or localhost on port ${port}), not Host ${JSON.stringify(host ?? '')}`,
  );
}
