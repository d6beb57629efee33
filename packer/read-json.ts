/**
 * The read stage for legacy Packer JSON templates: the parsed template → the template model, with
 * an evaluator for Go-template strings ({{user `x`}}, {{env `X`}}, {{timestamp}}, ...).
 */
import * as path from 'node:path';
import { evaluate } from './template-functions';
import type { TemplateContext } from './template-functions';
import { workerEnvName } from './template-functions';
import { isObject } from './model';
import type { BlockModel, Evaluator, Problem, SourceModel, TemplateModel } from './model';

export interface JsonReadOptions {
  /** Absolute path of the template (its name and {{template_dir}}). */
  templateFile: string;
  /** Packer's working directory (absolute). */
  root: string;
  /** --var name=value overrides of user variables. */
  vars?: Record<string, string>;
  /** The importer's environment, for {{env `X`}}. */
  env?: Record<string, string | undefined>;
}

const TOP_LEVEL = ['variables', 'sensitive-variables', 'builders', 'provisioners', 'post-processors'];

export function readJsonTemplate(template: unknown, opts: JsonReadOptions): TemplateModel {
  const problems: Problem[] = [];
  const notes: string[] = [];
  const problem = (p: Problem['path'], message: string) => problems.push({ path: p, message });
  const model = (
    evaluator: Evaluator,
    sources: SourceModel[] = [],
    provisioners: BlockModel[] = [],
    post: BlockModel[] = [],
  ) => ({
    format: 'json' as const,
    file: opts.templateFile,
    sources,
    provisioners,
    postProcessors: post,
    evaluator,
    problems,
    notes,
  });
  if (!isObject(template)) {
    problem([], 'a Packer JSON template must be an object with "builders" and "provisioners"');
    return model(jsonEvaluator(context({}, new Set(), opts, 'digitalocean')));
  }
  for (const key of Object.keys(template)) {
    if (TOP_LEVEL.includes(key) || key.startsWith('_')) continue;
    if (key === 'description' || key === 'min_packer_version') notes.push(`${key}: dropped (not part of a build spec)`);
    else problem([key], `unknown top-level key "${key}" in a Packer JSON template`);
  }
  let variables: Record<string, unknown> = {};
  if (template.variables !== undefined) {
    if (isObject(template.variables)) variables = template.variables;
    else problem(['variables'], '"variables" must be an object of name: default');
  }
  const sensitive = new Set<string>();
  const sv = template['sensitive-variables'];
  if (sv !== undefined) {
    if (Array.isArray(sv) && sv.every((v) => typeof v === 'string')) sv.forEach((v: string) => sensitive.add(v));
    else problem(['sensitive-variables'], '"sensitive-variables" must be a list of variable names');
  }
  for (const k of Object.keys(opts.vars ?? {})) {
    if (sensitive.has(k)) {
      problem(
        ['sensitive-variables'],
        `--var ${k}=…: "${k}" is sensitive, so its value is never written to the spec; it is read on the worker from ${workerEnvName(k)}`,
      );
    }
  }

  // Builders: one or more "digitalocean" (several become a matrix); any other type is a problem.
  const sources: SourceModel[] = [];
  const builders = template.builders;
  if (!Array.isArray(builders) || builders.length === 0)
    problem(['builders'], 'the template needs a "digitalocean" builder');
  else {
    builders.forEach((b, i) => {
      const type = isObject(b) ? b.type : undefined;
      if (type !== 'digitalocean' || !isObject(b)) {
        problem(
          ['builders', i],
          `builder type "${String(type)}" cannot be converted: the tool builds DigitalOcean droplet snapshots only`,
        );
      } else
        sources.push({ ref: typeof b.name === 'string' ? b.name : 'digitalocean', at: ['builders', i], options: b });
    });
  }
  const ctx = context(variables, sensitive, opts, sources[0]?.ref ?? 'digitalocean');

  const provisioners: BlockModel[] = [];
  if (template.provisioners !== undefined && !Array.isArray(template.provisioners))
    problem(['provisioners'], '"provisioners" must be a list');
  else {
    ((template.provisioners as unknown[] | undefined) ?? []).forEach((raw, i) => {
      const at = ['provisioners', i];
      if (!isObject(raw) || typeof raw.type !== 'string') provisioners.push({ type: '', at, raw: {} });
      else provisioners.push({ type: raw.type, at, raw });
    });
  }
  const post: BlockModel[] = [];
  const pp = template['post-processors'];
  if (pp !== undefined) {
    (Array.isArray(pp) ? pp : [pp]).forEach((item, i) => {
      const items = Array.isArray(item) ? item : [item];
      items.forEach((x, j) => {
        const at = Array.isArray(item) ? ['post-processors', i, j] : ['post-processors', i];
        const type = isObject(x) ? x.type : typeof x === 'string' ? x : undefined;
        post.push({ type: String(type), at, raw: isObject(x) ? x : { type: x } });
      });
    });
  }
  return model(jsonEvaluator(ctx), sources, provisioners, post);
}

function context(
  variables: Record<string, unknown>,
  sensitive: Set<string>,
  opts: JsonReadOptions,
  buildName: string,
): TemplateContext {
  return {
    variables,
    sensitive,
    overrides: opts.vars ?? {},
    env: opts.env ?? {},
    pwd: opts.root,
    templateDir: path.dirname(opts.templateFile),
    buildName,
    buildType: 'digitalocean',
  };
}

function jsonEvaluator(ctx: TemplateContext): Evaluator {
  return {
    sensitive: ctx.sensitive,
    varHint: '--var NAME=VALUE',
    resolve: (value) => ({ value, problems: [], notes: [] }),
    segments(value, fields) {
      if (typeof value !== 'string') return { problems: ['must be a string'], notes: [] };
      const r = evaluate(value, fields ? { ...ctx, fields } : ctx);
      return { value: r.segments, problems: r.problems, notes: r.notes };
    },
  };
}
