/**
 * Checks of the plan fields that reach DigitalOcean and SSH: the client runs them before a build
 * starts, and every activity that takes them from a workflow input runs them again (an input may
 * come from anyone who can reach the task queue). Each returns problems as sentences; none means
 * fine. No Node APIs: the workflow bundle may load this file.
 */
import type { BastionPlan, BuildPlan, DropletPlan } from './plan';

/** DigitalOcean's limit on a droplet's user_data. */
export const USER_DATA_MAX_BYTES = 64 * 1024;
/** Longest timeout a spec may set (7 days): anything longer is a typo. */
export const TIMEOUT_MAX_MS = 7 * 24 * 3_600_000;
/** Most retries of one API call, and longest wait between two (seconds). */
export const API_RETRY_MAX = 50;
export const API_RETRY_WAIT_MAX_S = 3600;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HOSTNAME_RE =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6_RE = /^[0-9A-Fa-f:]{2,39}$/;
const USER_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A public key as known_hosts writes it, without the host name: "<type> <base64>". */
export const HOST_KEY_RE =
  /^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) [A-Za-z0-9+/]+={0,2}$/;

/** UTF-8 length without Node's Buffer (this file is workflow-safe). */
export function utf8Bytes(s: string): number {
  return new TextEncoder().encode(s).length;
}

export function dropletProblems(d: Partial<DropletPlan>, where = 'droplet'): string[] {
  const out: string[] = [];
  for (const k of ['privateNetworking', 'ipv6', 'monitoring', 'connectWithPrivateIp'] as const) {
    if (d[k] !== undefined && typeof d[k] !== 'boolean') out.push(`${where}.${k} must be true or false`);
  }
  if (d.vpcUuid !== undefined && (typeof d.vpcUuid !== 'string' || !UUID_RE.test(d.vpcUuid)))
    out.push(`${where}.vpcUuid must be a VPC's UUID, e.g. 5a4981aa-9653-4bd1-bef5-d6bff52042e4`);
  if ((d.vpcUuid !== undefined || d.connectWithPrivateIp) && d.privateNetworking !== true)
    out.push(`${where}: vpcUuid and connectWithPrivateIp need privateNetworking: true`);
  const ud = d.userData;
  if (ud !== undefined) {
    if (typeof ud !== 'object' || ud === null) out.push(`${where}.userData must be {text} or {path}`);
    else if ('text' in ud) {
      if (typeof ud.text !== 'string') out.push(`${where}.userData.text must be a string`);
      else if (utf8Bytes(ud.text) > USER_DATA_MAX_BYTES)
        out.push(`${where}.userData is ${utf8Bytes(ud.text)} bytes: DigitalOcean takes at most 64 KiB of user data`);
    } else if (!('path' in ud) || typeof ud.path !== 'string' || ud.path === '')
      out.push(`${where}.userData must be {text} or {path}`);
  }
  return out;
}

export function bastionProblems(b: Partial<BastionPlan> | undefined, where = 'ssh.bastion'): string[] {
  if (b === undefined) return [];
  if (typeof b !== 'object' || b === null) return [`${where} must be {host, port, user, hostKey}`];
  const out: string[] = [];
  const host = b.host;
  if (
    typeof host !== 'string' ||
    !(HOSTNAME_RE.test(host) || IPV4_RE.test(host) || (host.includes(':') && IPV6_RE.test(host)))
  )
    out.push(`${where}.host must be a host name or an IP address`);
  if (!Number.isInteger(b.port) || (b.port as number) < 1 || (b.port as number) > 65535)
    out.push(`${where}.port must be a port number (1-65535)`);
  if (typeof b.user !== 'string' || !USER_RE.test(b.user)) out.push(`${where}.user must be a user name, e.g. jump`);
  if (b.hostKey === undefined)
    out.push(
      `${where}.hostKey is needed: the bastion's host key as "ssh-ed25519 AAAA…" (e.g. from \`ssh-keyscan -t ed25519 <host>\`); ` +
        'the worker does not trust a jump host on first use',
    );
  else if (typeof b.hostKey !== 'string' || !HOST_KEY_RE.test(b.hostKey.trim()))
    out.push(`${where}.hostKey must be a public key such as "ssh-ed25519 AAAA…"`);
  if (
    b.privateKey !== undefined &&
    (typeof b.privateKey !== 'object' || b.privateKey === null || !ENV_NAME_RE.test(String(b.privateKey.fromWorker)))
  )
    out.push(`${where}.privateKey must be { fromWorker: NAME }`);
  return out;
}

export function timeoutProblems(t: BuildPlan['timeouts'], where = 'timeouts'): string[] {
  if (t === undefined) return [];
  const out: string[] = [];
  for (const k of ['stateMs', 'snapshotMs', 'transferMs'] as const) {
    const v = t[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > TIMEOUT_MAX_MS))
      out.push(`${where}.${k} must be a duration between 1 ms and 7 days`);
  }
  return out;
}

export function apiRetryProblems(a: BuildPlan['api'], where = 'api'): string[] {
  if (a === undefined) return [];
  const out: string[] = [];
  if (a.retryMax !== undefined && (!Number.isInteger(a.retryMax) || a.retryMax < 0 || a.retryMax > API_RETRY_MAX))
    out.push(`${where}.retryMax must be a whole number from 0 to ${API_RETRY_MAX}`);
  for (const k of ['retryWaitMin', 'retryWaitMax'] as const) {
    const v = a[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > API_RETRY_WAIT_MAX_S))
      out.push(`${where}.${k} must be a number of seconds from 0 to ${API_RETRY_WAIT_MAX_S}`);
  }
  if (a.retryWaitMin !== undefined && a.retryWaitMax !== undefined && a.retryWaitMin > a.retryWaitMax)
    out.push(`${where}.retryWaitMin must not be more than retryWaitMax`);
  return out;
}

/** Everything above, for a whole plan (the client, before it starts a build). */
export function planProblems(plan: BuildPlan): string[] {
  return [
    ...dropletProblems(plan.droplet),
    ...bastionProblems(plan.ssh?.bastion),
    ...timeoutProblems(plan.timeouts),
    ...apiRetryProblems(plan.api),
  ];
}

/** Most variants one matrix build makes, and most built at once. */
export const MATRIX_MAX_CHILDREN = 100;
export const MATRIX_MAX_CONCURRENCY = 20;

/** A matrix build's shape: the client checks it before starting, the matrix workflow again. */
export function matrixProblems(concurrency: unknown, variants: number): string[] {
  const out: string[] = [];
  const c = concurrency;
  if (typeof c !== 'number' || !Number.isInteger(c) || c < 1 || c > MATRIX_MAX_CONCURRENCY)
    out.push(`concurrency must be a whole number from 1 to ${MATRIX_MAX_CONCURRENCY}, not ${String(c)}`);
  if (variants < 1 || variants > MATRIX_MAX_CHILDREN)
    out.push(`a matrix builds 1 to ${MATRIX_MAX_CHILDREN} variants, not ${variants}: split it into several`);
  return out;
}
