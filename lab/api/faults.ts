/**
 * Fault injection: what DigitalOcean does on a bad day, on demand. Rules match requests by method
 * and path (a regular expression), fire with a probability and/or for the next N matches, and
 * draw from a seeded generator so a test run is repeatable.
 */
import { z } from 'zod';
import type { LabResponse } from './http';
import { ApiError, PENDING_EVENT, serverError, tooManyRequests, unprocessable } from './errors';

export const faultRuleSchema = z.object({
  kind: z.enum(['rate-limit', 'server-error', 'delay', 'pending-event', 'errored-action', 'refused']),
  /** HTTP method to match (any when absent). */
  method: z.string().optional(),
  /** Regular expression the path (without query) must match, e.g. "^/v2/droplets/\\d+/actions$". */
  path: z.string().optional(),
  /** errored-action: the action type that ends `errored` (snapshot, shutdown, transfer, …; any when absent). */
  actionType: z.string().optional(),
  /** Chance that a matching request is hit, 0…1 (default 1). */
  probability: z.number().min(0).max(1).optional(),
  /** Hit only the next N matching requests (default: every one). */
  times: z.number().int().positive().optional(),
  /** server-error: 500, 502, 503 or 504 (default 500). */
  status: z.number().int().min(500).max(599).optional(),
  /** server-error: an HTML page instead of DigitalOcean's JSON error (as its load balancers send). */
  html: z.boolean().optional(),
  /** delay: how long to stall before answering normally. */
  delayMs: z.number().int().nonnegative().optional(),
  /** rate-limit: the retry-after header (default 1). */
  retryAfterSeconds: z.number().int().nonnegative().optional(),
});

export type FaultRuleInput = z.input<typeof faultRuleSchema>;
export type FaultRule = z.output<typeof faultRuleSchema>;

interface ActiveRule {
  id: number;
  rule: FaultRule;
  pathRe: RegExp | undefined;
  remaining: number | undefined;
  hits: number;
}

export interface FaultDecision {
  delayMs: number;
  /** A response to send instead of handling the request. */
  response?: LabResponse;
  /** Set when the response was injected: kind and rule id, for the audit log. */
  injected?: { kind: FaultRule['kind']; rule: number };
}

/** Pending events are only ever reported for droplet actions unless a rule says otherwise. */
const DEFAULT_PENDING_PATH = /^\/v2\/droplets\/\d+\/actions\/?$/;

export class Faults {
  private rules: ActiveRule[] = [];
  private nextId = 1;
  private random: () => number;

  constructor(seed = 1) {
    this.random = mulberry32(seed);
  }

  /** Restarts the generator: the same rules and requests fire the same way again. */
  reseed(seed: number): void {
    this.random = mulberry32(seed);
  }

  add(input: FaultRuleInput): number {
    const rule = faultRuleSchema.parse(input);
    let pathRe: RegExp | undefined;
    if (rule.path !== undefined) {
      try {
        pathRe = new RegExp(rule.path);
      } catch {
        throw new Error(`fault rule path is not a valid regular expression: ${rule.path}`);
      }
    }
    const id = this.nextId++;
    this.rules.push({ id, rule, pathRe, remaining: rule.times, hits: 0 });
    return id;
  }

  clear(): void {
    this.rules = [];
  }

  list(): Array<FaultRule & { id: number; hits: number; remaining?: number }> {
    return this.rules.map((r) => ({
      ...r.rule,
      id: r.id,
      hits: r.hits,
      ...(r.remaining !== undefined ? { remaining: r.remaining } : {}),
    }));
  }

  /** Request-level faults: delays add up, the first rule producing a response wins. */
  forRequest(method: string, path: string): FaultDecision {
    const decision: FaultDecision = { delayMs: 0 };
    for (const r of this.rules) {
      if (r.rule.kind === 'errored-action') continue;
      if (!this.matches(r, method, path)) continue;
      if (r.rule.kind === 'delay') {
        if (this.fire(r)) decision.delayMs += r.rule.delayMs ?? 1000;
        continue;
      }
      if (decision.response || !this.fire(r)) continue;
      decision.response = render(errorFor(r.rule), r.rule);
      decision.injected = { kind: r.rule.kind, rule: r.id };
    }
    return decision;
  }

  /** Asked when an action starts: should it end `errored`? */
  erroredAction(actionType: string, method: string, path: string): number | undefined {
    for (const r of this.rules) {
      if (r.rule.kind !== 'errored-action') continue;
      if (r.rule.actionType !== undefined && r.rule.actionType !== actionType) continue;
      if (!this.matches(r, method, path)) continue;
      if (this.fire(r)) return r.id;
    }
    return undefined;
  }

  private matches(r: ActiveRule, method: string, path: string): boolean {
    if (r.remaining === 0) return false;
    if (r.rule.method !== undefined && r.rule.method.toUpperCase() !== method.toUpperCase()) return false;
    if (r.rule.kind === 'pending-event' && r.rule.path === undefined) {
      return method.toUpperCase() === 'POST' && DEFAULT_PENDING_PATH.test(path);
    }
    return r.pathRe === undefined || r.pathRe.test(path);
  }

  private fire(r: ActiveRule): boolean {
    const p = r.rule.probability ?? 1;
    // Draw only when there is chance involved, so "next N" rules do not shift the sequence.
    if (p < 1 && this.random() >= p) return false;
    if (r.remaining !== undefined) r.remaining--;
    r.hits++;
    return true;
  }
}

function errorFor(rule: FaultRule): ApiError {
  switch (rule.kind) {
    case 'rate-limit':
      return tooManyRequests(rule.retryAfterSeconds ?? 1);
    case 'pending-event':
      return unprocessable(PENDING_EVENT);
    case 'refused':
      // A 422 that is not a pending event: final, no retry helps (e.g. an image in use).
      return unprocessable('The lab refuses this request (fault injection).');
    default:
      return serverError(rule.status ?? 500);
  }
}

function render(err: ApiError, rule: FaultRule): LabResponse {
  if (rule.kind === 'server-error' && rule.html) {
    const title = `${err.status} ${err.status === 502 ? 'Bad Gateway' : err.status === 503 ? 'Service Unavailable' : err.status === 504 ? 'Gateway Time-out' : 'Internal Server Error'}`;
    return {
      status: err.status,
      text: {
        contentType: 'text/html',
        content: `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n</body>\r\n</html>\r\n`,
      },
    };
  }
  return { status: err.status, body: { id: err.id, message: err.message }, headers: err.headers };
}

/** A small seeded PRNG (mulberry32): deterministic, good enough for coin flips. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
