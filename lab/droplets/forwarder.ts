/**
 * A small TCP forwarder, in-process: the droplet's only way out. It listens on the host side of
 * the droplet's veth (a link-local address) and connects each accepted connection to one fixed
 * target (the Debian mirror). Bounded: a connection cap and an idle timeout; close() ends all.
 */
import { createServer, connect, type Socket } from 'node:net';

export interface ForwarderOptions {
  listenHost: string;
  listenPort: number;
  targetHost: string;
  targetPort: number;
  maxConnections?: number;
  idleTimeoutMs?: number;
}

export interface Forwarder {
  readonly listenHost: string;
  readonly listenPort: number;
  /** Connections accepted so far (for tests and logs). */
  accepted(): number;
  close(): Promise<void>;
}

export async function startForwarder(o: ForwarderOptions): Promise<Forwarder> {
  const max = o.maxConnections ?? 64;
  const idle = o.idleTimeoutMs ?? 5 * 60_000;
  const sockets = new Set<Socket>();
  let count = 0;
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  const server = createServer({ noDelay: true }, (client) => {
    track(client);
    count++;
    const upstream = connect({ host: o.targetHost, port: o.targetPort, noDelay: true });
    track(upstream);
    const endBoth = (): void => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.setTimeout(idle, endBoth);
      s.on('error', endBoth);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.maxConnections = max; // further connections are refused by Node
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: o.listenHost, port: o.listenPort, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => process.stderr.write(`[forwarder ${o.listenHost}:${o.listenPort}] ${err.message}\n`));
  return {
    listenHost: o.listenHost,
    listenPort: o.listenPort,
    accepted: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
