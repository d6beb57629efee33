/**
 * A real Prometheus server (Debian's /usr/bin/prometheus) for a test: its own loopback port, a temp
 * config scraping the given targets every second, a temp storage dir. Never the Debian service.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freeLoopbackPort } from '../../worker/free-port';

export interface Prometheus {
  url: string;
  /** A PromQL instant query's first value, or undefined when the result is empty. */
  query(promql: string): Promise<number | undefined>;
  stop(): Promise<void>;
}

export async function startPrometheus(targets: string[]): Promise<Prometheus> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'forge-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  await fs.writeFile(
    config,
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: image-forge-worker',
      `    static_configs: [{ targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}] }]`,
      '',
    ].join('\n'),
  );
  const port = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}`;
  const log = await fs.open(path.join(dir, 'prometheus.log'), 'w');
  const child: ChildProcess = spawn(
    '/usr/bin/prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', log.fd, log.fd] },
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, sleep(10_000).then(() => child.kill('SIGKILL'))]);
    }
    await log.close().catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      const text = await fs.readFile(path.join(dir, 'prometheus.log'), 'utf8').catch(() => '');
      await stop();
      throw new Error(`prometheus did not start:\n${text}`);
    }
    await sleep(250);
  }
  return {
    url,
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { result: { value: [number, string] }[] };
      };
      if (body.status !== 'success') throw new Error(`PromQL ${promql}: ${body.error ?? res.status}`);
      const first = body.data?.result[0];
      return first ? Number(first.value[1]) : undefined;
    },
    stop,
  };
}
