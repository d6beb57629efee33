/**
 * The lab's DigitalOcean v2 API: node:http, bearer tokens, rate-limit headers, fault injection,
 * an audit log, and a self-check of every exchange against DigitalOcean's OpenAPI document.
 * It also serves DigitalOcean's Vendor API (Marketplace listings) under /api/v1/vendor-portal,
 * with the same tokens, limits, faults and log, checked against vendor-contract.ts.
 * Droplets are real systems from the injected DropletRuntime; closing the server destroys them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { DropletRuntime } from '../droplets/runtime';
import { stateDir as runtimeStateDir } from '../droplets/paths';
import {
  API_TOKEN_FILE,
  CONTROL_TOKEN_FILE,
  checkHost,
  isWildcardAddress,
  parseAllowedHosts,
  requireControlToken,
  writeApiToken,
  writeControlToken,
} from './access';
import { AuditLog } from './audit';
import type { LabContext } from './context';
import { ContractChecker, type ContractViolation } from './contract';
import { ApiError, forbidden, methodNotAllowed, notFound, serverError, tooManyRequests, unauthorized } from './errors';
import { Faults, type FaultRuleInput } from './faults';
import { readJsonBody, type LabRequest, type LabResponse } from './http';
import { Machines, type MachineTiming } from './machines';
import { RateLimiter } from './rate-limit';
import { Router } from './router';
import { registerAccountKeys } from './routes/account-keys';
import { registerActions } from './routes/actions';
import { registerCatalogue } from './routes/catalogue';
import { registerDropletActions } from './routes/droplet-actions';
import { registerDroplets } from './routes/droplets';
import { registerImages } from './routes/images';
import { addVendorApp, labSummary, registerLabControl } from './routes/lab-control';
import { registerSnapshots } from './routes/snapshots';
import { registerTags } from './routes/tags';
import { DEFAULT_VENDOR_API_OPTIONS, VENDOR_MESSAGES, registerVendorApi } from './routes/vendor';
import { loadState, StateSaver } from './persist';
import { LabState } from './state';
import { DEFAULT_TEAM } from './model';
import { recordVendorRequest, type VendorAppInput } from './vendor';
import { isVendorApiPath } from './vendor-contract';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LabServerOptions {
  runtime: DropletRuntime;
  /** Accepted bearer tokens, all of the lab's team (DEFAULT_TEAM) unless tokenTeams names another. */
  tokens: string[];
  /**
   * Also accept a random token made at this start (of DEFAULT_TEAM), written 0600 to `file`
   * (default: api-token in the server's own directory, beside the control token).
   */
  randomToken?: { file?: string };
  /**
   * The team of a token (accepted too if not in `tokens`). A team owns Marketplace apps and the
   * snapshots its tokens make; the Vendor API answers 403 for another team's app or image.
   */
  tokenTeams?: Record<string, string>;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /**
   * Host names (or addresses) the lab answers to besides loopback, e.g. the name workers on other
   * machines use. Required when `host` is 0.0.0.0 or ::, where only these and loopback are answered.
   */
  allowHosts?: string[];
  /** Append-only JSON-lines audit log. */
  auditFile?: string;
  faults?: FaultRuleInput[];
  faultSeed?: number;
  /** Where this server keeps its snapshot archives (in its own subdirectory, removed on close). */
  stateDir?: string;
  /**
   * Keep the lab's model (state.json) and snapshot archives here, across restarts: a lab started
   * on it again knows its droplets (off: their systems stopped with the old lab), snapshots, keys,
   * tags and Marketplace apps. Without it, everything goes with the server's own directory.
   */
  dataDir?: string;
  /** Validate every request and response against the OpenAPI document (default true). */
  contractCheck?: boolean;
  specPath?: string;
  onContractViolation?: (v: ContractViolation) => void;
  /** Requests per token per hour (DigitalOcean: 5000). */
  rateLimitPerHour?: number;
  /** Requests per token per minute, the burst limit (DigitalOcean: 250). */
  rateLimitPerMinute?: number;
  dropletLimit?: number;
  /** Distribution slugs to offer before their base tree is ready (the runtime builds it on first use). */
  extraDistributions?: string[];
  /** Start of every machine name (default "do-"); tests use their own to sweep what they made. */
  machinePrefix?: string;
  timing?: Partial<MachineTiming>;
  /** Marketplace apps of the Vendor API, there from the start (same shape as POST /_lab/vendor-apps). */
  vendorApps?: VendorAppInput[];
  /**
   * GET /api/v1/vendor-portal/apps/{app_id}, not promised by DigitalOcean: false (default) answers
   * 404, 405 answers 405, true serves the app. The documented way to read is the list, GET …/apps.
   */
  vendorSingleAppGet?: boolean | 404 | 405;
  /** What the deprecated …/apps/{app_id}/versions/{version} answers: 410 (default) or 404. */
  vendorDeprecatedStatus?: 404 | 410;
  /** Serve GET …/apps (default true); false: no read of an app works at all. */
  vendorListRead?: boolean;
  /** Where unexpected handler errors are reported (default stderr). */
  log?: (line: string) => void;
}

export interface LabServer {
  readonly port: number;
  /** e.g. http://127.0.0.1:8585 */
  readonly origin: string;
  /** e.g. http://127.0.0.1:8585/v2 — what dots-wrapper's `endpoint` wants. */
  readonly endpoint: string;
  /** The 0600 file holding this start's control token, needed (as a Bearer token) by /_lab/…. */
  readonly controlTokenFile: string;
  /** With `randomToken`: the 0600 file holding this start's /v2 token. */
  readonly apiTokenFile: string | undefined;
  readonly faults: Faults;
  /** undefined when contractCheck is off. */
  readonly contract: ContractChecker | undefined;
  /** Everything the self-check found so far (waits for checks still queued). */
  contractViolations(): Promise<ContractViolation[]>;
  /** The same summary as GET /_lab/state. */
  state(): Promise<Awaited<ReturnType<typeof labSummary>>>;
  /** Resolves when no boot, action or destroy is running. */
  idle(): Promise<void>;
  /** Stops serving, destroys every droplet it created and removes its snapshot archives. */
  close(): Promise<void>;
}

export const DEFAULT_MACHINE_PREFIX = 'do-';

/** Each server's own directory under the state dir (with its pid, for `client lab clean`). */
export const SERVER_DIR_PREFIX = 'lab-api-';

export const SERVER_RECORD = 'server.json';

export interface ServerRecord {
  pid: number;
  /** Every machine name of this server starts with it. */
  machinePrefix: string;
}

export const DEFAULT_TIMING: MachineTiming = {
  bootTimeoutMs: 180_000,
  shutdownTimeoutMs: 60_000,
  transferDelayMs: 3000,
  minActionMs: 250,
  maxDiskGiB: Number(process.env.IMAGE_FORGE_LAB_MAX_DISK_GIB ?? 3),
};

export async function createLabServer(opts: LabServerOptions): Promise<LabServer> {
  if (opts.tokens.length === 0 && !opts.randomToken) throw new Error('the lab needs at least one accepted token');
  const hostGuard = {
    allowed: parseAllowedHosts(opts.allowHosts ?? []),
    wildcard: isWildcardAddress(opts.host ?? '127.0.0.1'),
  };
  if (hostGuard.wildcard && hostGuard.allowed.length === 0)
    throw new Error(
      `a lab listening on every address (${opts.host}) answers only the host names it is given: name the ones its clients use (--allow-host NAME)`,
    );
  /** token → team */
  const tokens = new Map<string, string>(opts.tokens.map((t) => [t, DEFAULT_TEAM]));
  for (const [t, team] of Object.entries(opts.tokenTeams ?? {})) tokens.set(t, team);
  // Before anything is made on disk: a bad vendorApps entry leaves nothing behind.
  const audit = new AuditLog(opts.auditFile);
  const state = new LabState(audit);
  for (const app of opts.vendorApps ?? []) {
    try {
      addVendorApp(state, app);
    } catch (err) {
      throw new Error(`vendorApps: ${(err as Error).message}`, { cause: err });
    }
  }
  const serverTag = randomBytes(2).toString('hex');
  const ownDir = join(opts.stateDir ?? join(runtimeStateDir(), 'api'), `${SERVER_DIR_PREFIX}${serverTag}`);
  const snapshotsDir = join(opts.dataDir ?? ownDir, 'snapshots');
  await mkdir(ownDir, { recursive: true });
  await mkdir(snapshotsDir, { recursive: true });
  if (opts.dataDir) await loadState(state, opts.dataDir);
  const machinePrefix = opts.machinePrefix ?? DEFAULT_MACHINE_PREFIX;
  // `client lab clean` sweeps the machines of servers whose process is gone, then this directory.
  const record: ServerRecord = { pid: process.pid, machinePrefix: `${machinePrefix}${serverTag}-` };
  await writeFile(join(ownDir, SERVER_RECORD), `${JSON.stringify(record)}\n`);
  const controlTokenFile = join(ownDir, CONTROL_TOKEN_FILE);
  const controlToken = await writeControlToken(controlTokenFile);
  const apiTokenFile = opts.randomToken ? (opts.randomToken.file ?? join(ownDir, API_TOKEN_FILE)) : undefined;
  if (apiTokenFile) tokens.set(await writeApiToken(apiTokenFile), DEFAULT_TEAM);

  const faults = new Faults(opts.faultSeed ?? 1);
  for (const f of opts.faults ?? []) faults.add(f);
  const machines = new Machines(opts.runtime, state, snapshotsDir, { ...DEFAULT_TIMING, ...opts.timing });
  const ctx: LabContext = {
    state,
    machines,
    faults,
    runtime: opts.runtime,
    machinePrefix,
    serverTag,
    dropletLimit: opts.dropletLimit ?? 25,
    extraDistributions: opts.extraDistributions ?? [],
  };
  const contract =
    opts.contractCheck === false ? undefined : new ContractChecker(opts.specPath, opts.onContractViolation);
  const limiter = new RateLimiter({
    ...(opts.rateLimitPerHour !== undefined && { perHour: opts.rateLimitPerHour }),
    ...(opts.rateLimitPerMinute !== undefined && { perMinute: opts.rateLimitPerMinute }),
  });
  const log = opts.log ?? ((line: string) => process.stderr.write(`lab api: ${line}\n`));
  const saver = opts.dataDir ? new StateSaver(state, opts.dataDir, log) : undefined;

  const api = new Router();
  registerAccountKeys(api, ctx);
  registerDroplets(api, ctx);
  registerDropletActions(api, ctx);
  registerActions(api, ctx);
  registerImages(api, ctx);
  registerSnapshots(api, ctx);
  registerTags(api, ctx);
  registerCatalogue(api);
  registerVendorApi(api, ctx, {
    singleAppGet: opts.vendorSingleAppGet ?? DEFAULT_VENDOR_API_OPTIONS.singleAppGet,
    deprecatedStatus: opts.vendorDeprecatedStatus ?? DEFAULT_VENDOR_API_OPTIONS.deprecatedStatus,
    listRead: opts.vendorListRead ?? DEFAULT_VENDOR_API_OPTIONS.listRead,
  });
  const control = new Router();
  registerLabControl(control, ctx, contract);

  let port = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = Date.now();
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', 'http://lab');
    const method = (req.method ?? 'GET').toUpperCase();
    // DigitalOcean's v2 API, and its Vendor API (same host, same tokens): served alike.
    const isVendor = isVendorApiPath(url.pathname);
    const isApi = url.pathname === '/v2' || url.pathname.startsWith('/v2/') || isVendor;
    let bodyRead = false;
    let headers: Record<string, string> = {};
    let body: unknown;
    let fault: string | undefined;
    let out: LabResponse;
    try {
      checkHost(req.headers.host, port, hostGuard);
      if (isApi) {
        const token = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim() ?? '';
        const rate = limiter.take(token, Date.now(), method === 'GET' && url.pathname === '/v2/account/keys');
        headers = rate.headers;
        const team = tokens.get(token);
        // The Vendor API's page: 403 for an invalid token. It is silent on a missing one: 401 as on /v2.
        if (team === undefined) {
          throw isVendor && token !== '' ? forbidden(VENDOR_MESSAGES.invalidToken) : unauthorized();
        }
        if (rate.limited) throw tooManyRequests(rate.retryAfterSeconds);
        body = await readJsonBody(req);
        bodyRead = true;
        const decision = faults.forRequest(method, url.pathname);
        if (decision.delayMs > 0) await sleep(decision.delayMs);
        if (decision.response) {
          fault = decision.injected?.kind;
          out = decision.response;
        } else {
          out = await route(api, method, url, body, requestId, req, team);
        }
      } else if (url.pathname.startsWith('/_lab/')) {
        requireControlToken(req.headers.authorization, controlToken, controlTokenFile);
        body = await readJsonBody(req);
        out = await route(control, method, url, body, requestId, req, '');
      } else {
        throw notFound();
      }
    } catch (err) {
      if (!(err instanceof ApiError))
        log(`${method} ${url.pathname} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      const e = err instanceof ApiError ? err : serverError();
      out = { status: e.status, body: { id: e.id, message: e.message }, headers: e.headers };
    }
    // DigitalOcean's error bodies carry the request id.
    if (out.status >= 400 && isErrorBody(out.body)) out.body = { ...out.body, request_id: requestId };
    const responseHeaders: Record<string, string> = { ...headers, ...out.headers, 'x-request-id': requestId };
    let payload = '';
    if (out.text) {
      responseHeaders['content-type'] = out.text.contentType;
      payload = out.text.content;
    } else if (out.body !== undefined && out.status !== 204) {
      responseHeaders['content-type'] = 'application/json; charset=utf-8';
      payload = JSON.stringify(out.body);
    }
    res.writeHead(out.status, responseHeaders);
    res.end(payload);

    audit.record({
      type: 'request',
      method,
      path: url.pathname,
      ...(url.search ? { query: url.search.slice(1) } : {}),
      status: out.status,
      ms: Date.now() - started,
      requestId,
      ...(fault ? { fault } : {}),
    });
    // Changes the audit log does not see (an image's team, a tag, an app's review settings) too.
    if (method !== 'GET' && method !== 'HEAD') saver?.schedule();
    // Every body the Vendor API received (and read: after authentication), kept as received.
    if (isVendor && bodyRead && (method === 'PATCH' || body !== undefined)) {
      recordVendorRequest(state, method, url.pathname, out.status, body);
    }
    // An injected HTML page is off-contract on purpose; everything else from /v2 must match
    // (the Vendor API's exchanges are checked against vendor-contract.ts instead of the OpenAPI document).
    if (contract && isApi && !out.text) {
      contract.check({
        method,
        path: url.pathname,
        query: url.search.slice(1),
        requestHeaders: withoutAuthorization(req.headers),
        requestBody: body,
        status: out.status,
        responseHeaders,
        responseBody: out.body,
      });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`response failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  // Idle connections outlive the clients' own idle timeout (undici: 4 s), so a client never sends
  // on a socket the lab is closing at that moment ("fetch failed" under load, seen in a test run).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const host = opts.host && opts.host !== '0.0.0.0' && opts.host !== '::' ? opts.host : '127.0.0.1';
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  audit.record({ type: 'lab.started', endpoint: `${origin}/v2` });
  if (saver) {
    audit.onRecord = () => saver.schedule();
    saver.schedule(); // what loading changed (droplets off, actions cut short)
  }

  let closing: Promise<void> | undefined;
  return {
    port,
    origin,
    endpoint: `${origin}/v2`,
    controlTokenFile,
    apiTokenFile,
    faults,
    contract,
    contractViolations: async () => (contract ? contract.violations() : []),
    state: () => labSummary(ctx, contract),
    idle: () => machines.idle(),
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await stopped;
        const destroyed = await machines.close({ keepRecords: saver !== undefined });
        audit.record({ type: 'lab.closed', destroyed });
        await saver?.flush();
        await rm(ownDir, { recursive: true, force: true });
      })()),
  };
}

async function route(
  router: Router,
  method: string,
  url: URL,
  body: unknown,
  requestId: string,
  req: IncomingMessage,
  team: string,
): Promise<LabResponse> {
  const m = router.match(method, url.pathname);
  if (m.kind === 'not-found') throw notFound();
  if (m.kind === 'method-not-allowed') throw methodNotAllowed(m.allowed);
  const labReq: LabRequest = {
    method,
    path: url.pathname,
    query: url.searchParams,
    body,
    params: m.params,
    requestId,
    team,
    origin: `http://${req.headers.host ?? 'localhost'}`,
  };
  return m.handler(labReq);
}

/** The token never leaves the request handler, not even into the contract checker. */
function withoutAuthorization(headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && k !== 'authorization') out[k] = v;
  return out;
}

function isErrorBody(b: unknown): b is { id: string; message: string } {
  return typeof b === 'object' && b !== null && 'id' in b && 'message' in b;
}
