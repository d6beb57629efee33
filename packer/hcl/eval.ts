/**
 * The evaluate stage for HCL2: variables (with Packer's precedence already applied by the reader),
 * locals, path.root/path.cwd, source.name, and the functions in hcl/functions.ts. Implements the
 * model's Evaluator, so the map stage treats HCL2 values like JSON ones.
 */
import { Segments } from '../model';
import type { Evaluated, Evaluator } from '../model';
import type { Segment } from '../template-functions';
import { HclSyntaxError, SPLAT, parseValueString } from './expr';
import type { Expr, TplPart } from './expr';
import { callFunction } from './functions';
import { EvalError, concat, isMap, known, list, str, toSegments } from './values';
import type { Value } from './values';

export interface VariableDef {
  name: string;
  sensitive: boolean;
  /** The value after defaults, PKR_VAR_, var files and -var (undefined: none, required). */
  value?: Value;
  /** Where the value came from, for messages. */
  from?: string;
  /** A default with expressions (env()) is evaluated lazily. */
  rawDefault?: unknown;
}

export interface HclScope {
  variables: Map<string, VariableDef>;
  /** locals: name → raw value (a hcl2json value). */
  locals: Map<string, unknown>;
  /** locals declared with a local block and sensitive = true. */
  sensitiveLocals?: Set<string>;
  root: string;
  cwd: string;
  env: Record<string, string | undefined>;
  /** source.name and source.type, when there is exactly one source. */
  source?: { name: string; type: string };
  /** The names of the sources when there are several (source.name is then refused). */
  sourceNames?: string[];
}

export class HclEvaluator implements Evaluator {
  readonly sensitive: Set<string>;
  readonly varHint = '--var NAME=VALUE';
  private readonly localValues = new Map<string, Value>();
  private readonly stack: string[] = [];

  constructor(readonly scope: HclScope) {
    this.sensitive = new Set([
      ...[...scope.variables.values()].filter((v) => v.sensitive).map((v) => v.name),
      ...(scope.sensitiveLocals ?? []),
    ]);
  }

  resolve(value: unknown): Evaluated<unknown> {
    try {
      return { value: this.value(value), problems: [], notes: [] };
    } catch (err) {
      return { problems: [message(err)], notes: [] };
    }
  }

  segments(value: unknown, fields?: ReadonlySet<string>): Evaluated<Segment[]> {
    try {
      const v =
        value instanceof Segments || typeof value !== 'object' || value === null ? (value as Value) : this.value(value);
      const segs = toSegments(v, 'the value').map((s) => s);
      if (!fields) return { value: segs, problems: [], notes: [] };
      // execute_command keeps Go-template fields ({{ .Path }}) after HCL evaluation.
      const bad = segs.flatMap((s) =>
        s.kind === 'text' ? [...s.text.matchAll(/\{\{\s*\.(\w+)\s*\}\}/g)].map((m) => m[1]!) : [],
      );
      const unknownField = bad.find((f) => !fields.has(f));
      if (unknownField) return { problems: [`the template field .${unknownField} is not available here`], notes: [] };
      return {
        value: segs.map((s) =>
          s.kind === 'text' ? { ...s, text: s.text.replace(/\{\{\s*\.(\w+)\s*\}\}/g, '{{.$1}}') } : s,
        ),
        problems: [],
        notes: [],
      };
    } catch (err) {
      return { problems: [message(err)], notes: [] };
    }
  }

  /** A hcl2json value with its expressions evaluated. */
  value(raw: unknown, iter: Map<string, Value> = new Map(), allowEnv = false): Value {
    if (typeof raw === 'string') return this.expr(parseValueString(raw), iter, allowEnv);
    if (Array.isArray(raw)) return raw.map((x) => this.value(x, iter, allowEnv));
    if (raw instanceof Segments) return raw;
    if (typeof raw === 'object' && raw !== null) {
      return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, this.value(v, iter, allowEnv)]));
    }
    return raw as Value;
  }

  variable(name: string): Value {
    const def = this.scope.variables.get(name);
    if (!def) throw new EvalError(`var.${name} is not declared: add a variable "${name}" block`);
    if (def.sensitive) return new Segments([{ kind: 'secret', variable: name }]);
    if (def.value === undefined && def.rawDefault !== undefined) {
      def.value = this.guard(`var.${name}`, () => this.value(def.rawDefault, new Map(), true));
    }
    if (def.value === undefined)
      throw new EvalError(
        `the variable "${name}" has no value: pass --var ${name}=VALUE, a --var-file, or PKR_VAR_${name}`,
      );
    return def.value;
  }

  local(name: string): Value {
    const cached = this.localValues.get(name);
    if (cached !== undefined) return cached;
    if (!this.scope.locals.has(name)) throw new EvalError(`local.${name} is not defined in a locals block`);
    // Like a sensitive variable: the worker reads it from workerEnvName(name), e.g. local "db_pass" → DB_PASS.
    if (this.scope.sensitiveLocals?.has(name)) return new Segments([{ kind: 'secret', variable: name }]);
    const v = this.guard(`local.${name}`, () => this.value(this.scope.locals.get(name)));
    this.localValues.set(name, v);
    return v;
  }

  private guard(what: string, f: () => Value): Value {
    if (this.stack.includes(what))
      throw new EvalError(`${what} refers to itself (${[...this.stack, what].join(' → ')})`);
    this.stack.push(what);
    try {
      return f();
    } catch (err) {
      throw new EvalError(
        err instanceof EvalError && message(err).startsWith(what) ? message(err) : `${what}: ${message(err)}`,
      );
    } finally {
      this.stack.pop();
    }
  }

  expr(e: Expr, iter: Map<string, Value>, allowEnv = false): Value {
    const ev = (x: Expr) => this.expr(x, iter, allowEnv);
    switch (e.k) {
      case 'lit':
        return e.v;
      case 'tpl':
        return concat(this.parts(e.parts, iter, allowEnv));
      case 'ref':
        if (iter.has(e.name)) return iter.get(e.name)!;
        throw new EvalError(
          `${e.name} is not something a template can refer to here (var.x, local.x, path.root and path.cwd are)`,
        );
      case 'attr': {
        if (e.e.k === 'ref' && !iter.has(e.e.name)) return this.rootAttr(e.e.name, e.name, e.src);
        const m = ev(e.e);
        if (!isMap(m) || !(e.name in m)) throw new EvalError(`${e.src}: no attribute "${e.name}"`);
        return m[e.name]!;
      }
      case 'index': {
        const c = ev(e.e);
        const k = known(ev(e.key), e.src);
        const v = Array.isArray(c) ? c[Number(k)] : isMap(c) ? c[String(k)] : undefined;
        if (v === undefined) throw new EvalError(`${e.src}: no element ${JSON.stringify(k)}`);
        return v;
      }
      case 'call': {
        if (e.name === 'can' && e.args.length === 1) {
          try {
            ev(e.args[0]!);
            return true;
          } catch {
            return false;
          }
        }
        let args = e.args.map(ev);
        if (e.expand) args = [...args.slice(0, -1), ...list(args[args.length - 1] ?? null, e.src)];
        return callFunction(
          e.name,
          args,
          {
            cwd: this.scope.cwd,
            ...(allowEnv ? { env: this.scope.env } : {}),
            renderTemplate: (t, v, f) => this.render(t, v, f),
          },
          e.src,
        );
      }
      case 'tuple':
        return e.items.map(ev);
      case 'object':
        return Object.fromEntries(e.items.map(([k, v]) => [str(ev(k), 'an object key'), ev(v)]));
      case 'cond': {
        const c = known(ev(e.c), `the condition of ${e.src}`);
        if (typeof c !== 'boolean') throw new EvalError(`${e.src}: the condition must be true or false`);
        return c ? ev(e.t) : ev(e.f);
      }
      case 'un': {
        const v = known(ev(e.e), e.src);
        return e.op === '!' ? !v : -Number(v);
      }
      case 'bin':
        return binary(e.op, known(ev(e.l), e.src), known(ev(e.r), e.src), e.src);
      case 'for':
        return this.forExpr(e, iter, allowEnv);
      case 'splat': {
        // HCL: a single value splats as a one-element list, null as an empty one.
        const c = ev(e.e);
        const items = Array.isArray(c) ? c : c === null ? [] : [c];
        return items.map((x) => this.expr(e.each, new Map(iter).set(SPLAT, x), allowEnv));
      }
    }
  }

  private rootAttr(root: string, name: string, src: string): Value {
    if (root === 'var') return this.variable(name);
    if (root === 'local') return this.local(name);
    if (root === 'path' && name === 'root') return this.scope.root;
    if (root === 'path' && name === 'cwd') return this.scope.cwd;
    if (root === 'source' && this.scope.source && (name === 'name' || name === 'type')) return this.scope.source[name];
    if (root === 'source' && this.scope.sourceNames)
      throw new EvalError(
        `${src} differs per source (${this.scope.sourceNames.join(', ')}): the spec's matrix varies only image, size and region, and every variant runs the same steps and names its snapshot the same way; write the value out (or import each source separately)`,
      );
    throw new EvalError(
      `${src} cannot be converted (the importer knows var.*, local.*, path.root, path.cwd, source.name)`,
    );
  }

  private parts(parts: TplPart[], iter: Map<string, Value>, allowEnv: boolean): Segment[][] {
    const out: Segment[][] = [];
    for (const p of parts) {
      if (typeof p === 'string') out.push([{ kind: 'text', text: p }]);
      else if (p.k === 'interp') out.push(toSegments(this.expr(p.e, iter, allowEnv), `\${${p.e.src}}`));
      else if (p.k === 'if') {
        const c = known(this.expr(p.c, iter, allowEnv), `%{if ${p.c.src}}`);
        out.push(...this.parts(c ? p.then : p.else, iter, allowEnv));
      } else {
        const coll = known(this.expr(p.coll, iter, allowEnv), `%{for}`);
        const entries = Array.isArray(coll)
          ? coll.map((v, i) => [i, v] as const)
          : isMap(coll)
            ? Object.entries(coll)
            : [];
        for (const [k, v] of entries) {
          const inner = new Map(iter);
          if (p.keyVar) inner.set(p.keyVar, k);
          inner.set(p.valVar, v);
          out.push(...this.parts(p.body, inner, allowEnv));
        }
      }
    }
    return out;
  }

  private forExpr(e: Extract<Expr, { k: 'for' }>, iter: Map<string, Value>, allowEnv: boolean): Value {
    const coll = this.expr(e.coll, iter, allowEnv);
    const entries = Array.isArray(coll)
      ? coll.map((v, i) => [i, v] as const)
      : isMap(coll)
        ? Object.entries(coll)
        : undefined;
    if (!entries) throw new EvalError(`${e.src}: "for" needs a list or a map`);
    const items: Value[] = [];
    const obj: Record<string, Value> = {};
    for (const [k, v] of entries) {
      const inner = new Map(iter);
      if (e.keyVar) inner.set(e.keyVar, k);
      inner.set(e.valVar, v);
      if (e.cond && known(this.expr(e.cond, inner, allowEnv), e.src) !== true) continue;
      if (e.object) obj[str(this.expr(e.key!, inner, allowEnv), e.src)] = this.expr(e.val, inner, allowEnv);
      else items.push(this.expr(e.val, inner, allowEnv));
    }
    return e.object ? obj : items;
  }

  private render(text: string, vars: Record<string, Value>, file: string): Value {
    try {
      const tpl = parseValueString(text);
      return this.expr(
        tpl.k === 'tpl' ? tpl : { k: 'tpl', parts: [{ k: 'interp', e: tpl }], src: text },
        new Map(Object.entries(vars)),
      );
    } catch (err) {
      throw new EvalError(`templatefile(${file}): ${message(err)}`);
    }
  }
}

function binary(op: string, l: Value, r: Value, src: string): Value {
  switch (op) {
    case '==':
      return JSON.stringify(l) === JSON.stringify(r);
    case '!=':
      return JSON.stringify(l) !== JSON.stringify(r);
    case '&&':
      return l === true && r === true;
    case '||':
      return l === true || r === true;
  }
  const [a, b] = [Number(l), Number(r)];
  if (Number.isNaN(a) || Number.isNaN(b)) throw new EvalError(`${src}: "${op}" needs numbers`);
  const ops: Record<string, number | boolean> = {
    '+': a + b,
    '-': a - b,
    '*': a * b,
    '/': a / b,
    '%': a % b,
    '<': a < b,
    '>': a > b,
    '<=': a <= b,
    '>=': a >= b,
  };
  return ops[op]!;
}

export function message(err: unknown): string {
  if (err instanceof EvalError || err instanceof HclSyntaxError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
