/**
 * A TLS front for the Temporal dev server (which has no TLS of its own): a CA and a server
 * certificate made with openssl for the test, and an HTTP/2 proxy that terminates TLS, can demand
 * an API key (`authorization: Bearer …`, as Temporal Cloud does), and forwards each gRPC stream,
 * trailers included, to the dev server on loopback.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export interface TestCa {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** A CA and a server certificate for localhost / 127.0.0.1 signed by it, in `dir`. */
export function makeCa(dir: string, name = 'test'): TestCa {
  const f = (x: string) => path.join(dir, `${name}-${x}`);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('ca.key'));
  ssl('req', '-x509', '-new', '-key', f('ca.key'), '-days', '1', '-subj', `/CN=${name} test CA`, '-out', f('ca.pem'));
  ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('server.key'));
  ssl('req', '-new', '-key', f('server.key'), '-subj', '/CN=localhost', '-out', f('server.csr'));
  const ext = f('server.ext');
  writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  ssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    ext,
    '-out',
    f('server.pem'),
  );
  return { caFile: f('ca.pem'), certFile: f('server.pem'), keyFile: f('server.key') };
}

export interface TlsProxy {
  address: string;
  close(): Promise<void>;
}

export async function startTlsProxy(opts: { upstream: string; ca: TestCa; apiKey?: string }): Promise<TlsProxy> {
  const upstream = http2.connect(`http://${opts.upstream}`);
  upstream.on('error', () => undefined);
  const server = http2.createSecureServer({
    key: readFileSync(opts.ca.keyFile),
    cert: readFileSync(opts.ca.certFile),
    allowHTTP1: false,
  });
  server.on('stream', (stream, headers) => {
    if (opts.apiKey && headers.authorization !== `Bearer ${opts.apiKey}`) {
      // gRPC's "trailers-only" answer: UNAUTHENTICATED.
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': '16',
          'grpc-message': 'missing or wrong API key',
        },
        { endStream: true },
      );
      return;
    }
    const fwd: http2.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers))
      if (k !== ':authority' && k !== ':scheme' && k !== 'authorization') fwd[k] = v;
    const up = upstream.request(fwd);
    let trailers: http2.IncomingHttpHeaders | undefined;
    // After a side is gone (the test ends, a client hangs up) nothing more is written to it.
    const safe = (fn: () => void) => () => {
      if (stream.destroyed || stream.closed) return;
      try {
        fn();
      } catch {
        stream.destroy();
      }
    };
    up.on('response', (h) => {
      const out: http2.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(h)) if (!k.startsWith(':') || k === ':status') out[k] = v;
      safe(() => {
        stream.respond(out, { waitForTrailers: true });
        up.pipe(stream);
      })();
    });
    up.on('trailers', (t) => (trailers = t));
    stream.on(
      'wantTrailers',
      safe(() => {
        const t: http2.OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(trailers ?? {})) if (!k.startsWith(':')) t[k] = v;
        stream.sendTrailers(t);
      }),
    );
    stream.pipe(up);
    up.on(
      'error',
      safe(() => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR)),
    );
    stream.on('error', () => {
      if (!up.destroyed) up.close(http2.constants.NGHTTP2_CANCEL);
    });
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (sess) => {
    sessions.add(sess);
    sess.on('close', () => sessions.delete(sess));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    close: async () => {
      for (const sess of sessions) sess.destroy();
      upstream.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
