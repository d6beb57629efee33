/**
 * The worker's own Prometheus metrics (prom-client), in one registry the worker serves on
 * IMAGE_FORGE_METRICS (worker/metrics-server.ts). Labels are bounded by design: an outcome, a step
 * kind, an HTTP status class — never a build id, a path, a token or anything a spec chooses.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export const registry = new Registry();

export const buildsStarted = new Counter({
  name: 'image_forge_builds_started_total',
  help: 'Builds (workflow buildImage) this worker started running.',
  registers: [registry],
});

export const buildsEnded = new Counter({
  name: 'image_forge_builds_ended_total',
  help: 'Builds this worker saw end, by outcome (succeeded, failed, cancelled).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const stepDuration = new Histogram({
  name: 'image_forge_step_duration_seconds',
  help: 'Time one attempt of a build step (an activity) took, by step kind and outcome.',
  labelNames: ['step', 'outcome'] as const,
  buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
  registers: [registry],
});

export const dropletsAlive = new Gauge({
  name: 'image_forge_droplets_alive',
  help: 'Build droplets this worker created (or found) and has not destroyed yet.',
  registers: [registry],
});

export const dropletSeconds = new Counter({
  name: 'image_forge_droplet_seconds_total',
  help: 'Droplet time paid for: seconds from a build droplet seen created to its destroy.',
  registers: [registry],
});

export const doRequests = new Counter({
  name: 'image_forge_digitalocean_requests_total',
  help: 'DigitalOcean API requests by answer: the HTTP status (so 429 apart), or "network" when none came.',
  labelNames: ['status'] as const,
  registers: [registry],
});

export const pacerWait = new Counter({
  name: 'image_forge_digitalocean_pacer_wait_seconds_total',
  help: "Time DigitalOcean API calls waited for their turn in the worker's request pacer.",
  registers: [registry],
});

export const vendorRequests = new Counter({
  name: 'image_forge_vendor_api_requests_total',
  help: 'Vendor API (Marketplace) requests by answer: an HTTP status, or "network".',
  labelNames: ['status'] as const,
  registers: [registry],
});

export const bytesUploaded = new Counter({
  name: 'image_forge_uploaded_bytes_total',
  help: 'Bytes the worker uploaded to build droplets.',
  registers: [registry],
});

/** A status label with a bounded set of values: the code when it is a real HTTP one, else "other". */
export function statusLabel(status: number | undefined): string {
  if (status === undefined) return 'network';
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other';
}
