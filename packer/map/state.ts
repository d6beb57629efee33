/**
 * What the map stage accumulates while it walks a template model: notes, problems, the pending
 * steps and each shell provisioner's environment. Every mapping function takes this state.
 */
import * as path from 'node:path';
import { textOf } from '../template-functions';
import type { Segment } from '../template-functions';
import { formatPath } from '../positions';
import type { JsonPath } from '../positions';
import { Segments, isObject } from '../model';
import type { AnsibleSpec, EnvEntry, Evaluator, MapOptions, Problem, TemplateModel } from '../model';

/** One shell provisioner's environment, before deciding what goes into the shared `env`. */
export interface ProvEnv {
  at: JsonPath;
  vars: Map<string, EnvEntry>;
  /** True when one of its steps is a script (which cannot get per-step variables). */
  hasScripts: boolean;
}

export type Pending =
  | { kind: 'upload'; src: string; dest: string }
  | { kind: 'script'; path: string; env?: ProvEnv; user?: string }
  | { kind: 'run'; body: string; setFlags: string; validExit?: number[]; env?: ProvEnv; user?: string }
  | { kind: 'ansible'; ansible: AnsibleSpec['ansible'] }
  | { kind: 'gap'; problem: Problem };

export class MapState {
  readonly notes: string[] = [];
  readonly problems: Problem[] = [];
  readonly pending: Pending[] = [];
  readonly provEnvs: ProvEnv[] = [];
  readonly aptPackages: string[] = [];
  readonly usedSecrets = new Set<string>();
  cleanupAt: number | undefined;
  /** A snapshot_name of a prefix and the build's time: the spec's name with its own timestamp. */
  stampedName: { shown: string; raw: string } | undefined;
  readonly ev: Evaluator;

  constructor(
    readonly model: TemplateModel,
    readonly opts: MapOptions,
  ) {
    this.ev = model.evaluator;
  }

  note(n: string): void {
    if (!this.notes.includes(n)) this.notes.push(n);
  }

  problem(at: JsonPath, message: string): void {
    this.problems.push({ path: at, message });
  }

  /** A provisioner that cannot be converted: a problem, and a gap in the steps. */
  gap(at: JsonPath, message: string): void {
    this.pending.push({ kind: 'gap', problem: { path: at, message } });
  }

  /** Evaluates every attribute of a block (HCL2 expressions); undefined when one failed. */
  resolveObject(raw: Record<string, unknown>, at: JsonPath): Record<string, unknown> | undefined {
    const out: Record<string, unknown> = {};
    let ok = true;
    for (const [k, v] of Object.entries(raw)) {
      const r = this.ev.resolve(v);
      r.notes.forEach((n) => this.note(n));
      if (r.problems.length > 0) {
        r.problems.forEach((p) => this.problem([...at, k], p));
        ok = false;
      } else out[k] = r.value;
    }
    return ok ? out : undefined;
  }

  /** Evaluates a string value; problems are recorded at `at`. Undefined when it failed. */
  eval(value: unknown, at: JsonPath, what: string, fields?: ReadonlySet<string>): Segment[] | undefined {
    const r = this.ev.segments(value, fields);
    r.notes.forEach((n) => this.note(n));
    if (r.problems.length > 0 || !r.value) {
      const problems = r.problems.length > 0 ? r.problems : [`${what} must be a string`];
      problems.forEach((p) => this.problem(at, p.replace(/^must be/, `${what} must be`)));
      return undefined;
    }
    return r.value;
  }

  /** A value that must be known at import time: no secret, no build-time function. */
  evalText(value: unknown, at: JsonPath, what: string): string | undefined {
    const segs = this.eval(value, at, what);
    if (!segs) return undefined;
    const secret = segs.find((s) => s.kind === 'secret');
    if (secret) {
      this.problem(
        at,
        `${what} uses the sensitive variable "${secret.variable}": a secret cannot go into this field of the spec`,
      );
      return undefined;
    }
    const dyn = segs.find((s) => s.kind === 'dynamic');
    if (dyn) {
      this.problem(
        at,
        `${what} uses ${dyn.raw}, which is only known when the image is built: the spec cannot express it here`,
      );
      return undefined;
    }
    return textOf(segs);
  }

  /** A boolean option (true/false, or "true"/"false" as Packer's JSON allows). */
  evalBool(value: unknown, at: JsonPath, what: string): boolean | undefined {
    if (typeof value === 'boolean') return value;
    const s = typeof value === 'string' || value instanceof Segments ? this.evalText(value, at, what) : undefined;
    if (s === 'true' || s === 'false') return s === 'true';
    if (s !== undefined || typeof value !== 'string') this.problem(at, `${what} must be true or false`);
    return undefined;
  }

  /** A source path as the spec writes it: relative to the spec's folder, keeping a trailing "/". */
  specPath(p: string, at: JsonPath): string | undefined {
    const abs = path.resolve(this.opts.root, p);
    let rel = path.relative(this.opts.outDir, abs).split(path.sep).join('/');
    if (rel === '..' || rel.startsWith('../') || path.isAbsolute(rel)) {
      const hint = isInside(this.opts.root, abs) ? ` (e.g. --out ${path.join(this.opts.root, 'build.yaml')})` : '';
      this.problem(
        at,
        `${p} lies outside the output spec's folder ${this.opts.outDir}: a spec can only use files in its own folder, ` +
          `so write --out into a folder that contains the template's files${hint}`,
      );
      return undefined;
    }
    if (rel === '') rel = '.';
    if (/[/\\]$/.test(p) && !rel.endsWith('/')) rel += '/';
    return rel;
  }

  noteDropped(p: Record<string, unknown>, at: JsonPath, keys: string[]): void {
    const present = keys.filter((k) => p[k] !== undefined);
    if (present.length > 0) {
      this.notes.push(
        `${formatPath(at)}: dropped ${present.join(', ')} (the workflow has its own timeouts, retries and working files)`,
      );
    }
  }
}

export function isInside(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** "NAME=value" split at the first "=", for plain and segmented strings. */
export function splitAssignment(v: unknown): { key: string; value: unknown } | undefined {
  if (typeof v === 'string') {
    const eq = v.indexOf('=');
    return eq < 1 ? undefined : { key: v.slice(0, eq), value: v.slice(eq + 1) };
  }
  if (!(v instanceof Segments)) return undefined;
  const first = v.segments[0];
  if (first?.kind !== 'text') return undefined;
  const eq = first.text.indexOf('=');
  if (eq < 1) return undefined;
  const rest: Segment[] = [
    ...(eq + 1 < first.text.length ? [{ kind: 'text' as const, text: first.text.slice(eq + 1) }] : []),
  ];
  return { key: first.text.slice(0, eq), value: new Segments([...rest, ...v.segments.slice(1)]) };
}

export { isObject };
