/**
 * A variable's declared type checked against its value, as Packer does before building: the
 * simple types (string, number, bool) and list/set/map of them; object, tuple and any are
 * accepted loosely. Returns why the value does not fit, or undefined.
 */
import { Segments } from '../model';
import { isMap } from './values';
import type { Value } from './values';

export function typeMismatch(type: string, v: Value): string | undefined {
  const t = type.replace(/\s+/g, '');
  // A secret or a build-time value is a string that is not known yet; null is "no value".
  if (v === null || v instanceof Segments)
    return v instanceof Segments && !/^(string|any)$/.test(t) ? 'not a string' : undefined;
  if (t === 'string') return typeof v === 'object' ? `a ${Array.isArray(v) ? 'list' : 'map'}, not a string` : undefined;
  if (t === 'number') {
    const ok = typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)));
    return ok ? undefined : 'not a number';
  }
  if (t === 'bool') return typeof v === 'boolean' || v === 'true' || v === 'false' ? undefined : 'not true or false';
  const inner = /^(list|set|map)\((.*)\)$/.exec(t);
  if (inner) {
    const kind = inner[1]!;
    const items = kind === 'map' ? (isMap(v) ? Object.values(v) : undefined) : Array.isArray(v) ? v : undefined;
    if (!items) return `not a ${kind === 'map' ? 'map' : 'list'}`;
    for (const [i, x] of items.entries()) {
      const why = typeMismatch(inner[2]!, x);
      if (why) return `element ${kind === 'map' ? JSON.stringify(Object.keys(v as object)[i]) : i}: ${why}`;
    }
  }
  return undefined;
}
