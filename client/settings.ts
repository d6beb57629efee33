/** Where the client finds Temporal and the build-context store (flags override the environment). */
import type { Command } from 'commander';
import { Client } from '@temporalio/client';
import { DEFAULT_TASK_QUEUE, temporalSettingsFrom } from '../platform/temporal-settings';
import type { TemporalSettings } from '../platform/temporal-settings';
import { connectClient } from '../platform/temporal-connection';

export interface ConnectionFlags {
  address?: string;
  namespace?: string;
  apiKey?: string;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  taskQueue?: string;
}

/** Adds Temporal's usual connection flags to a command. */
export function withConnectionFlags(cmd: Command): Command {
  return cmd
    .option('--address <host:port>', 'Temporal frontend (env TEMPORAL_ADDRESS; default 127.0.0.1:7233)')
    .option('--namespace <ns>', 'Temporal namespace (env TEMPORAL_NAMESPACE; default "default")')
    .option('--api-key <key>', 'Temporal Cloud API key (env TEMPORAL_API_KEY)')
    .option('--tls-cert-path <file>', 'TLS client certificate (env TEMPORAL_TLS_CERT)')
    .option('--tls-key-path <file>', 'TLS client key (env TEMPORAL_TLS_KEY)')
    .option(
      '--task-queue <name>',
      `task queue of the workers (env TEMPORAL_TASK_QUEUE; default ${DEFAULT_TASK_QUEUE})`,
    );
}

export function temporalSettings(flags: ConnectionFlags): TemporalSettings {
  const env = { ...process.env };
  if (flags.address) env.TEMPORAL_ADDRESS = flags.address;
  if (flags.namespace) env.TEMPORAL_NAMESPACE = flags.namespace;
  if (flags.apiKey) env.TEMPORAL_API_KEY = flags.apiKey;
  if (flags.tlsCertPath) env.TEMPORAL_TLS_CERT = flags.tlsCertPath;
  if (flags.tlsKeyPath) env.TEMPORAL_TLS_KEY = flags.tlsKeyPath;
  return temporalSettingsFrom(env);
}

export function taskQueue(flags: ConnectionFlags): string {
  return flags.taskQueue || process.env.TEMPORAL_TASK_QUEUE || DEFAULT_TASK_QUEUE;
}

export async function temporalClient(s: TemporalSettings): Promise<Client> {
  const connection = await connectClient(s);
  return new Client({ connection, namespace: s.namespace });
}

/** The Web UI's address: TEMPORAL_UI_URL, or the dev server's default next to a local frontend. */
export function webUiUrl(s: TemporalSettings): string | undefined {
  if (process.env.TEMPORAL_UI_URL) return process.env.TEMPORAL_UI_URL.replace(/\/$/, '');
  const [host, port] = s.address.split(':');
  if ((host === '127.0.0.1' || host === 'localhost') && port === '7233') return 'http://127.0.0.1:8233';
  return undefined;
}

export function buildUrl(s: TemporalSettings, buildId: string): string | undefined {
  const ui = webUiUrl(s);
  return ui
    ? `${ui}/namespaces/${encodeURIComponent(s.namespace)}/workflows/${encodeURIComponent(buildId)}`
    : undefined;
}
