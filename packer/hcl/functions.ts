/**
 * The HCL2 functions DigitalOcean Packer templates call, evaluated at import time. timestamp() and
 * uuidv4() are build-time values: they stay markers (the tool stamps its own snapshot names), also
 * through the string functions templates reshape them with (regex_replace(timestamp(), "[- TZ:]", "")).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Segments } from '../model';
import { EvalError, concat, isMap, known, list, str, toSegments } from './values';
import type { Value } from './values';

export interface FunctionContext {
  /** Where relative paths start (Packer's working directory). */
  cwd: string;
  /** env() reads this; undefined where Packer does not allow env() (outside variable defaults). */
  env?: Record<string, string | undefined>;
  /** Renders a template file's text with the given variables (templatefile). */
  renderTemplate(text: string, vars: Record<string, Value>, file: string): Value;
}

type Fn = (args: Value[], ctx: FunctionContext, src: string) => Value;

const FUNCTIONS: Record<string, Fn> = {
  timestamp: (_a, _c, src) => new Segments([{ kind: 'dynamic', fn: 'timestamp', raw: src }]),
  uuidv4: (_a, _c, src) => new Segments([{ kind: 'dynamic', fn: 'uuid', raw: src }]),
  formatdate: ([f, t], _c, src) => {
    if (t instanceof Segments) return buildTime(t, src, 'formatdate');
    return formatDate(str(f ?? null, 'formatdate'), new Date(str(t ?? null, 'formatdate')));
  },
  // Packer's HCL2 forms of the legacy {{isotime}} and {{strftime}}.
  legacy_isotime: (_a, _c, src) => new Segments([{ kind: 'dynamic', fn: 'isotime', raw: src }]),
  legacy_strftime: (_a, _c, src) => new Segments([{ kind: 'dynamic', fn: 'isotime', raw: src }]),
  lower: textFn('lower', (t) => t.toLowerCase()),
  upper: textFn('upper', (t) => t.toUpperCase()),
  trimspace: textFn('trimspace', (t) => t.trim()),
  chomp: ([s]) => str(s ?? null, 'chomp').replace(/[\r\n]+$/, ''),
  trimprefix: ([s, p]) => {
    const t = str(s ?? null, 'trimprefix');
    const q = str(p ?? null, 'trimprefix');
    return t.startsWith(q) ? t.slice(q.length) : t;
  },
  trimsuffix: ([s, p]) => {
    const t = str(s ?? null, 'trimsuffix');
    const q = str(p ?? null, 'trimsuffix');
    return q && t.endsWith(q) ? t.slice(0, -q.length) : t;
  },
  replace: (args, c, src) => {
    const [from, to] = [str(args[1] ?? null, 'replace'), str(args[2] ?? null, 'replace')];
    const re = /^\/(.*)\/$/.exec(from);
    return textFn('replace', (t) =>
      re ? t.replace(new RegExp(re[1]!, 'g'), goReplacement(to)) : t.split(from).join(to),
    )(args, c, src);
  },
  regex_replace: (args, c, src) => {
    const [re, to] = [str(args[1] ?? null, 'regex_replace'), str(args[2] ?? null, 'regex_replace')];
    return textFn('regex_replace', (t) => t.replace(new RegExp(re, 'g'), goReplacement(to)))(args, c, src);
  },
  substr: (args, c, src) => {
    const [off, len] = [Number(str(args[1] ?? null, 'substr')), Number(str(args[2] ?? null, 'substr'))];
    return textFn('substr', (t) => {
      const chars = [...t];
      const from = off < 0 ? chars.length + off : off;
      return chars.slice(from, len < 0 ? undefined : from + len).join('');
    })(args, c, src);
  },
  regex: ([re, s]) => {
    const m = new RegExp(str(re ?? null, 'regex')).exec(str(s ?? null, 'regex'));
    if (!m) throw new EvalError('regex: no match');
    return m.length > 1 ? m.slice(1).map((x) => x ?? null) : m[0];
  },
  format: ([f, ...args]) => sprintf(str(f ?? null, 'format'), args),
  join: ([sep, ...lists]) => {
    const items = lists.flatMap((l) => list(l, 'join'));
    const s = str(sep ?? null, 'join');
    return concat(
      items.flatMap((x, i) =>
        i > 0 ? [[{ kind: 'text' as const, text: s }], toSegments(x, 'join')] : [toSegments(x, 'join')],
      ),
    );
  },
  split: ([sep, s]) => str(s ?? null, 'split').split(str(sep ?? null, 'split')),
  concat: (lists) => lists.flatMap((l) => list(l, 'concat')),
  length: ([v]) => {
    const k = v ?? null;
    if (typeof k === 'string') return [...k].length;
    if (Array.isArray(k)) return k.length;
    if (isMap(k)) return Object.keys(k).length;
    throw new EvalError('length needs a string, list or map');
  },
  element: ([l, i]) => {
    const items = list(l ?? null, 'element');
    return items[Number(known(i ?? null, 'element')) % items.length] ?? null;
  },
  contains: ([l, v]) =>
    list(l ?? null, 'contains').some((x) => JSON.stringify(x) === JSON.stringify(known(v ?? null, 'contains'))),
  lookup: ([m, k, d]) => {
    if (!isMap(m ?? null)) throw new EvalError('lookup needs a map');
    const key = str(k ?? null, 'lookup');
    const map = m as Record<string, Value>;
    if (key in map) return map[key]!;
    if (d === undefined) throw new EvalError(`lookup: no key "${key}" and no default`);
    return d;
  },
  coalesce: (args) => args.find((a) => a !== null && a !== '') ?? null,
  tostring: ([v]) => (v instanceof Segments ? v : str(v ?? null, 'tostring')),
  tonumber: ([v]) => Number(str(v ?? null, 'tonumber')),
  tolist: ([v]) => list(v ?? null, 'tolist'),
  toset: ([v]) => [...new Map(list(v ?? null, 'toset').map((x) => [JSON.stringify(x), x])).values()],
  basename: ([p]) => path.basename(str(p ?? null, 'basename')),
  dirname: ([p]) => path.dirname(str(p ?? null, 'dirname')),
  abspath: ([p], c) => path.resolve(c.cwd, str(p ?? null, 'abspath')),
  env: ([n], c) => {
    if (!c.env) throw new EvalError("env() can only be used in a variable's default (Packer's rule)");
    const name = str(n ?? null, 'env');
    return c.env[name] ?? '';
  },
  file: ([p], c) => readFile(str(p ?? null, 'file'), c),
  templatefile: ([p, vars], c) => {
    const file = str(p ?? null, 'templatefile');
    if (vars !== undefined && !isMap(vars)) throw new EvalError('templatefile needs a map of variables');
    return c.renderTemplate(readFile(file, c), (vars ?? {}) as Record<string, Value>, file);
  },
  jsondecode: ([s]) => JSON.parse(str(s ?? null, 'jsondecode')) as Value,
  jsonencode: ([v]) => JSON.stringify(known(v ?? null, 'jsonencode')),
  yamldecode: ([s]) => parseYaml(str(s ?? null, 'yamldecode')) as Value,
};

/**
 * A string function that also reshapes a build-time value: the text around it is transformed as
 * Packer would, and the build-time part stays a marker (a whole timestamp() reshaped is still the
 * build's timestamp, named by the whole call in messages). A secret is refused by str().
 */
function textFn(name: string, f: (t: string) => string): Fn {
  return ([s], _c, src) => {
    const v = s ?? null;
    if (!(v instanceof Segments) || v.segments.some((x) => x.kind === 'secret')) return f(str(v, name));
    if (v.segments.length === 1) return buildTime(v, src, name);
    return concat(v.segments.map((x) => (x.kind === 'text' ? [{ kind: 'text' as const, text: f(x.text) }] : [x])));
  };
}

/** A build-time value as a whole (formatdate(f, timestamp())): one marker named by the call. */
function buildTime(v: Segments, src: string, name: string): Value {
  const dyn = v.segments.filter((x) => x.kind === 'dynamic');
  if (dyn.length !== 1 || v.segments.length !== 1) {
    known(v, name);
    throw new EvalError(`${name} of text mixed with a build-time value cannot be worked out at import time`);
  }
  return new Segments([{ ...dyn[0]!, raw: src }]);
}

export function callFunction(name: string, args: Value[], ctx: FunctionContext, src: string): Value {
  const fn = FUNCTIONS[name];
  if (!fn)
    throw new EvalError(
      `the function ${name}() cannot be converted (the importer knows ${Object.keys(FUNCTIONS).sort().join(', ')})`,
    );
  return fn(args, ctx, src);
}

function readFile(p: string, c: FunctionContext): string {
  const abs = path.resolve(c.cwd, p);
  try {
    return readFileSync(abs, 'utf8');
  } catch {
    throw new EvalError(`cannot read ${p} (${abs})`);
  }
}

/** Go's "$1" / "${1}" replacement syntax → JavaScript's. */
function goReplacement(s: string): string {
  return s.replace(/\$\{(\d+)\}/g, '$$$1');
}

function sprintf(f: string, args: Value[]): Value {
  let n = 0;
  const parts: import('../template-functions').Segment[][] = [];
  let last = 0;
  for (const m of f.matchAll(/%(-?\d*)(\.\d+)?([sdqvf%])/g)) {
    parts.push([{ kind: 'text', text: f.slice(last, m.index) }]);
    last = m.index + m[0].length;
    if (m[3] === '%') {
      parts.push([{ kind: 'text', text: '%' }]);
      continue;
    }
    const a = args[n++];
    if (a === undefined) throw new EvalError(`format: not enough arguments for "${f}"`);
    if (m[3] === 's' || m[3] === 'v') parts.push(toSegments(a, 'format'));
    else if (m[3] === 'q') parts.push([{ kind: 'text', text: JSON.stringify(str(a, 'format')) }]);
    else if (m[3] === 'd') parts.push([{ kind: 'text', text: String(Math.trunc(Number(str(a, 'format')))) }]);
    else parts.push([{ kind: 'text', text: Number(str(a, 'format')).toFixed(m[2] ? Number(m[2].slice(1)) : 6) }]);
  }
  parts.push([{ kind: 'text', text: f.slice(last) }]);
  return concat(parts);
}

function formatDate(f: string, d: Date): string {
  if (Number.isNaN(d.getTime())) throw new EvalError('formatdate needs an RFC 3339 timestamp');
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const tokens: Record<string, string> = {
    YYYY: String(d.getUTCFullYear()),
    YY: p(d.getUTCFullYear() % 100),
    MM: p(d.getUTCMonth() + 1),
    M: String(d.getUTCMonth() + 1),
    DD: p(d.getUTCDate()),
    D: String(d.getUTCDate()),
    hh: p(d.getUTCHours()),
    mm: p(d.getUTCMinutes()),
    ss: p(d.getUTCSeconds()),
    ZZZ: 'UTC',
    Z: 'Z',
  };
  return f.replace(
    /'([^']*)'|YYYY|YY|MM|M|DD|D|hh|mm|ss|ZZZ|Z/g,
    (t, quoted: string | undefined) => quoted ?? tokens[t] ?? t,
  );
}
