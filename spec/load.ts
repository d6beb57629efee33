/**
 * Reads a build spec file: YAML with positions, schema validation, and the checks that need the
 * spec's folder (files present, scripts readable). Every problem names its key and line.
 */
import { promises as fs, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { LineCounter, isNode, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { buildSpecSchema } from './schema';
import type { AnsibleEntry, BuildSpec } from './schema';
import { contextPaths, planFromSpec } from './plan';
import type { BuildPlan } from '../contract/plan';
import { LinkOutsideError, collectContext } from '../context/pack-walk';
import { planIssues } from '../contract/plan-schema';
import { specKeyOf } from './plan-keys';

export interface SpecProblem {
  /** e.g. "files[0].mode" */
  key: string;
  line?: number;
  column?: number;
  message: string;
}

export class SpecError extends Error {
  constructor(
    readonly file: string,
    readonly problems: SpecProblem[],
  ) {
    super(`${file} is not a valid build spec:\n${problems.map((p) => `  ${formatProblem(file, p)}`).join('\n')}`);
    this.name = 'SpecError';
  }
}

export interface LoadedSpec {
  file: string;
  /** The spec's folder: relative paths resolve against it, and it is what gets packed. */
  dir: string;
  spec: BuildSpec;
  plan: BuildPlan;
}

export function formatProblem(file: string, p: SpecProblem): string {
  const where =
    p.line !== undefined
      ? `${path.basename(file)}:${p.line}${p.column !== undefined ? `:${p.column}` : ''}`
      : path.basename(file);
  return `${where}: ${p.key ? `${p.key}: ` : ''}${p.message}`;
}

export async function loadSpec(file: string): Promise<LoadedSpec> {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = await fs.readFile(abs, 'utf8');
  } catch {
    throw new SpecError(file, [{ key: '', message: `cannot read ${abs}: check the path` }]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new SpecError(
      file,
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { key: '', line: pos.line, column: pos.col, message: `YAML syntax: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  const parsed = buildSpecSchema.safeParse(doc.toJS(), { reportInput: true });
  if (!parsed.success) {
    throw new SpecError(
      file,
      parsed.error.issues.flatMap(expandUnion).map((issue) => {
        const keyPath = issue.path.map((k) => (typeof k === 'symbol' ? String(k) : k));
        const pos = positionOf(doc, lines, keyPath as (string | number)[]);
        return { key: formatKey(keyPath as (string | number)[]), ...pos, message: describeIssue(issue) };
      }),
    );
  }
  const spec = parsed.data;
  const dir = path.dirname(abs);
  const plan = planFromSpec(spec);
  // The worker's own rules and limits (check-input runs the same), at the spec's lines.
  const ruleProblems = planIssues(plan).map((issue) => {
    const key = specKeyOf(spec, issue.path);
    return { key: formatKey(key), ...positionOf(doc, lines, key), message: issue.message };
  });
  if (ruleProblems.length > 0) throw new SpecError(file, ruleProblems);
  const problems = await checkFiles(dir, spec, plan, doc, lines);
  if (problems.length > 0) throw new SpecError(file, problems);
  return { file: abs, dir, spec, plan };
}

interface Issue {
  code: string;
  message: string;
  keys?: string[];
  expected?: string;
  input?: unknown;
  issues?: Issue[];
}

type ZodIssue = Issue & { path: PropertyKey[]; errors?: ZodIssue[][] };

/**
 * A list entry that fits none of its forms (a step, a script) is reported with the form its keys
 * name — `{ ansible: … }` with what is wrong inside it — when exactly one form has every problem
 * under a key the entry has; else as the list of forms.
 */
function expandUnion(issue: ZodIssue): ZodIssue[] {
  const input = issue.input;
  if (issue.code !== 'invalid_union' || !issue.errors || typeof input !== 'object' || input === null) return [issue];
  const fits = issue.errors.filter((option) =>
    option.every((i) => i.path.length > 0 && Object.hasOwn(input, i.path[0]!) && i.code !== 'unrecognized_keys'),
  );
  if (fits.length !== 1) return [issue];
  return fits[0]!.flatMap((i) => expandUnion({ ...i, path: [...issue.path, ...i.path] }));
}

function describeIssue(issue: Issue): string {
  if (issue.code === 'invalid_key' && issue.issues?.[0])
    return `key ${JSON.stringify(issue.input)} ${describeIssue(issue.issues[0])}`;
  if (issue.code === 'unrecognized_keys' && issue.keys) {
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}: check the spelling (see the JSON Schema from \`client schema\`)`;
  }
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'is required';
    return `must be ${issue.expected === 'array' ? 'a list' : issue.expected === 'object' ? 'a mapping' : `a ${issue.expected}`}`;
  }
  return issue.message;
}

function formatKey(keyPath: (string | number)[]): string {
  return keyPath.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${k}` : k), '');
}

/** The line of the deepest node that exists along the key path (a missing key points at its parent). */
function positionOf(
  doc: Document,
  lines: LineCounter,
  keyPath: (string | number)[],
): { line?: number; column?: number } {
  for (let n = keyPath.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(keyPath.slice(0, n), true);
    if (isNode(node) && node.range) {
      const pos = lines.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return {};
}

async function checkFiles(
  dir: string,
  spec: BuildSpec,
  plan: BuildPlan,
  doc: Document,
  lines: LineCounter,
): Promise<SpecProblem[]> {
  const problems: SpecProblem[] = [];
  const keyed = keyedPaths(spec);
  // The folders an ansible step sends (its playbook's, or its dir:).
  const folders = new Set(plan.steps.flatMap((s) => (s.kind === 'ansible' ? [s.dir] : [])));
  for (const rel of contextPaths(plan)) {
    const key = keyed.get(rel) ?? [];
    const abs = path.join(dir, rel);
    const pos = positionOf(doc, lines, key);
    // What packing would refuse: a symlink on the way (or in the folder) that leads out of it.
    const linkOut = linkOutside(dir, rel);
    if (linkOut) {
      problems.push({ key: formatKey(key), ...pos, message: linkOut });
      continue;
    }
    const stat = await fs.stat(abs).catch(() => undefined);
    if (!stat) {
      problems.push({
        key: formatKey(key),
        ...pos,
        message: `${rel} does not exist in ${dir}: create it or fix the path`,
      });
      continue;
    }
    if (folders.has(rel)) {
      if (!stat.isDirectory()) problems.push({ key: formatKey(key), ...pos, message: `${rel} must be a folder` });
      continue;
    }
    const isUploadSrc = key.includes('src');
    if (!isUploadSrc && !stat.isFile()) {
      const what = key.includes('ansible') ? '' : ' (a script)';
      problems.push({ key: formatKey(key), ...pos, message: `${rel} must be a file${what}, not a folder` });
      continue;
    }
    if (rel.endsWith('/') && !stat.isDirectory()) {
      problems.push({ key: formatKey(key), ...pos, message: `${rel} ends with "/" but is not a folder` });
      continue;
    }
    await fs
      .access(abs, fsc.R_OK)
      .catch(() => problems.push({ key: formatKey(key), ...pos, message: `${rel} is not readable` }));
  }
  return problems;
}

/** Why packing `rel` would be refused for a link out of the folder, or undefined. */
function linkOutside(dir: string, rel: string): string | undefined {
  try {
    collectContext(dir, [rel]);
  } catch (err) {
    if (err instanceof LinkOutsideError) return err.message;
  }
  return undefined;
}

/** Maps each context path to the spec key that names it, for error positions. */
function keyedPaths(spec: BuildSpec): Map<string, (string | number)[]> {
  const m = new Map<string, (string | number)[]>();
  spec.files.forEach((f, i) => m.set(f.src, ['files', i, 'src']));
  const ansible = (a: AnsibleEntry['ansible'], at: (string | number)[]) => {
    // The folder an entry leaves out is the playbook's: a problem with it is shown at the playbook.
    m.set(a.dir?.replace(/\/+$/, '') ?? path.posix.dirname(a.playbook), [...at, a.dir ? 'dir' : 'playbook']);
    m.set(a.playbook, [...at, 'playbook']);
    if (a.galaxy !== undefined) m.set(a.galaxy, [...at, 'galaxy']);
  };
  spec.scripts.forEach((s, i) => {
    if (typeof s === 'string') m.set(s, ['scripts', i]);
    else if ('ansible' in s) ansible(s.ansible, ['scripts', i, 'ansible']);
  });
  spec.steps?.forEach((s, i) => {
    if ('upload' in s) m.set(s.upload.src, ['steps', i, 'upload', 'src']);
    else if ('ansible' in s) ansible(s.ansible, ['steps', i, 'ansible']);
    else if ('script' in s) m.set(s.script, ['steps', i, 'script']);
  });
  spec.firstBoot.forEach((p, i) => m.set(p, ['firstBoot', i]));
  if (spec.firstLogin) m.set(spec.firstLogin, ['firstLogin']);
  return m;
}
