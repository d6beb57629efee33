/**
 * The worker's HTTP endpoint on IMAGE_FORGE_METRICS: /metrics (the worker's own metrics, then the
 * Temporal SDK's, scraped from its exporter on an internal loopback port), /healthz (the process
 * answers) and /readyz (the worker is polling Temporal: its state is RUNNING).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { State } from '@temporalio/worker';
import { registry } from '../platform/metrics';

export interface MetricsServerOptions {
  host: string;
  port: number;
  /** The SDK's Prometheus exporter (loopback), appended to /metrics when set. */
  sdkScrapeUrl?: string;
  workerState: () => State | undefined;
}

async function sdkMetrics(url: string | undefined): Promise<string> {
  if (!url) return '';
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return res.ok ? await res.text() : '';
  } catch {
    // The worker's own metrics are still worth serving when the SDK's exporter does not answer.
    return '';
  }
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<http.Server & { port: number }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'only GET\n');
    if (path === '/healthz') return reply(200, 'ok\n');
    if (path === '/readyz') {
      const state = opts.workerState();
      return state === 'RUNNING' ? reply(200, 'ready\n') : reply(503, `not ready: worker ${state ?? 'not created'}\n`);
    }
    if (path === '/metrics') {
      void Promise.all([registry.metrics(), sdkMetrics(opts.sdkScrapeUrl)]).then(
        ([own, sdk]) => reply(200, own + (sdk ? `\n${sdk}` : ''), registry.contentType),
        (err: unknown) => reply(500, `metrics: ${err instanceof Error ? err.message : String(err)}\n`),
      );
      return;
    }
    reply(404, 'not found: try /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
}
