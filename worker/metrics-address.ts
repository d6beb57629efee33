/** IMAGE_FORGE_METRICS: where the worker serves /metrics, /healthz and /readyz (off when unset). */
import { UserError } from '../contract/user-error';

export interface MetricsAddress {
  host: string;
  port: number;
}

export function parseMetricsAddress(value: string): MetricsAddress {
  // host:port, or [v6]:port; a port alone listens on loopback only.
  const m = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):)?(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535)
    throw new UserError(
      `IMAGE_FORGE_METRICS must be an address and port to serve metrics on, e.g. 127.0.0.1:9464, not "${value}"`,
    );
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}
