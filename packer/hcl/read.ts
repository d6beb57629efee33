/**
 * The read stage for HCL2: a file or a folder (every *.pkr.hcl and *.pkr.json in it is one
 * configuration), variable values with Packer's precedence (defaults < PKR_VAR_name <
 * *.auto.pkrvars.* < -var-file and -var in command-line order), parsed with HashiCorp's HCL
 * parser (@cdktn/hcl2json) → the template model, and a locator for file:line:column.
 */
import { existsSync, promises as fs, statSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseHcl } from '@cdktn/hcl2json';
import { formatPath } from '../positions';
import type { JsonPath } from '../positions';
import type { BlockModel, Problem, SourceModel, TemplateModel } from '../model';
import { workerEnvName } from '../template-functions';
import { HclEvaluator, message } from './eval';
import type { HclScope, VariableDef } from './eval';
import { parseExpression } from './expr';
import { scanHcl } from './scan';
import { typeMismatch } from './types';
import { checkBuild, checkTopLevel } from './unsupported-blocks';
import type { Pos, ScannedBlock } from './scan';
import type { Value } from './values';

export type VarSetting = { kind: 'var'; name: string; value: string } | { kind: 'var-file'; file: string };

export interface HclReadOptions {
  /** A .pkr.hcl/.pkr.json file or a folder (absolute). */
  input: string;
  /** Packer's working directory (absolute): path.cwd, and where file() paths start. */
  root: string;
  /** -var and -var-file, in command-line order. */
  settings?: VarSetting[];
  env?: Record<string, string | undefined>;
  /** Which build block to import (its `name`), when the configuration has several. */
  build?: string;
}

export interface Located extends Pos {
  file: string;
}

export interface HclRead {
  model: TemplateModel;
  locate(p: JsonPath): Located | undefined;
}

type Body = Record<string, unknown>;
const arr = (v: unknown): Body[] => (Array.isArray(v) ? (v as Body[]) : v && typeof v === 'object' ? [v as Body] : []);
const entries = (v: unknown): [string, Body[]][] =>
  Array.isArray(v)
    ? v.flatMap((x: Body) => Object.entries(x).map(([k, b]) => [k, arr(b)] as [string, Body[]]))
    : Object.entries((v ?? {}) as Body).map(([k, b]) => [k, arr(b)]);

export function isHclInput(p: string): boolean {
  return /\.pkr\.(hcl|json)$/.test(p) || (existsSync(p) && statSync(p).isDirectory());
}

export async function readHcl(o: HclReadOptions): Promise<HclRead> {
  const problems: Problem[] = [];
  const notes: string[] = [];
  const where = new Map<string, { file: string; blocks: ScannedBlock[] }>();
  const isDir = statSync(o.input).isDirectory();
  const dir = isDir ? o.input : path.dirname(o.input);
  const names = isDir ? (await fs.readdir(dir)).sort() : [path.basename(o.input)];
  const files = [...names.filter((n) => n.endsWith('.pkr.hcl')), ...names.filter((n) => n.endsWith('.pkr.json'))];
  if (files.length === 0) throw new HclInputError(`${o.input}: no *.pkr.hcl or *.pkr.json files`);
  const parsed: { file: string; body: Body; scan?: ScannedBlock }[] = [];
  for (const f of files) parsed.push({ file: f, ...(await parseFile(path.join(dir, f))) });

  // Variables and locals from every file.
  const variables = new Map<string, VariableDef>();
  const types = new Map<string, string>();
  const validations: { name: string; rule: Body; at: JsonPath }[] = [];
  const locals = new Map<string, unknown>();
  const sensitiveLocals = new Set<string>();
  const register = (p: JsonPath, file: string, blocks: (ScannedBlock | undefined)[]) => {
    const key = formatPath(p);
    const known = where.get(key);
    where.set(key, { file, blocks: [...blocks.filter((b): b is ScannedBlock => !!b), ...(known?.blocks ?? [])] });
  };
  const scanned = (s: ScannedBlock | undefined, type: string, ...labels: string[]) =>
    s?.blocks.filter((b) => b.type === type && labels.every((l, i) => b.labels[i] === l));
  let packerBlocks = 0;
  let digitaloceanPlugin = false;
  for (const { file, body, scan } of parsed) {
    checkTopLevel(body, scan, (p, b) => register(p, file, b), problems);
    for (const [name, defs] of entries(body.variable)) {
      const def = defs[0] ?? {};
      register(['variable', name], file, scanned(scan, 'variable', name) ?? []);
      if (variables.has(name))
        problems.push({ path: ['variable', name], message: `the variable "${name}" is declared twice` });
      variables.set(name, {
        name,
        sensitive: def.sensitive === true,
        ...(def.default !== undefined ? { rawDefault: def.default } : {}),
      });
      if (typeof def.type === 'string') types.set(name, def.type.replace(/^\$\{|\}$/g, ''));
      for (const rule of arr(def.validation)) validations.push({ name, rule, at: ['variable', name, 'validation'] });
    }
    for (const l of arr(body.locals)) for (const [k, v] of Object.entries(l)) locals.set(k, v);
    for (const [name, defs] of entries(body.local)) {
      locals.set(name, defs[0]?.expression);
      // A sensitive local is a secret like a sensitive variable: its value never reaches the spec.
      if (defs[0]?.sensitive === true) sensitiveLocals.add(name);
      register(['local', name], file, scanned(scan, 'local', name) ?? []);
    }
    scanned(scan, 'locals')?.forEach((b) => [...b.attrs.keys()].forEach((k) => register(['local', k], file, [b])));
    for (const p of arr(body.packer)) {
      packerBlocks++;
      register(['packer'], file, scanned(scan, 'packer') ?? []);
      for (const [plugin, specs] of entries(p.required_plugins)) {
        const source = String((specs[0] as Body | undefined)?.source ?? '');
        if (/(^|\/)digitalocean\/digitalocean$/.test(source) || plugin === 'digitalocean') digitaloceanPlugin = true;
        else
          notes.push(
            `packer.required_plugins.${plugin} (${source}): not used by the spec (it names no DigitalOcean builder)`,
          );
      }
    }
  }
  if (packerBlocks > 0 && !digitaloceanPlugin) {
    problems.push({
      path: ['packer'],
      message:
        'required_plugins has no digitalocean plugin (github.com/digitalocean/digitalocean): the template builds nothing the tool can',
    });
  }
  for (const name of sensitiveLocals) {
    if (variables.has(name))
      problems.push({
        path: ['local', name],
        message: `the sensitive local "${name}" and the variable "${name}" would both be read on the worker from ${workerEnvName(name)}: rename one`,
      });
  }
  const env = o.env ?? {};
  const scope: HclScope = { variables, locals, sensitiveLocals, root: dir, cwd: o.root, env };
  const literal = new HclEvaluator({ ...scope, variables: new Map(), locals: new Map() });
  const assign = (name: string, value: () => Value, from: string, strict: boolean) => {
    const def = variables.get(name);
    if (!def) {
      if (strict)
        problems.push({
          path: [],
          message: `${from}: there is no variable "${name}" (declare it with a variable block)`,
        });
      else notes.push(`${from}: "${name}" is not a declared variable: ignored, as Packer does`);
      return;
    }
    try {
      def.value = value();
      def.from = from;
      delete def.rawDefault;
      if (def.sensitive)
        notes.push(`${from} sets the sensitive variable "${name}": its value is never written to the spec`);
    } catch (err) {
      problems.push({ path: ['variable', name], message: `${from}: ${message(err)}` });
    }
  };
  const fromString = (name: string, s: string): Value => {
    const t = types.get(name);
    if (!t || t === 'string') return s;
    // As Packer converts them; a value that does not convert is left for the type check to name.
    if (t === 'number') return s.trim() !== '' && !Number.isNaN(Number(s)) ? Number(s) : s;
    if (t === 'bool') return s === 'true' ? true : s === 'false' ? false : s;
    return literal.expr(parseExpression(s), new Map());
  };
  for (const [k, v] of Object.entries(env)) {
    if (k.startsWith('PKR_VAR_') && v !== undefined)
      assign(k.slice(8), () => fromString(k.slice(8), v), `PKR_VAR_${k.slice(8)}`, false);
  }
  const varFile = async (file: string) => {
    const body = (await parseFile(file)).body;
    for (const [k, v] of Object.entries(body)) assign(k, () => literal.value(v), path.basename(file), false);
  };
  for (const n of (await fs.readdir(dir)).sort())
    if (/\.auto\.pkrvars\.(hcl|json)$/.test(n)) await varFile(path.join(dir, n));
  for (const s of o.settings ?? []) {
    if (s.kind === 'var-file') await varFile(path.resolve(o.root, s.file));
    else assign(s.name, () => fromString(s.name, s.value), `--var ${s.name}`, true);
  }
  const evaluator = new HclEvaluator(scope);
  for (const [name, type] of types) checkType(variables.get(name)!, type, evaluator, problems);
  for (const v of validations) {
    if (variables.get(v.name)?.sensitive) continue;
    const r = evaluator.resolve(v.rule.condition);
    if (r.problems.length > 0)
      problems.push({ path: v.at, message: `validation of "${v.name}": ${r.problems.join('; ')}` });
    else if (r.value === false)
      problems.push({
        path: v.at,
        message: `the variable "${v.name}" is not valid: ${String(v.rule.error_message ?? '')}`,
      });
  }

  // Sources, and the build that uses them.
  const sources = new Map<string, { body: Body; file: string; scan?: ScannedBlock }>();
  for (const { file, body, scan } of parsed) {
    for (const [type, byName] of entries(body.source)) {
      for (const [name, defs] of Object.entries((Array.isArray(byName) ? byName[0] : byName) ?? {})) {
        sources.set(`${type}.${name}`, {
          body: arr(defs)[0] ?? {},
          file,
          ...(scan ? { scan: scanned(scan, 'source', type, name)?.[0] } : {}),
        });
      }
    }
  }
  const allBuilds = parsed.flatMap(({ file, body, scan }) =>
    arr(body.build).map((b, i) => ({ file, body: b, scan: scanned(scan, 'build')?.[i] })),
  );
  const model: TemplateModel = {
    format: 'hcl2',
    file: isDir ? path.join(dir, 'x') : o.input,
    sources: [],
    provisioners: [],
    postProcessors: [],
    evaluator,
    problems,
    notes,
  };
  const second = allBuilds[1];
  if (second) register(['build', 1], second.file, second.scan ? [second.scan] : []);
  const builds = chooseBuild(allBuilds, o.build, problems, notes);
  const build = builds[0];
  if (!build) return { model, locate: locator(where, dir) };
  register(['build'], build.file, [build.scan].filter((b) => !!b) as ScannedBlock[]);
  checkBuild(build.body, build.scan, (p, b) => register(p, build.file, b), problems, notes);
  const out: SourceModel[] = [];
  const overrides = new Map<string, Body[]>(
    entries(build.body.source).map(([k, v]) => [k.replace(/^source\./, ''), v]),
  );
  const wanted = [...(Array.isArray(build.body.sources) ? (build.body.sources as string[]) : []), ...overrides.keys()];
  for (const ref of [...new Set(wanted.map((w) => w.replace(/^source\./, '')))]) {
    const src = sources.get(ref);
    if (!src) {
      problems.push({ path: ['build', 'sources'], message: `source.${ref} is not declared` });
      continue;
    }
    if (!ref.startsWith('digitalocean.')) {
      problems.push({
        path: [`source.${ref}`],
        message: `builder type "${ref.split('.')[0]}" cannot be converted: the tool builds DigitalOcean droplet snapshots only`,
      });
      register([`source.${ref}`], src.file, [src.scan].filter((b) => !!b) as ScannedBlock[]);
      continue;
    }
    for (const ov of overrides.get(ref) ?? [{}]) {
      const name = typeof ov.name === 'string' ? ov.name : ref.split('.')[1]!;
      const { name: _n, ...fields } = ov;
      const at = [`source.digitalocean.${name}`];
      const ovScan = build.scan?.blocks.find(
        (b) => b.type === 'source' && b.labels[0]?.replace(/^source\./, '') === ref,
      );
      register(at, src.file, [ovScan, src.scan].filter((b) => !!b) as ScannedBlock[]);
      out.push({ ref: `digitalocean.${name}`, at, options: { ...src.body, ...fields } });
    }
  }
  model.sources = out;
  if (out.length === 1) scope.source = { name: out[0]!.ref.split('.')[1]!, type: 'digitalocean' };
  else scope.sourceNames = out.map((s) => s.ref.split('.')[1]!);

  // Provisioners and post-processors, in the order written (hcl2json groups them by type).
  const ordered = (
    body: Body,
    kind: string,
    children: ScannedBlock[] | undefined,
  ): { type: string; raw: Body; scan?: ScannedBlock }[] => {
    const byType = new Map(entries(body[kind]));
    if (!children) return [...byType].flatMap(([type, list]) => list.map((raw) => ({ type, raw })));
    const seen = new Map<string, number>();
    return children
      .filter((c) => c.type === kind)
      .map((c) => {
        const type = c.labels[0] ?? '';
        const k = seen.get(type) ?? 0;
        seen.set(type, k + 1);
        return { type, raw: byType.get(type)?.[k] ?? {}, scan: c };
      });
  };
  ordered(build.body, 'provisioner', build.scan?.blocks).forEach((p, i) => {
    const at = ['build', 'provisioner', i];
    register(at, build.file, p.scan ? [p.scan] : []);
    model.provisioners.push({ type: p.type, at, raw: { type: p.type, ...p.raw } } satisfies BlockModel);
  });
  const chains = [
    { body: build.body, scan: build.scan },
    ...arr(build.body['post-processors']).map((b, i) => ({
      body: b,
      scan: build.scan?.blocks.filter((x) => x.type === 'post-processors')[i],
    })),
  ];
  for (const chain of chains) {
    for (const p of ordered(chain.body, 'post-processor', chain.scan?.blocks)) {
      const at = ['build', 'post-processor', model.postProcessors.length];
      register(at, build.file, p.scan ? [p.scan] : []);
      model.postProcessors.push({ type: p.type, at, raw: p.raw });
    }
  }
  return { model, locate: locator(where, dir) };
}

export class HclInputError extends Error {}
/** An import option that does not fit the configuration (--build naming no build). */
export class HclOptionError extends Error {}

/** Whether a build names a digitalocean source (in `sources` or a `source` block). */
function usesDigitalocean(b: BuildBlock): boolean {
  const refs = [
    ...(Array.isArray(b.body.sources) ? (b.body.sources as unknown[]) : []),
    ...entries(b.body.source).map(([k]) => k),
  ];
  return refs.some((r) => typeof r === 'string' && /^(source\.)?digitalocean\./.test(r));
}

interface BuildBlock {
  file: string;
  body: Body;
  scan?: ScannedBlock | undefined;
}

/**
 * The build to import: the only one, or the one --build names. A spec describes one build, so
 * several without --build is a problem listing them (a build is named by its `name`).
 */
function chooseBuild(
  builds: BuildBlock[],
  wanted: string | undefined,
  problems: Problem[],
  notes: string[],
): BuildBlock[] {
  const nameOf = (b: BuildBlock) => (typeof b.body.name === 'string' ? b.body.name : undefined);
  const listed = () =>
    builds
      .map((b) => `${nameOf(b) ? `"${nameOf(b)}"` : '(no name)'} in ${b.file}${b.scan ? `:${b.scan.line}` : ''}`)
      .join(', ');
  if (builds.length === 0) {
    problems.push({ path: [], message: 'the configuration has no build block' });
    return [];
  }
  // A multi-cloud file: the builds of other builders (hcloud, amazon-ebs) are not this tool's.
  const ours = builds.filter(usesDigitalocean);
  if (ours.length > 0 && ours.length < builds.length) {
    const n = builds.length - ours.length;
    notes.push(
      `${n === 1 ? 'one build uses' : `${n} builds use`} no digitalocean source: not imported (${builds
        .filter((b) => !ours.includes(b))
        .map((b) => `${nameOf(b) ? `"${nameOf(b)}"` : '(no name)'} in ${b.file}${b.scan ? `:${b.scan.line}` : ''}`)
        .join(', ')})`,
    );
    return chooseBuild(ours, wanted, problems, notes);
  }
  if (wanted !== undefined) {
    const hit = builds.filter((b) => nameOf(b) === wanted);
    if (hit.length !== 1)
      throw new HclOptionError(
        `--build ${wanted}: ${hit.length === 0 ? 'no build block has that name' : 'several build blocks have that name'} (the builds: ${listed()})`,
      );
    const others = builds.length - 1;
    if (others > 0)
      notes.push(
        `build "${wanted}" imported (--build); the other ${others === 1 ? 'build is' : `${others} builds are`} not`,
      );
    return hit;
  }
  if (builds.length > 1) {
    const unnamed = builds.some((b) => !nameOf(b));
    problems.push({
      path: ['build', 1],
      message:
        `the configuration has ${builds.length} build blocks (${listed()}) and a spec describes one build: ` +
        `import one with --build NAME${unnamed ? ' (give a build a name = "…" to choose it)' : ''}`,
    });
  }
  return builds.slice(0, 1);
}

/** The value a variable ends with (default, var files, -var, PKR_VAR_) against its type. */
function checkType(def: VariableDef, type: string, evaluator: HclEvaluator, problems: Problem[]): void {
  let v: Value;
  try {
    if (def.value !== undefined) v = def.value;
    else if (def.rawDefault !== undefined) v = evaluator.value(def.rawDefault, new Map(), true);
    else return;
  } catch {
    return; // an error in a default is reported where the variable is used
  }
  const why = typeMismatch(type, v);
  if (!why) return;
  const shown = def.sensitive || typeof v === 'object' ? '' : ` ${JSON.stringify(v)}`;
  problems.push({
    path: def.from ? ['variable', def.name] : ['variable', def.name, 'default'],
    message: `the variable "${def.name}" is declared ${type}, but its value${shown} from ${def.from ?? 'its default'} is ${why}`,
  });
}

async function parseFile(file: string): Promise<{ body: Body; scan?: ScannedBlock }> {
  const text = await fs.readFile(file, 'utf8').catch(() => {
    throw new HclInputError(`cannot read ${file}: check the path`);
  });
  if (file.endsWith('.json')) {
    try {
      return { body: JSON.parse(text) as Body };
    } catch (err) {
      throw new HclInputError(`${path.basename(file)}: not valid JSON: ${message(err)}`);
    }
  }
  try {
    return { body: (await parseHcl(path.basename(file), text)) as Body, scan: scanHcl(text) };
  } catch (err) {
    // HCL's diagnostics read "file.pkr.hcl:3,7-4,1: summary; detail".
    const m = /([^\s[]+\.pkr(?:vars)?\.hcl):(\d+),(\d+)[^:]*: (.*?)\]?$/s.exec(message(err));
    throw new HclInputError(m ? `${m[1]}:${m[2]}:${m[3]}: ${m[4]}` : `${path.basename(file)}: ${message(err)}`);
  }
}

function locator(
  where: Map<string, { file: string; blocks: ScannedBlock[] }>,
  dir: string,
): (p: JsonPath) => Located | undefined {
  return (p) => {
    for (let n = p.length; n >= 0; n--) {
      const hit = where.get(formatPath(p.slice(0, n)));
      if (!hit) continue;
      const rest = p.slice(n);
      const file = path.relative(dir, path.join(dir, hit.file)) || hit.file;
      for (const b of hit.blocks) {
        const attr = typeof rest[0] === 'string' ? b.attrs.get(rest[0]) : undefined;
        if (attr) return { file, ...attr };
      }
      const b = hit.blocks[0];
      return b ? { file, line: b.line, column: b.column } : { file, line: 0, column: 0 };
    }
    return undefined;
  };
}
