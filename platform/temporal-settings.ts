/**
 * Where the client and the worker find Temporal: Temporal's own names (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*), so a Temporal user feels at home.
 */

export interface TemporalSettings {
  address: string;
  namespace: string;
  apiKey?: string;
  tlsCertPath?: string;
  tlsKeyPath?: string;
  tlsCaPath?: string;
  tlsServerName?: string;
  tls: boolean;
}

export const DEFAULT_TASK_QUEUE = 'image-forge';

export function temporalSettingsFrom(env: Record<string, string | undefined>): TemporalSettings {
  const s: TemporalSettings = {
    address: env.TEMPORAL_ADDRESS || '127.0.0.1:7233',
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    tls: env.TEMPORAL_TLS === 'true' || !!env.TEMPORAL_TLS_CERT || !!env.TEMPORAL_API_KEY,
  };
  if (env.TEMPORAL_API_KEY) s.apiKey = env.TEMPORAL_API_KEY;
  if (env.TEMPORAL_TLS_CERT) s.tlsCertPath = env.TEMPORAL_TLS_CERT;
  if (env.TEMPORAL_TLS_KEY) s.tlsKeyPath = env.TEMPORAL_TLS_KEY;
  if (env.TEMPORAL_TLS_CA) s.tlsCaPath = env.TEMPORAL_TLS_CA;
  if (env.TEMPORAL_TLS_SERVER_NAME) s.tlsServerName = env.TEMPORAL_TLS_SERVER_NAME;
  return s;
}
