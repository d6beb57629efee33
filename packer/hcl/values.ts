/**
 * Values of evaluated HCL2 expressions: JSON-like values, and Segments for strings holding a
 * sensitive variable (never resolved) or a build-time value (timestamp(), uuidv4()).
 */
import { Segments } from '../model';
import type { Segment } from '../template-functions';

export type Value = string | number | boolean | null | Value[] | { [k: string]: Value } | Segments;

export class EvalError extends Error {}

export function isMap(v: Value): v is { [k: string]: Value } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Segments);
}

/** Segments of a string-like value (numbers and bools convert as in HCL). */
export function toSegments(v: Value, what: string): Segment[] {
  if (v instanceof Segments) return v.segments;
  if (typeof v === 'string') return v ? [{ kind: 'text', text: v }] : [];
  if (typeof v === 'number' || typeof v === 'boolean') return [{ kind: 'text', text: String(v) }];
  throw new EvalError(
    `${what} must be a string, not ${v === null ? 'null' : Array.isArray(v) ? 'a list' : 'an object'}`,
  );
}

export function concat(parts: Segment[][]): Value {
  const out: Segment[] = [];
  for (const s of parts.flat()) {
    const last = out[out.length - 1];
    if (s.kind === 'text' && last?.kind === 'text') out[out.length - 1] = { kind: 'text', text: last.text + s.text };
    else out.push(s);
  }
  if (out.every((s) => s.kind === 'text')) return out.map((s) => (s as { text: string }).text).join('');
  return new Segments(out);
}

/** A value that must be known now: a secret or a build-time value cannot be worked with. */
export function known(v: Value, what: string): Exclude<Value, Segments> {
  if (v instanceof Segments) {
    const s = v.segments.find((x) => x.kind !== 'text')!;
    const which =
      s.kind === 'secret' ? `the sensitive variable "${s.variable}"` : `${s.raw} (only known when the image is built)`;
    throw new EvalError(`${what} uses ${which}: it cannot be worked out at import time`);
  }
  if (Array.isArray(v)) v.forEach((x) => known(x, what));
  else if (isMap(v)) Object.values(v).forEach((x) => known(x, what));
  return v;
}

export function str(v: Value, what: string): string {
  const k = known(v, what);
  if (typeof k === 'string') return k;
  if (typeof k === 'number' || typeof k === 'boolean') return String(k);
  throw new EvalError(`${what} must be a string`);
}

export function list(v: Value, what: string): Value[] {
  if (Array.isArray(v)) return v;
  throw new EvalError(`${what} must be a list`);
}
