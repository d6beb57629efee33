/**
 * Packer's JSON-template functions ({{user `x`}}, {{env `X`}}, {{timestamp}}, ...), evaluated at
 * import time. A value becomes a list of segments rather than a string, so the caller decides
 * what a secret or a build-time value turns into where it is used: a sensitive variable is never
 * resolved (it stays a `secret` segment naming the variable), and {{timestamp}}-like functions
 * stay `dynamic` (they mean "when the image is built", which import time is not).
 */

export type Segment =
  | { kind: 'text'; text: string }
  /** A sensitive variable: its value is never read here. */
  | { kind: 'secret'; variable: string }
  /** A value only known when the build runs. */
  | { kind: 'dynamic'; fn: 'timestamp' | 'isotime' | 'uuid'; raw: string };

export interface TemplateContext {
  /** The template's `variables` (null: required, no default). */
  variables: Record<string, unknown>;
  sensitive: ReadonlySet<string>;
  /** --var overrides (literal values). */
  overrides: Record<string, string>;
  /** The importer's environment, for {{env `X`}}. */
  env: Record<string, string | undefined>;
  /** Packer's working directory ({{pwd}}). */
  pwd: string;
  templateDir: string;
  buildName: string;
  buildType: string;
  /** Fields ({{ .Path }}) allowed in this string, e.g. Path and Vars in execute_command. */
  fields?: ReadonlySet<string>;
}

export interface Evaluated {
  segments: Segment[];
  /** Problems, each a sentence naming what is wrong (the caller adds the position). */
  problems: string[];
  /** User variables read while evaluating, for notes. */
  used: Set<string>;
  /** Things worth telling (e.g. an undeclared variable read as ""). */
  notes: string[];
}

/** One {{ ... }} action, parsed: a pipeline of commands, each a function name or field and its args. */
interface Command {
  name: string;
  args: string[];
}

interface Action {
  raw: string;
  pipeline: Command[];
  /** A bare string literal ({{"{{"}}), the way Go templates write literal braces. */
  literal?: string;
  error?: string;
}

type Piece = { kind: 'text'; text: string } | { kind: 'action'; action: Action };

export const KNOWN_FUNCTIONS = [
  'user',
  'env',
  'timestamp',
  'isotime',
  'uuid',
  'pwd',
  'template_dir',
  'build_name',
  'build_type',
  'lower',
  'upper',
  'clean_resource_name',
];

/** True when the string holds template actions at all. */
export function hasTemplate(s: string): boolean {
  return s.includes('{{');
}

/** Splits a string into text and {{ actions }}, honouring Go's {{- and -}} whitespace trimming. */
export function parseTemplate(s: string): Piece[] {
  const pieces: Piece[] = [];
  let i = 0;
  let trimNext = false;
  while (i < s.length) {
    const open = s.indexOf('{{', i);
    let text = open < 0 ? s.slice(i) : s.slice(i, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open < 0) {
      if (text) pieces.push({ kind: 'text', text });
      break;
    }
    const close = findClose(s, open + 2);
    if (close < 0) {
      if (text) pieces.push({ kind: 'text', text });
      pieces.push({
        kind: 'action',
        action: { raw: s.slice(open), pipeline: [], error: 'has "{{" without a matching "}}"' },
      });
      break;
    }
    let inner = s.slice(open + 2, close);
    if (inner.startsWith('-') && /^-\s/.test(inner)) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    if (/\s-$/.test(inner)) {
      trimNext = true;
      inner = inner.slice(0, -1);
    }
    if (text) pieces.push({ kind: 'text', text });
    pieces.push({ kind: 'action', action: parseAction(s.slice(open, close + 2), inner) });
    i = close + 2;
  }
  return pieces;
}

/** The "}}" closing an action, skipping over quoted strings inside it. */
function findClose(s: string, from: number): number {
  let quote: string | undefined;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '`' || c === '"') quote = c;
    else if (c === '}' && s[i + 1] === '}') return i;
  }
  return -1;
}

function parseAction(raw: string, inner: string): Action {
  const tokens: { t: 'word' | 'string' | 'pipe'; v: string }[] = [];
  let i = 0;
  while (i < inner.length) {
    const c = inner[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '|') {
      tokens.push({ t: 'pipe', v: '|' });
      i++;
    } else if (c === '`') {
      const end = inner.indexOf('`', i + 1);
      if (end < 0) return { raw, pipeline: [], error: 'has an unterminated `string`' };
      tokens.push({ t: 'string', v: inner.slice(i + 1, end) });
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let v = '';
      while (j < inner.length && inner[j] !== '"') {
        if (inner[j] === '\\' && j + 1 < inner.length) {
          const e = inner[j + 1]!;
          v += e === 'n' ? '\n' : e === 't' ? '\t' : e;
          j += 2;
        } else v += inner[j++];
      }
      if (j >= inner.length) return { raw, pipeline: [], error: 'has an unterminated "string"' };
      tokens.push({ t: 'string', v });
      i = j + 1;
    } else {
      const m = /^[^\s|`"]+/.exec(inner.slice(i))!;
      tokens.push({ t: 'word', v: m[0] });
      i += m[0].length;
    }
  }
  if (tokens.length === 1 && tokens[0]!.t === 'string') return { raw, pipeline: [], literal: tokens[0]!.v };
  const pipeline: Command[] = [];
  let cur: Command | undefined;
  for (const tok of tokens) {
    if (tok.t === 'pipe') {
      if (!cur) return { raw, pipeline: [], error: 'has an empty pipeline stage' };
      pipeline.push(cur);
      cur = undefined;
    } else if (!cur) {
      if (tok.t !== 'word') return { raw, pipeline: [], error: 'must start with a function name' };
      cur = { name: tok.v, args: [] };
    } else {
      // Numbers and other bare words are arguments too (Go templates allow them); each function checks its own.
      cur.args.push(tok.v);
    }
  }
  if (!cur) return { raw, pipeline: [], error: 'is empty' };
  pipeline.push(cur);
  return { raw, pipeline };
}

/** Evaluates a template string into segments. */
export function evaluate(s: string, ctx: TemplateContext, stack: string[] = []): Evaluated {
  const out: Evaluated = { segments: [], problems: [], used: new Set(), notes: [] };
  for (const piece of parseTemplate(s)) {
    if (piece.kind === 'text') {
      pushText(out.segments, piece.text);
      continue;
    }
    const a = piece.action;
    if (a.error) {
      out.problems.push(`template action ${a.raw} ${a.error}`);
      continue;
    }
    if (a.literal !== undefined) {
      pushText(out.segments, a.literal);
      continue;
    }
    const first = a.pipeline[0]!;
    let segs = callFunction(first, a.raw, ctx, stack, out);
    if (!segs) continue;
    for (const stage of a.pipeline.slice(1)) {
      if (['lower', 'upper', 'clean_resource_name'].includes(stage.name) && stage.args.length === 0) {
        // A build-time value reshaped ({{isotime | clean_resource_name}}) is still the build's time.
        if (segs.length === 1 && segs[0]!.kind === 'dynamic') {
          segs = [{ ...segs[0]!, raw: a.raw }];
          continue;
        }
        if (segs.some((x) => x.kind !== 'text')) {
          out.problems.push(
            `${a.raw}: "${stage.name}" of a secret or build-time value cannot be worked out at import time`,
          );
          segs = undefined;
          break;
        }
        segs = [{ kind: 'text', text: caseOf(stage.name, textOf(segs)) }];
      } else {
        out.problems.push(`${a.raw}: unknown template function "${stage.name}" in a pipeline`);
        segs = undefined;
        break;
      }
    }
    for (const x of segs ?? []) {
      if (x.kind === 'text') pushText(out.segments, x.text);
      else out.segments.push(x);
    }
  }
  return out;
}

function callFunction(
  cmd: Command,
  raw: string,
  ctx: TemplateContext,
  stack: string[],
  out: Evaluated,
): Segment[] | undefined {
  const arity = (n: number): boolean => {
    if (cmd.args.length === n) return true;
    out.problems.push(
      `${raw}: "${cmd.name}" takes ${n === 0 ? 'no arguments' : `${n} quoted argument${n > 1 ? 's' : ''}`}`,
    );
    return false;
  };
  if (cmd.name.startsWith('.')) {
    const field = cmd.name.slice(1);
    if (ctx.fields?.has(field)) return [{ kind: 'text', text: `{{.${field}}}` }];
    out.problems.push(`${raw}: the template field ${cmd.name} is not available here`);
    return undefined;
  }
  switch (cmd.name) {
    case 'user': {
      if (!arity(1)) return undefined;
      return userVariable(cmd.args[0]!, raw, ctx, stack, out);
    }
    case 'env': {
      if (!arity(1)) return undefined;
      const name = cmd.args[0]!;
      const v = ctx.env[name];
      if (v === undefined) {
        const via =
          stack.length > 0
            ? ` (read by variable "${stack[stack.length - 1]}"; or pass --var ${stack[stack.length - 1]}=VALUE)`
            : '';
        out.problems.push(`${raw}: the environment variable ${name} is not set where you run the import: set it${via}`);
        return undefined;
      }
      return [{ kind: 'text', text: v }];
    }
    case 'timestamp':
    case 'uuid':
      if (!arity(0)) return undefined;
      return [{ kind: 'dynamic', fn: cmd.name, raw }];
    case 'isotime':
      if (cmd.args.length > 1) {
        out.problems.push(`${raw}: "isotime" takes at most one quoted format`);
        return undefined;
      }
      return [{ kind: 'dynamic', fn: 'isotime', raw }];
    case 'pwd':
      return arity(0) ? [{ kind: 'text', text: ctx.pwd }] : undefined;
    case 'template_dir':
      return arity(0) ? [{ kind: 'text', text: ctx.templateDir }] : undefined;
    case 'build_name':
      return arity(0) ? [{ kind: 'text', text: ctx.buildName }] : undefined;
    case 'build_type':
      return arity(0) ? [{ kind: 'text', text: ctx.buildType }] : undefined;
    case 'lower':
    case 'upper':
    case 'clean_resource_name':
      return arity(1) ? [{ kind: 'text', text: caseOf(cmd.name, cmd.args[0]!) }] : undefined;
    default:
      out.problems.push(`${raw}: unknown template function "${cmd.name}"`);
      return undefined;
  }
}

function userVariable(
  name: string,
  raw: string,
  ctx: TemplateContext,
  stack: string[],
  out: Evaluated,
): Segment[] | undefined {
  out.used.add(name);
  if (ctx.sensitive.has(name)) return [{ kind: 'secret', variable: name }];
  if (name in ctx.overrides) return [{ kind: 'text', text: ctx.overrides[name]! }];
  if (!Object.prototype.hasOwnProperty.call(ctx.variables, name)) {
    // Packer: an undeclared variable is an error inside "variables", and "" everywhere else.
    if (stack.length > 0) {
      out.problems.push(
        `${raw}: the variable "${name}" is not declared in "variables": declare it or pass --var ${name}=VALUE`,
      );
      return undefined;
    }
    out.notes.push(
      `the variable "${name}" is not declared in "variables": Packer reads it as "" outside "variables", and so does the spec (pass --var ${name}=VALUE to set it)`,
    );
    return [];
  }
  const def = ctx.variables[name];
  if (def === null || def === undefined) {
    out.problems.push(`${raw}: the variable "${name}" has no default: pass --var ${name}=VALUE`);
    return undefined;
  }
  if (typeof def !== 'string') {
    out.problems.push(
      `${raw}: the variable "${name}" must be a string, not ${Array.isArray(def) ? 'a list' : typeof def}`,
    );
    return undefined;
  }
  if (stack.includes(name)) {
    out.problems.push(`${raw}: the variable "${name}" refers to itself (${[...stack, name].join(' → ')})`);
    return undefined;
  }
  const inner = evaluate(def, ctx, [...stack, name]);
  inner.used.forEach((u) => out.used.add(u));
  out.notes.push(...inner.notes);
  if (inner.problems.length > 0) {
    out.problems.push(...inner.problems.map((p) => `variables.${name}: ${p}`));
    return undefined;
  }
  return inner.segments;
}

function caseOf(fn: string, s: string): string {
  if (fn === 'clean_resource_name') return cleanResourceName(s);
  return fn === 'lower' ? s.toLowerCase() : s.toUpperCase();
}

/** Packer's clean_resource_name: lowercase, anything but letters, digits and "-" becomes "-", at most 63. */
function cleanResourceName(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 63);
}

function pushText(segs: Segment[], text: string): void {
  if (!text) return;
  const last = segs[segs.length - 1];
  if (last?.kind === 'text') last.text += text;
  else segs.push({ kind: 'text', text });
}

/** The text of segments that are all text. */
export function textOf(segs: Segment[]): string {
  return segs.map((x) => (x.kind === 'text' ? x.text : '')).join('');
}

export function isPlainText(segs: Segment[]): boolean {
  return segs.every((x) => x.kind === 'text');
}

/** The environment variable a sensitive Packer variable is read from on the worker: do_token → DO_TOKEN. */
export function workerEnvName(variable: string): string {
  const n = variable.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  return /^[A-Z_]/.test(n) ? n : `_${n}`;
}
