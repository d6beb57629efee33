/** Connections to Temporal for the worker (native) and the client, with one clear message on failure. */
import { promises as fs } from 'node:fs';
import * as tls from 'node:tls';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { TLSConfig } from '@temporalio/client';
import { UserError } from '../contract/user-error';
import type { TemporalSettings } from './temporal-settings';

async function tlsConfig(s: TemporalSettings): Promise<TLSConfig | undefined> {
  if (!s.tls) return undefined;
  const read = async (p: string | undefined, what: string) => {
    if (!p) return undefined;
    return fs.readFile(p).catch(() => {
      throw new UserError(`cannot read the ${what} ${p}: check the path`);
    });
  };
  const crt = await read(s.tlsCertPath, 'TLS client certificate (TEMPORAL_TLS_CERT)');
  const key = await read(s.tlsKeyPath, 'TLS client key (TEMPORAL_TLS_KEY)');
  const ca = await read(s.tlsCaPath, 'TLS CA certificate (TEMPORAL_TLS_CA)');
  return {
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(s.tlsServerName ? { serverNameOverride: s.tlsServerName } : {}),
  };
}

/** One clear message for a failed connection, from the error's whole cause chain, probing TLS when that is unclear. */
async function refusal(s: TemporalSettings, err: unknown): Promise<UserError> {
  const msg = causeChain(err);
  if (/unauthenticated|permission.denied|api.?key|\b401\b|\b403\b/i.test(msg)) {
    return new UserError(
      `Temporal at ${s.address} refused the connection (${firstLine(msg)}): check TEMPORAL_API_KEY or the TLS client certificate`,
    );
  }
  const tlsProblem = /certificate|UnknownIssuer|handshake|x509|ssl/i.test(msg)
    ? msg
    : s.tls
      ? await probeTls(s)
      : undefined;
  if (tlsProblem) {
    return new UserError(
      `TLS with Temporal at ${s.address} failed (${firstLine(tlsProblem)}): check TEMPORAL_TLS_CA (the CA of the server's ` +
        'certificate) and TEMPORAL_TLS_SERVER_NAME (the name in it)',
    );
  }
  return new UserError(
    `cannot reach Temporal at ${s.address} (${firstLine(msg)}): start it (\`client local start\`, or build with --local) or set TEMPORAL_ADDRESS`,
  );
}

/** The messages of an error and its causes (the SDKs wrap the gRPC status inside "Failed to connect"). */
function causeChain(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e && depth < 6; depth++) {
    const x = e as { message?: unknown; details?: unknown; code?: unknown; cause?: unknown };
    for (const v of [x.message, x.details]) if (typeof v === 'string' && v) parts.push(v);
    if (x.code === 16) parts.push('UNAUTHENTICATED');
    if (x.code === 7) parts.push('PERMISSION_DENIED');
    e = x.cause;
  }
  return parts.length > 0 ? parts.join(': ') : String(err);
}

/** A TLS handshake with the server as configured: the verification error, or undefined when it succeeds or TCP fails. */
async function probeTls(s: TemporalSettings): Promise<string | undefined> {
  const [host, port] = [s.address.slice(0, s.address.lastIndexOf(':')), Number(s.address.split(':').pop())];
  const ca = s.tlsCaPath ? await fs.readFile(s.tlsCaPath).catch(() => undefined) : undefined;
  return new Promise((resolve) => {
    const sock = tls.connect({
      host,
      port,
      servername: s.tlsServerName ?? host,
      ALPNProtocols: ['h2'],
      ...(ca ? { ca } : {}),
    });
    const done = (v: string | undefined) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(3000, () => done(undefined));
    sock.once('secureConnect', () => done(undefined));
    sock.once('error', (e: NodeJS.ErrnoException) =>
      done(
        /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH/.test(e.code ?? '') ? undefined : `${e.code ?? ''} ${e.message}`.trim(),
      ),
    );
  });
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.slice(0, 200);
}

export async function connectWorker(s: TemporalSettings): Promise<NativeConnection> {
  try {
    const tls = await tlsConfig(s);
    return await NativeConnection.connect({
      address: s.address,
      ...(tls ? { tls } : {}),
      ...(s.apiKey ? { apiKey: s.apiKey } : {}),
    });
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw await refusal(s, err);
  }
}

export async function connectClient(s: TemporalSettings): Promise<Connection> {
  try {
    const tls = await tlsConfig(s);
    const c = await Connection.connect({
      address: s.address,
      connectTimeout: '5s',
      ...(tls ? { tls } : {}),
      ...(s.apiKey ? { apiKey: s.apiKey } : {}),
    });
    await c.workflowService.getSystemInfo({});
    return c;
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw await refusal(s, err);
  }
}
