/**
 * `client import-packer <template.json>`: turns a Packer JSON template (a digitalocean builder
 * with file and shell provisioners) into a build spec, checks it with the same loader as
 * `client validate`, and says what it mapped, dropped or could not convert.
 */
import { readFileSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { SpecError, loadSpec } from '../../spec/load';
import { convertTemplate, renderSpec } from '../../packer/convert';
import type { Conversion, Problem } from '../../packer/convert';
import { mapTemplate } from '../../packer/map';
import { HclInputError, HclOptionError, isHclInput, readHcl } from '../../packer/hcl/read';
import type { VarSetting } from '../../packer/hcl/read';
import { formatPath, jsonPositions, jsonSyntaxError } from '../../packer/positions';
import type { Positions } from '../../packer/positions';
import { UserError } from '../../contract/user-error';

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface ImportOptions {
  template: string;
  /** Packer's working directory (relative sources resolve against it); default: cwd. */
  root?: string;
  /** The spec to write; default: build.yaml in the current folder. */
  out?: string;
  partial?: boolean;
  force?: boolean;
  vars?: Record<string, string>;
  /** -var and -var-file in command-line order (HCL2; -var-file needs HCL2). */
  settings?: VarSetting[];
  vendor?: string;
  name?: string;
  /** The build block to import (HCL2, by its name), when the configuration has several. */
  build?: string;
  /** The environment {{env `X`}} reads; default: process.env. */
  env?: Record<string, string | undefined>;
  /** Where relative paths start; default: process.cwd(). */
  cwd?: string;
}

export interface ImportResult {
  out: string;
  steps: number;
  notes: string[];
  /** Gaps left by --partial, formatted "file:line:col: path: message". */
  gaps: string[];
}

/** Converts, writes and validates; throws UserError (nothing written) when it cannot. */
export async function importPacker(o: ImportOptions): Promise<ImportResult> {
  const cwd = o.cwd ?? process.cwd();
  const templateFile = path.resolve(cwd, o.template);
  const root = path.resolve(cwd, o.root ?? '.');
  const out = path.resolve(cwd, o.out ?? 'build.yaml');
  if (o.vendor !== undefined && !NAME.test(o.vendor))
    throw new UserError(
      `--vendor "${o.vendor}": use lowercase letters, digits and dashes (at most 63), e.g. "acme"`,
      2,
    );
  if (o.name !== undefined && !NAME.test(o.name))
    throw new UserError(`--name "${o.name}": use lowercase letters, digits and dashes (at most 63), e.g. "lamp"`, 2);

  const readFile = (abs: string) => {
    try {
      return readFileSync(abs, 'utf8');
    } catch {
      return undefined;
    }
  };
  const mapOpts = {
    root,
    outDir: path.dirname(out),
    readFile,
    ...(o.vendor !== undefined ? { vendor: o.vendor } : {}),
    ...(o.name !== undefined ? { name: o.name } : {}),
  };
  let result: Conversion;
  let where: (p: Problem) => string;
  if (isHclInput(templateFile)) {
    const settings =
      o.settings ?? Object.entries(o.vars ?? {}).map(([name, value]) => ({ kind: 'var' as const, name, value }));
    let read;
    try {
      read = await readHcl({
        input: templateFile,
        root,
        settings,
        env: o.env ?? process.env,
        ...(o.build !== undefined ? { build: o.build } : {}),
      });
    } catch (err) {
      if (err instanceof HclInputError)
        throw new UserError(`${err.message}: not a Packer HCL2 template (nothing written)`);
      if (err instanceof HclOptionError) throw new UserError(`${err.message} (nothing written)`, 2);
      throw err;
    }
    result = mapTemplate(read.model, mapOpts);
    where = (p) => {
      const l = read.locate(p.path);
      const loc = l ? `${l.file}:${l.line}:${l.column}` : path.basename(templateFile);
      return p.path.length > 0 ? `${loc}: ${formatPath(p.path)}` : loc;
    };
  } else {
    if (o.settings?.some((s) => s.kind === 'var-file'))
      throw new UserError('--var-file needs an HCL2 template (*.pkr.hcl or a folder)', 2);
    if (o.build !== undefined)
      throw new UserError(
        '--build picks one of the build blocks of an HCL2 template (*.pkr.hcl or a folder); a JSON template has one build',
        2,
      );
    ({ result, where } = await convertJson(templateFile, o, mapOpts));
  }
  return write(o, out, templateFile, result, where);
}

async function convertJson(
  templateFile: string,
  o: ImportOptions,
  mapOpts: Omit<Parameters<typeof convertTemplate>[1], 'templateFile' | 'vars' | 'env'>,
): Promise<{ result: Conversion; where: (p: Problem) => string }> {
  const vars = {
    ...(o.vars ?? {}),
    ...Object.fromEntries((o.settings ?? []).flatMap((s) => (s.kind === 'var' ? [[s.name, s.value]] : []))),
  };
  let text: string;
  try {
    text = await fs.readFile(templateFile, 'utf8');
  } catch {
    throw new UserError(`cannot read ${templateFile}: check the path`);
  }
  let template: unknown;
  try {
    template = JSON.parse(text);
  } catch (err) {
    const hint = /\.pkr\.hcl$/.test(templateFile)
      ? ' (HCL templates are not supported: `packer hcl2_upgrade` goes the other way; convert from the JSON template)'
      : '';
    throw new UserError(
      `${path.basename(templateFile)}:${jsonSyntaxError(text, err)}: not a Packer JSON template${hint}`,
    );
  }
  const positions = jsonPositions(text);
  const result = convertTemplate(template, { ...mapOpts, templateFile, vars, env: o.env ?? process.env });
  return { result, where: (p: Problem): string => formatWhere(templateFile, positions, p) };
}

async function write(
  o: ImportOptions,
  out: string,
  templateFile: string,
  result: Conversion,
  where: (p: Problem) => string,
): Promise<ImportResult> {
  const problems = result.problems.map((p) => `${where(p)}: ${p.message}`);
  if (problems.length > 0 && !o.partial) {
    throw new UserError(
      [
        `cannot convert ${o.template}: ${problems.length === 1 ? 'one thing has' : `${problems.length} things have`} no equivalent in a build spec (nothing written):`,
        ...problems.map((p) => `  ${p}`),
        'Change the template, or pass --partial to write the rest with a "NOT CONVERTED" comment at each gap.',
      ].join('\n'),
    );
  }
  const yaml = renderSpec(result.spec, {
    header: [
      `Converted from ${path.relative(path.dirname(out), templateFile) || path.basename(templateFile)} by \`client import-packer\`${problems.length > 0 ? ' --partial' : ''}.`,
    ],
    gaps: result.problems.map((p) => ({ problem: p, where: where(p) })),
  });
  await fs.mkdir(path.dirname(out), { recursive: true });
  try {
    await fs.writeFile(out, yaml, { flag: o.force ? 'w' : 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw new UserError(
        `${o.out ?? 'build.yaml'} already exists: pass --force to overwrite it, or choose another --out`,
      );
    throw err;
  }
  const steps = result.spec.steps.length;
  try {
    await loadSpec(out);
  } catch (err) {
    if (!(err instanceof SpecError)) throw err;
    throw new UserError(
      `wrote ${o.out ?? 'build.yaml'} (${steps} step${steps === 1 ? '' : 's'}), but it is not a valid build spec yet:\n${err.message.split('\n').slice(1).join('\n')}`,
    );
  }
  return { out, steps, notes: result.notes, gaps: problems };
}

function formatWhere(file: string, positions: Positions, p: Problem): string {
  const pos = positions.of(p.path);
  const loc = pos ? `${path.basename(file)}:${pos.line}:${pos.column}` : path.basename(file);
  return p.path.length > 0 ? `${loc}: ${formatPath(p.path)}` : loc;
}

function parseVar(value: string): VarSetting {
  const eq = value.indexOf('=');
  if (eq < 1) throw new UserError(`--var ${value}: write it as name=value`, 2);
  return { kind: 'var', name: value.slice(0, eq), value: value.slice(eq + 1) };
}

export function registerImportPacker(program: Command): void {
  // -var and -var-file apply in command-line order (Packer's rule), so both go into one list.
  const settings: VarSetting[] = [];
  program
    .command('import-packer')
    .description(
      'convert a Packer template (HCL2 or legacy JSON; digitalocean builder, file and shell provisioners) into a build spec',
    )
    .argument('<template>', 'a *.pkr.hcl file, a folder of them (one configuration), or a legacy JSON template')
    .option(
      '--root <dir>',
      "Packer's working directory: where the template's relative paths start (default: the current folder)",
    )
    .option(
      '--out <file>',
      'the spec to write; its folder must contain every file the template uploads or runs',
      'build.yaml',
    )
    .option('--var <name=value>', 'set a variable (repeatable), as packer build -var (-var works too)', (v: string) => {
      settings.push(parseVar(v));
      return true;
    })
    .option(
      '--var-file <file>',
      'read variables from a *.pkrvars.hcl or *.pkrvars.json file (repeatable; HCL2)',
      (f: string) => {
        settings.push({ kind: 'var-file', file: f });
        return true;
      },
    )
    .option('--vendor <vendor>', 'your company (names /opt/<vendor>/ for first-login scripts)')
    .option('--name <name>', 'the image family (default: from the snapshot name or the file name)')
    .option('--build <name>', 'the build block to import, by its name, when an HCL2 template has several')
    .option('--partial', 'write what converts, with a "NOT CONVERTED" comment at each gap')
    .option('--force', 'overwrite --out if it exists')
    .action(
      async (
        template: string,
        flags: {
          root?: string;
          out: string;
          vendor?: string;
          name?: string;
          build?: string;
          partial?: boolean;
          force?: boolean;
        },
      ) => {
        const r = await importPacker({
          template,
          out: flags.out,
          settings,
          ...(flags.root !== undefined ? { root: flags.root } : {}),
          ...(flags.vendor !== undefined ? { vendor: flags.vendor } : {}),
          ...(flags.name !== undefined ? { name: flags.name } : {}),
          ...(flags.build !== undefined ? { build: flags.build } : {}),
          ...(flags.partial ? { partial: true } : {}),
          ...(flags.force ? { force: true } : {}),
        });
        for (const n of r.notes) console.log(`note: ${n}`);
        for (const g of r.gaps) console.log(`not converted: ${g}`);
        const gaps =
          r.gaps.length > 0 ? `, ${r.gaps.length} gap${r.gaps.length > 1 ? 's' : ''} marked NOT CONVERTED` : '';
        console.log(`wrote ${flags.out} (${r.steps} step${r.steps === 1 ? '' : 's'}${gaps})`);
      },
    );
}
