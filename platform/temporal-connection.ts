/** Connections to Temporal for the worker (native) and the client, with one clear message on failure. */
import { promises as fs } from 'node:fs';
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

function unreachable(s: TemporalSettings, err: unknown): UserError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/certificate|UnknownIssuer|handshake|tls|ssl|x509/i.test(msg)) {
    return new UserError(
      `TLS with Temporal at ${s.address} failed (${firstLine(msg)}): check TEMPORAL_TLS_CA (the CA of the server's ` +
        'certificate) and TEMPORAL_TLS_SERVER_NAME (the name in it)',
    );
  }
  if (/unauthenticated|permission|401|403/i.test(msg)) {
    return new UserError(
      `Temporal at ${s.address} refused the connection (${firstLine(msg)}): check TEMPORAL_API_KEY or the TLS client certificate`,
    );
  }
  return new UserError(
    `cannot reach Temporal at ${s.address} (${firstLine(msg)}): start it (\`client local start\`, or build with --local) or set TEMPORAL_ADDRESS`,
  );
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
    throw unreachable(s, err);
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
    throw unreachable(s, err);
  }
}
