/**
 * Packer JSON template → build spec. Pure: it takes the parsed template and options (paths,
 * --var values, the importer's environment, an optional file reader to recognise scripts) and
 * returns the spec as a plain object, notes (what was mapped or dropped, and why) and problems
 * (what could not be converted, each with its JSON path and the step position of the gap).
 *
 * Provisioners become the spec's ordered `steps:` (uploads and commands interleave in Packer).
 * What the tool does itself — waiting for cloud-init, DigitalOcean's cleanup and image check,
 * and (only when nothing precedes them) plain apt installs — maps to its built-in steps.
 */
import * as path from 'node:path';
import { Document, isMap, isScalar, isSeq } from 'yaml';
import type { YAMLMap } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import { evaluate, isPlainText, textOf, workerEnvName } from './template-functions';
import type { Segment, TemplateContext } from './template-functions';
import { formatPath } from './positions';
import type { JsonPath } from './positions';

export interface ConvertOptions {
  /** Absolute path of the template (its name and {{template_dir}}). */
  templateFile: string;
  /** Packer's working directory: relative sources resolve against it (absolute). */
  root: string;
  /** The output spec's folder (absolute): paths are written relative to it. */
  outDir: string;
  /** --var name=value overrides of user variables. */
  vars?: Record<string, string>;
  /** The importer's environment, for {{env `X`}}. */
  env?: Record<string, string | undefined>;
  vendor?: string;
  name?: string;
  /** Reads a file (absolute path), to recognise what a script does; undefined when unreadable. */
  readFile?: (abs: string) => string | undefined;
}

export interface Problem {
  /** JSON path in the template, e.g. ['provisioners', 3]. */
  path: JsonPath;
  message: string;
  /** Where in `steps` the unconverted provisioner would have been (for --partial comments). */
  step?: number;
}

export type StepEntry = { upload: { src: string; dest: string } } | { script: string } | { run: string };
export type EnvEntry = string | { fromWorker: string };

export interface SpecObject {
  name: string;
  vendor: string;
  droplet: { image?: string; region?: string; size?: string; tags?: string[] };
  apt?: { packages: string[] };
  steps: StepEntry[];
  env?: Record<string, EnvEntry>;
  snapshot?: { name?: string; regions?: string[]; tags?: string[] };
}

export interface Conversion {
  spec: SpecObject;
  notes: string[];
  problems: Problem[];
}

const SPEC_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const TAG = /^[a-zA-Z0-9_:-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const APT_PACKAGE = /^[a-z0-9][a-z0-9+.:=~-]*$/;

/** Builder options that only tune how Packer talks to DigitalOcean or SSH: dropped with a note. */
const DROPPED_BUILDER_KEYS: Record<string, string> = {
  api_token: 'the worker uses its own DigitalOcean token',
  api_url: 'the worker decides which DigitalOcean API it talks to',
  http_retry_timeout: 'the workflow retries DigitalOcean calls itself',
  droplet_name: 'the build droplet is named after the build',
  private_networking: 'build droplets have no private networking',
  monitoring: 'build droplets run without monitoring (Marketplace rules)',
  ipv6: 'build droplets have no IPv6',
  droplet_agent: 'build droplets run without the droplet agent (Marketplace rules)',
  vpc_uuid: 'build droplets use the default VPC',
  connect_with_private_ip: 'the worker connects over the public IPv4',
  ssh_key_id: 'the worker makes its own login key per build',
  state_timeout: 'the workflow has its own timeouts',
  snapshot_timeout: 'the workflow has its own timeouts',
  transfer_timeout: 'the workflow has its own timeouts',
  wait_snapshot_transfer: 'the workflow always waits for snapshot transfers',
  pause_before_connecting: 'the worker waits for SSH and cloud-init itself',
};

const SHELL_KEYS = new Set([
  'type', 'inline', 'script', 'scripts', 'environment_vars', 'env', 'execute_command', 'inline_shebang', 'valid_exit_codes',
  'expect_disconnect', 'remote_folder', 'remote_file', 'remote_path', 'skip_clean', 'binary', 'env_var_format',
  'use_env_var_file', 'start_retry_timeout', 'pause_before', 'pause_after', 'max_retries', 'timeout', 'only', 'except', 'override', 'name',
]);
const SHELL_DROPPED = ['remote_folder', 'remote_file', 'remote_path', 'skip_clean', 'binary', 'env_var_format', 'use_env_var_file', 'start_retry_timeout', 'pause_before', 'pause_after', 'max_retries', 'timeout'];
const FILE_KEYS = new Set(['type', 'source', 'sources', 'destination', 'direction', 'generated', 'content', 'pause_before', 'pause_after', 'max_retries', 'timeout', 'only', 'except', 'override', 'name']);

/** One shell provisioner's environment, before deciding what goes into the shared `env`. */
interface ProvEnv {
  index: number;
  vars: Map<string, EnvEntry>;
  /** True when one of its steps is a script (which cannot get per-step variables). */
  hasScripts: boolean;
}

type Pending =
  | { kind: 'upload'; src: string; dest: string }
  | { kind: 'script'; path: string; env?: ProvEnv }
  | { kind: 'run'; body: string; setFlags: string; validExit?: number[]; env?: ProvEnv }
  | { kind: 'gap'; problem: Problem };

export function convertTemplate(template: unknown, opts: ConvertOptions): Conversion {
  return new Converter(opts).run(template);
}

class Converter {
  private readonly notes: string[] = [];
  private readonly problems: Problem[] = [];
  private readonly pending: Pending[] = [];
  private readonly provEnvs: ProvEnv[] = [];
  private readonly aptPackages: string[] = [];
  private readonly usedSecrets = new Set<string>();
  private ctx!: TemplateContext;
  private builderName = 'digitalocean';
  private cleanupAt: number | undefined;

  constructor(private readonly opts: ConvertOptions) {}

  run(template: unknown): Conversion {
    const spec: SpecObject = { name: '', vendor: '', droplet: {}, steps: [] };
    if (!isObject(template)) {
      this.problem([], 'a Packer JSON template must be an object with "builders" and "provisioners"');
      spec.name = this.fileName();
      spec.vendor = this.opts.vendor ?? spec.name;
      return { spec, notes: this.notes, problems: this.problems };
    }
    for (const key of Object.keys(template)) {
      if (['variables', 'sensitive-variables', 'builders', 'provisioners', 'post-processors'].includes(key) || key.startsWith('_')) continue;
      if (key === 'description' || key === 'min_packer_version') this.notes.push(`${key}: dropped (not part of a build spec)`);
      else this.problem([key], `unknown top-level key "${key}" in a Packer JSON template`);
    }
    this.setupVariables(template);
    const family = this.convertBuilders(template.builders, spec);
    this.convertProvisioners(template.provisioners);
    this.convertPostProcessors(template['post-processors']);
    spec.steps = this.finishSteps(spec);
    if (this.aptPackages.length > 0) spec.apt = { packages: this.aptPackages };

    const name = this.opts.name ?? specName(family) ?? specName(this.fileName());
    spec.name = name ?? 'image';
    spec.vendor = this.opts.vendor ?? spec.name;
    const first: string[] = [];
    if (!this.opts.name) {
      first.push(
        `name: "${spec.name}", from ${family && specName(family) ? `the snapshot name "${family}"` : `the template's file name`}${name ? '' : ' (nothing usable: a placeholder)'}; pass --name to choose another`,
      );
    }
    if (!this.opts.vendor) first.push(`vendor: "${spec.vendor}" is a placeholder (the name): pass --vendor with your company, it names /opt/<vendor>/ for first-login scripts`);
    this.notes.unshift(...first);
    this.noteSecrets();
    // Keys in the order people read a spec.
    const ordered: SpecObject = {
      name: spec.name,
      vendor: spec.vendor,
      droplet: spec.droplet,
      ...(spec.apt ? { apt: spec.apt } : {}),
      steps: spec.steps,
      ...(spec.env ? { env: spec.env } : {}),
      ...(spec.snapshot ? { snapshot: spec.snapshot } : {}),
    };
    return { spec: pruneEmpty(ordered), notes: this.notes, problems: this.problems };
  }

  // ---- variables --------------------------------------------------------------------------

  private setupVariables(t: Record<string, unknown>): void {
    let variables: Record<string, unknown> = {};
    if (t.variables !== undefined) {
      if (isObject(t.variables)) variables = t.variables;
      else this.problem(['variables'], '"variables" must be an object of name: default');
    }
    const sensitive = new Set<string>();
    const sv = t['sensitive-variables'];
    if (sv !== undefined) {
      if (Array.isArray(sv) && sv.every((v) => typeof v === 'string')) sv.forEach((v: string) => sensitive.add(v));
      else this.problem(['sensitive-variables'], '"sensitive-variables" must be a list of variable names');
    }
    for (const k of Object.keys(this.opts.vars ?? {})) {
      if (sensitive.has(k)) this.problem(['sensitive-variables'], `--var ${k}=…: "${k}" is sensitive, so its value is never written to the spec; it is read on the worker from ${workerEnvName(k)}`);
    }
    const dir = path.dirname(this.opts.templateFile);
    this.ctx = {
      variables,
      sensitive,
      overrides: this.opts.vars ?? {},
      env: this.opts.env ?? {},
      pwd: this.opts.root,
      templateDir: dir,
      buildName: this.builderName,
      buildType: 'digitalocean',
    };
  }

  /** Evaluates a template string; problems are recorded at `at`. Undefined when it failed. */
  private eval(value: unknown, at: JsonPath, what: string, fields?: ReadonlySet<string>): Segment[] | undefined {
    if (typeof value !== 'string') {
      this.problem(at, `${what} must be a string`);
      return undefined;
    }
    const r = evaluate(value, fields ? { ...this.ctx, fields } : this.ctx);
    for (const n of r.notes) if (!this.notes.includes(n)) this.notes.push(n);
    if (r.problems.length > 0) {
      r.problems.forEach((p) => this.problem(at, p));
      return undefined;
    }
    return r.segments;
  }

  /** A value that must be known at import time: no secret, no build-time function. */
  private evalText(value: unknown, at: JsonPath, what: string): string | undefined {
    const segs = this.eval(value, at, what);
    if (!segs) return undefined;
    const secret = segs.find((s) => s.kind === 'secret');
    if (secret) {
      this.problem(at, `${what} uses the sensitive variable "${secret.variable}": a secret cannot go into this field of the spec`);
      return undefined;
    }
    const dyn = segs.find((s) => s.kind === 'dynamic');
    if (dyn) {
      this.problem(at, `${what} uses ${dyn.raw}, which is only known when the image is built: the spec cannot express it here`);
      return undefined;
    }
    return textOf(segs);
  }

  // ---- builders ---------------------------------------------------------------------------

  /** Fills spec.droplet and spec.snapshot; returns the snapshot family name, if any. */
  private convertBuilders(builders: unknown, spec: SpecObject): string | undefined {
    if (!Array.isArray(builders) || builders.length === 0) {
      this.problem(['builders'], 'the template needs a "digitalocean" builder');
      return undefined;
    }
    let found: number | undefined;
    builders.forEach((b, i) => {
      const type = isObject(b) ? b.type : undefined;
      if (type !== 'digitalocean') {
        this.problem(['builders', i], `builder type "${String(type)}" cannot be converted: the tool builds DigitalOcean droplet snapshots only`);
      } else if (found !== undefined) {
        this.problem(['builders', i], `a second "digitalocean" builder: a spec describes one build; convert the other with its own template`);
      } else found = i;
    });
    if (found === undefined) return undefined;
    const b = builders[found] as Record<string, unknown>;
    const at = (k: string): JsonPath => ['builders', found!, k];
    if (typeof b.name === 'string') {
      this.builderName = b.name;
      this.ctx.buildName = b.name;
    }
    let family: string | undefined;
    const snapshot: NonNullable<SpecObject['snapshot']> = {};
    const dropped: string[] = [];
    for (const [k, v] of Object.entries(b)) {
      switch (k) {
        case 'type':
        case 'name':
          break;
        case 'image':
        case 'region':
        case 'size': {
          const s = this.evalText(v, at(k), k);
          if (s) spec.droplet[k] = s;
          break;
        }
        case 'snapshot_name':
          family = this.snapshotName(v, at(k), snapshot);
          break;
        case 'tags':
        case 'droplet_tags':
          spec.droplet.tags = [...(spec.droplet.tags ?? []), ...this.tagList(v, at(k), k, TAG)];
          break;
        case 'snapshot_tags':
          snapshot.tags = this.tagList(v, at(k), k, TAG);
          break;
        case 'snapshot_regions':
          snapshot.regions = this.tagList(v, at(k), k, /^[a-z0-9-]+$/);
          break;
        case 'ssh_username':
          if (v !== 'root') this.notes.push(`builders[${found}].ssh_username "${String(v)}": the tool logs in as root, so every step runs as root (uploads are owned by root)`);
          break;
        case 'communicator':
          if (v !== 'ssh') this.problem(at(k), `communicator "${String(v)}" cannot be converted: the tool reaches droplets over SSH`);
          break;
        case 'user_data':
        case 'user_data_file':
          this.problem(at(k), `${k}: cloud-init user data for the build droplet cannot be converted (the tool gives the build droplet its own): move that work into a step, or into firstBoot if each new droplet needs it`);
          break;
        default:
          if (k in DROPPED_BUILDER_KEYS) dropped.push(`${k} (${DROPPED_BUILDER_KEYS[k]})`);
          else if (k.startsWith('ssh_') || k.startsWith('temporary_key')) dropped.push(`${k} (the worker manages SSH itself)`);
          else this.problem(at(k), `unknown digitalocean builder option "${k}": it cannot be converted`);
      }
    }
    if (dropped.length > 0) this.notes.push(`builders[${found}]: dropped ${dropped.join(', ')}`);
    for (const k of ['image', 'region', 'size'] as const) {
      if (b[k] === undefined) {
        if (k === 'image') this.problem(['builders', found], 'the digitalocean builder has no "image" (the base image slug, e.g. ubuntu-24-04-x64)');
        else this.notes.push(`builders[${found}] has no "${k}": the spec's default applies (${k === 'region' ? 'nyc3' : 's-1vcpu-1gb'})`);
      }
    }
    if (Object.keys(snapshot).length > 0) spec.snapshot = snapshot;
    return family;
  }

  private snapshotName(v: unknown, at: JsonPath, snapshot: NonNullable<SpecObject['snapshot']>): string | undefined {
    const segs = this.eval(v, at, 'snapshot_name');
    if (!segs) return undefined;
    if (segs.some((s) => s.kind === 'secret')) {
      this.problem(at, 'snapshot_name uses a sensitive variable: a secret cannot be part of a snapshot name');
      return undefined;
    }
    const firstDyn = segs.findIndex((s) => s.kind === 'dynamic');
    if (firstDyn >= 0) {
      const dyn = segs[firstDyn] as Extract<Segment, { kind: 'dynamic' }>;
      const family = textOf(segs.slice(0, firstDyn)).replace(/[-_. ]+$/, '');
      this.notes.push(
        `snapshot_name "${segs.map((x) => (x.kind === 'text' ? x.text : x.kind === 'dynamic' ? x.raw : '')).join('')}" contains ${dyn.raw}: dropped, the tool names each snapshot <name>-<UTC timestamp>`,
      );
      return family || undefined;
    }
    const name = textOf(segs);
    if (!/^[A-Za-z0-9._-]+$/.test(name)) {
      this.problem(at, `snapshot_name "${name}" must use letters, digits, ".", "_" and "-" only`);
      return undefined;
    }
    snapshot.name = name;
    this.notes.push(`snapshot_name "${name}" has no timestamp: every build makes a snapshot of that same name (remove snapshot.name to get <name>-<UTC timestamp>)`);
    return name;
  }

  private tagList(v: unknown, at: JsonPath, what: string, re: RegExp): string[] {
    if (!Array.isArray(v)) {
      this.problem(at, `${what} must be a list of strings`);
      return [];
    }
    const out: string[] = [];
    v.forEach((item, i) => {
      const s = this.evalText(item, [...at, i], `${what}[${i}]`);
      if (s === undefined) return;
      if (!re.test(s)) this.problem([...at, i], `${what}[${i}] "${s}" is not allowed in a spec (${re === TAG ? 'tags use letters, digits, "_", ":" and "-"' : 'a region slug, e.g. sfo3'})`);
      else out.push(s);
    });
    return out;
  }

  // ---- provisioners -----------------------------------------------------------------------

  private convertProvisioners(provisioners: unknown): void {
    if (provisioners === undefined) return;
    if (!Array.isArray(provisioners)) {
      this.problem(['provisioners'], '"provisioners" must be a list');
      return;
    }
    provisioners.forEach((raw, i) => {
      const at: JsonPath = ['provisioners', i];
      if (!isObject(raw) || typeof raw.type !== 'string') {
        this.gap(at, 'a provisioner must be an object with a "type"');
        return;
      }
      let p = raw;
      if (!this.appliesToBuilder(p, i)) return;
      const before = this.problems.length;
      const override = isObject(p.override) ? p.override[this.builderName] : undefined;
      if (isObject(override)) {
        p = { ...p, ...override };
        this.notes.push(`provisioners[${i}].override.${this.builderName}: merged into the provisioner`);
      }
      switch (p.type) {
        case 'file':
          this.fileProvisioner(p, at);
          break;
        case 'shell':
          this.shellProvisioner(p, at);
          break;
        case 'breakpoint':
          this.gap(at, 'provisioner type "breakpoint" cannot be converted: to stop and look at the droplet, build with `client start-build --base` (it stops before cleanup and keeps the droplet)');
          break;
        case 'shell-local':
          this.gap(at, 'provisioner type "shell-local" runs on the machine running Packer, which the tool does not do: run it yourself before the build');
          break;
        case 'ansible':
        case 'ansible-local':
          this.gap(at, `provisioner type "${p.type}" cannot be converted: run the playbook from a shell script step (e.g. install ansible and run ansible-playbook against localhost in a { script: … } step)`);
          break;
        default:
          this.gap(at, `provisioner type "${p.type}" cannot be converted: only "file" and "shell" provisioners can; rewrite it as a shell script step`);
      }
      // Whatever went wrong inside this provisioner is a gap at its place in the steps.
      for (const problem of this.problems.splice(before)) this.pending.push({ kind: 'gap', problem });
    });
  }

  /** only/except name builders: ours is kept (the filter dropped with a note), others' skipped. */
  private appliesToBuilder(p: Record<string, unknown>, i: number): boolean {
    for (const key of ['only', 'except'] as const) {
      const list = p[key];
      if (list === undefined) continue;
      const names = Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
      const listed = names.includes(this.builderName);
      const skip = key === 'only' ? !listed : listed;
      this.notes.push(
        skip
          ? `provisioners[${i}] skipped: its "${key}" (${names.join(', ')}) ${key === 'only' ? 'does not name' : 'names'} the ${this.builderName} builder`
          : `provisioners[${i}].${key} dropped: it ${key === 'only' ? 'names' : 'does not name'} the ${this.builderName} builder`,
      );
      if (skip) return false;
    }
    return true;
  }

  private fileProvisioner(p: Record<string, unknown>, at: JsonPath): void {
    for (const k of Object.keys(p)) {
      if (!FILE_KEYS.has(k)) return this.gap([...at, k], `unknown file provisioner option "${k}": it cannot be converted`);
    }
    if (p.direction !== undefined && p.direction !== 'upload') {
      return this.gap([...at, 'direction'], `direction "${String(p.direction)}": downloading from the droplet cannot be converted`);
    }
    if (p.generated === true) return this.gap([...at, 'generated'], '"generated": a source made during the build cannot be converted');
    if (p.content !== undefined) return this.gap([...at, 'content'], '"content": inline file content cannot be converted: put it in a file next to the spec and use "source"');
    this.noteDropped(p, at, ['pause_before', 'pause_after', 'max_retries', 'timeout', 'name']);
    const sources: { value: unknown; at: JsonPath }[] = [];
    if (p.source !== undefined) sources.push({ value: p.source, at: [...at, 'source'] });
    if (Array.isArray(p.sources)) p.sources.forEach((s, j) => sources.push({ value: s, at: [...at, 'sources', j] }));
    if (sources.length === 0) return this.gap(at, 'a file provisioner needs "source" (or "sources")');
    if (p.destination === undefined) return this.gap(at, 'a file provisioner needs "destination"');
    let dest = this.evalText(p.destination, [...at, 'destination'], 'destination');
    if (dest === undefined) return;
    if (!dest.startsWith('/')) {
      const abs = path.posix.join('/root', dest) + (dest.endsWith('/') ? '/' : '');
      this.notes.push(`${formatPath([...at, 'destination'])} "${dest}" is relative (to the SSH user's home): written as ${abs}`);
      dest = abs;
    }
    if (sources.length > 1 && !dest.endsWith('/')) return this.gap([...at, 'destination'], 'with several sources the destination must be a folder ending in "/"');
    const uploads: Pending[] = [];
    for (const s of sources) {
      const src = this.evalText(s.value, s.at, 'source');
      if (src === undefined) return;
      const rel = this.specPath(src, s.at);
      if (rel === undefined) return;
      uploads.push({ kind: 'upload', src: rel, dest });
    }
    this.pending.push(...uploads);
  }

  private shellProvisioner(p: Record<string, unknown>, at: JsonPath): void {
    for (const k of Object.keys(p)) {
      if (!SHELL_KEYS.has(k)) return this.gap([...at, k], `unknown shell provisioner option "${k}": it cannot be converted`);
    }
    const kinds = ['inline', 'script', 'scripts'].filter((k) => p[k] !== undefined);
    if (kinds.length !== 1) return this.gap(at, 'a shell provisioner needs exactly one of "inline", "script" or "scripts"');

    // Built-ins first: a provisioner that only waits for cloud-init, cleans up or checks goes entirely.
    if (p.inline !== undefined) {
      if (!Array.isArray(p.inline) || !p.inline.every((l) => typeof l === 'string')) return this.gap([...at, 'inline'], '"inline" must be a list of strings');
      const inline = p.inline as string[];
      const waitless = stripCloudInitWait(inline.join('\n'));
      if (waitless !== undefined && waitless.trim() === '') {
        this.notes.push(`${formatPath(at)} waits for cloud-init: dropped, the tool waits for cloud-init itself when it creates the droplet`);
        return;
      }
      return this.inlineShell(p, at, inline, waitless);
    }
    const scripts: { value: unknown; at: JsonPath }[] =
      p.script !== undefined
        ? [{ value: p.script, at: [...at, 'script'] }]
        : Array.isArray(p.scripts)
          ? p.scripts.map((s, j) => ({ value: s, at: [...at, 'scripts', j] }))
          : [];
    if (scripts.length === 0) return this.gap([...at, 'scripts'], '"scripts" must be a non-empty list of paths');
    const kept: { rel: string; at: JsonPath }[] = [];
    for (const s of scripts) {
      const file = this.evalText(s.value, s.at, 'script');
      if (file === undefined) return;
      const abs = path.resolve(this.opts.root, file);
      const builtIn = recogniseScript(abs, this.opts.readFile);
      if (builtIn) {
        this.notes.push(`${formatPath(s.at)} (${path.basename(file)}) ${BUILT_IN_NOTE[builtIn]}`);
        if (builtIn === 'cleanup' && this.cleanupAt === undefined) this.cleanupAt = this.pending.length + kept.length;
        continue;
      }
      const rel = this.specPath(file, s.at);
      if (rel === undefined) return;
      kept.push({ rel, at: s.at });
    }
    if (kept.length === 0) return;
    if (p.valid_exit_codes !== undefined && !isOnlyZero(p.valid_exit_codes)) {
      return this.gap([...at, 'valid_exit_codes'], 'valid_exit_codes on script files cannot be converted: make the script exit 0 on success, or call it from an inline command');
    }
    if (p.expect_disconnect === true) return this.gap([...at, 'expect_disconnect'], EXPECT_DISCONNECT);
    if (p.inline_shebang !== undefined) this.notes.push(`${formatPath([...at, 'inline_shebang'])} dropped: it only applies to inline commands`);
    if (!this.executeCommand(p, at)) return;
    this.noteDropped(p, at, SHELL_DROPPED);
    const env = this.shellEnv(p, at, true);
    if (env === undefined) return;
    for (const k of kept) this.pending.push({ kind: 'script', path: k.rel, env });
  }

  private inlineShell(p: Record<string, unknown>, at: JsonPath, inline: string[], waitless: string | undefined): void {
    let lines = inline;
    if (waitless !== undefined && waitless !== inline.join('\n')) {
      this.notes.push(`${formatPath(at)}: its cloud-init wait dropped (the tool waits for cloud-init itself); the other commands kept`);
      lines = waitless.split('\n');
    }
    if (p.expect_disconnect === true) return this.gap([...at, 'expect_disconnect'], EXPECT_DISCONNECT);
    let setFlags = 'e';
    if (p.inline_shebang !== undefined) {
      const sb = parseShebang(p.inline_shebang);
      if (sb === undefined) return this.gap([...at, 'inline_shebang'], `inline_shebang "${String(p.inline_shebang)}" cannot be converted: inline commands run with bash (a shebang of sh or bash, with -e/-x, is fine)`);
      setFlags = sb;
    }
    let validExit: number[] | undefined;
    if (p.valid_exit_codes !== undefined && !isOnlyZero(p.valid_exit_codes)) {
      if (!Array.isArray(p.valid_exit_codes) || !p.valid_exit_codes.every((c) => Number.isInteger(c))) {
        return this.gap([...at, 'valid_exit_codes'], 'valid_exit_codes must be a list of integers');
      }
      validExit = p.valid_exit_codes as number[];
    }
    if (!this.executeCommand(p, at)) return;
    const segs: Segment[] = [];
    for (const [j, line] of lines.entries()) {
      const s = this.eval(line, [...at, 'inline', Math.min(j, inline.length - 1)], `inline[${j}]`);
      if (!s) return;
      const dyn = s.find((x) => x.kind === 'dynamic');
      if (dyn) return this.gap([...at, 'inline', j], `${dyn.raw} in a command is only known when the image is built: use $(date +%s) or similar in the command instead`);
      if (j > 0) segs.push({ kind: 'text', text: '\n' });
      segs.push(...s);
    }
    const placed = placeSecrets(segs);
    if ('error' in placed) return this.gap([...at, 'inline'], placed.error);
    for (const v of placed.secrets) this.usedSecrets.add(v);

    // apt-get lines may map to the spec's apt packages — only when nothing comes before them,
    // since the tool installs packages before every step.
    if (validExit === undefined && placed.secrets.length === 0 && this.pending.length === 0) {
      const pkgs = aptOnly(placed.text);
      if (pkgs) {
        this.aptPackages.push(...pkgs);
        this.notes.push(
          `${formatPath(at)}: apt-get update/upgrade/install mapped to the built-in install step (apt.packages${pkgs.length > 0 ? `: ${pkgs.join(' ')}` : ' stays empty'}; it also does a full upgrade)`,
        );
        return;
      }
    }
    this.noteDropped(p, at, SHELL_DROPPED);
    const env = this.shellEnv(p, at, false);
    if (env === undefined) return;
    for (const v of placed.secrets) {
      const name = workerEnvName(v);
      const prev = env.vars.get(name);
      if (prev !== undefined && !(typeof prev === 'object' && prev.fromWorker === name)) {
        return this.gap(at, `the sensitive variable "${v}" becomes $${name} in the command, but environment_vars already sets ${name}`);
      }
      env.vars.set(name, { fromWorker: name });
    }
    this.pending.push({ kind: 'run', body: placed.text, setFlags, ...(validExit ? { validExit } : {}), env });
  }

  /** execute_command: fine when it only runs the script (maybe via sudo/sh) with its variables. */
  private executeCommand(p: Record<string, unknown>, at: JsonPath): boolean {
    if (p.execute_command === undefined) return true;
    const segs = this.eval(p.execute_command, [...at, 'execute_command'], 'execute_command', new Set(['Path', 'Vars', 'EnvVarFile']));
    if (!segs) return false;
    const cmd = textOf(segs);
    if (!isPlainText(segs) || !isPlainExecute(cmd)) {
      this.problem([...at, 'execute_command'], `execute_command "${String(p.execute_command)}" cannot be converted: the tool runs each script directly as root with the spec's env`);
      return false;
    }
    this.notes.push(`${formatPath([...at, 'execute_command'])} dropped: the tool runs each script directly as root with the spec's env`);
    return true;
  }

  /** environment_vars ("K=V") and env ({K: V}) of one shell provisioner. */
  private shellEnv(p: Record<string, unknown>, at: JsonPath, hasScripts: boolean): ProvEnv | undefined {
    const env: ProvEnv = { index: at[1] as number, vars: new Map(), hasScripts };
    const entries: { key: string; value: unknown; at: JsonPath }[] = [];
    if (p.environment_vars !== undefined) {
      if (!Array.isArray(p.environment_vars)) {
        this.problem([...at, 'environment_vars'], 'environment_vars must be a list of "NAME=value"');
        return undefined;
      }
      for (const [j, e] of p.environment_vars.entries()) {
        const eq = typeof e === 'string' ? e.indexOf('=') : -1;
        if (typeof e !== 'string' || eq < 1) {
          this.problem([...at, 'environment_vars', j], 'must be "NAME=value"');
          return undefined;
        }
        entries.push({ key: e.slice(0, eq), value: e.slice(eq + 1), at: [...at, 'environment_vars', j] });
      }
    }
    if (p.env !== undefined) {
      if (!isObject(p.env)) {
        this.problem([...at, 'env'], 'env must be an object of NAME: value');
        return undefined;
      }
      for (const [k, v] of Object.entries(p.env)) entries.push({ key: k, value: v, at: [...at, 'env', k] });
    }
    for (const e of entries) {
      if (!ENV_NAME.test(e.key)) {
        this.problem(e.at, `"${e.key}" is not an environment variable name`);
        return undefined;
      }
      const segs = this.eval(e.value, e.at, e.key);
      if (!segs) return undefined;
      const secrets = segs.filter((s) => s.kind === 'secret');
      const dyn = segs.find((s) => s.kind === 'dynamic');
      if (dyn) {
        this.problem(e.at, `${e.key} uses ${dyn.raw}, which is only known when the image is built: set it in the script instead (e.g. $(date +%s))`);
        return undefined;
      }
      if (secrets.length > 0) {
        if (segs.length !== 1) {
          this.problem(e.at, `${e.key} mixes the sensitive variable "${secrets[0]!.variable}" with other text: the spec can only read a whole secret from the worker; set ${e.key} to {{user \`${secrets[0]!.variable}\`}} alone and build the rest in the script`);
          return undefined;
        }
        const v = (secrets[0] as Extract<Segment, { kind: 'secret' }>).variable;
        this.usedSecrets.add(v);
        env.vars.set(e.key, { fromWorker: workerEnvName(v) });
      } else env.vars.set(e.key, textOf(segs));
    }
    this.provEnvs.push(env);
    return env;
  }

  private convertPostProcessors(pp: unknown): void {
    if (pp === undefined) return;
    const list = Array.isArray(pp) ? pp : [pp];
    list.forEach((item, i) => {
      const items = Array.isArray(item) ? item : [item];
      items.forEach((x, j) => {
        const at: JsonPath = Array.isArray(item) ? ['post-processors', i, j] : ['post-processors', i];
        const type = isObject(x) ? x.type : typeof x === 'string' ? x : undefined;
        if (type === 'manifest') this.notes.push(`${formatPath(at)} (manifest) dropped: every build records its own manifest`);
        else this.problem(at, `post-processor type "${String(type)}" cannot be converted: the tool's build ends with the snapshot`);
      });
    });
  }

  // ---- steps and env ----------------------------------------------------------------------

  /** Decides the shared env (conflicting values go into inline commands) and emits the steps. */
  private finishSteps(spec: SpecObject): StepEntry[] {
    const values = new Map<string, Map<string, EnvEntry>>();
    for (const pe of this.provEnvs) {
      for (const [k, v] of pe.vars) {
        const m = values.get(k) ?? new Map<string, EnvEntry>();
        m.set(JSON.stringify(v), v);
        values.set(k, m);
      }
    }
    const shared: Record<string, EnvEntry> = {};
    const conflicting = new Set<string>();
    for (const [k, m] of values) {
      if (m.size === 1) shared[k] = [...m.values()][0]!;
      else conflicting.add(k);
    }
    // A variable set differently by several provisioners: inline commands export their own value;
    // script files cannot get one, so their provisioner is a gap.
    const failed = new Map<number, Problem>();
    for (const k of conflicting) {
      for (const pe of this.provEnvs) {
        const v = pe.vars.get(k);
        if (v === undefined || failed.has(pe.index) || (!pe.hasScripts && typeof v === 'string')) continue;
        const others = this.provEnvs.filter((o) => o !== pe && o.vars.has(k)).map((o) => `provisioners[${o.index}]`);
        failed.set(pe.index, {
          path: ['provisioners', pe.index, 'environment_vars'],
          message: `${k} is set differently here and in ${others.join(', ')}: the spec's env is shared by all steps, and ${typeof v === 'string' ? 'a script file cannot get its own value' : 'a secret cannot be set per step'}; use one value, or rename the variable in one of the scripts`,
        });
      }
    }
    const steps: StepEntry[] = [];
    const gaps: Problem[] = [];
    const reported = new Set<number>();
    const scopeWidened = new Set<string>();
    const shellProvs = this.provEnvs.filter((pe) => !failed.has(pe.index));
    for (const k of Object.keys(shared)) if (shellProvs.some((pe) => !pe.vars.has(k))) scopeWidened.add(k);
    for (const x of this.pending) {
      if (x.kind === 'gap') {
        gaps.push({ ...x.problem, step: steps.length });
        continue;
      }
      if (x.kind !== 'upload' && x.env && failed.has(x.env.index)) {
        if (!reported.has(x.env.index)) gaps.push({ ...failed.get(x.env.index)!, step: steps.length });
        reported.add(x.env.index);
        continue;
      }
      if (x.kind === 'upload') steps.push({ upload: { src: x.src, dest: x.dest } });
      else if (x.kind === 'script') steps.push({ script: x.path });
      else {
        const exports = [...(x.env?.vars ?? [])].filter(([k]) => conflicting.has(k)).map(([k, v]) => `export ${k}=${shq(v as string)}`);
        steps.push({ run: inlineBody(x.body, x.setFlags, exports, x.validExit) });
      }
    }
    for (const g of gaps) this.problems.push(g);
    if (conflicting.size > 0) {
      const ok = [...conflicting].filter((k) => this.provEnvs.some((pe) => pe.vars.has(k) && !pe.hasScripts));
      if (ok.length > 0) this.notes.push(`env ${ok.join(', ')}: set to different values by different provisioners, so each inline command exports its own`);
    }
    if (scopeWidened.size > 0) {
      this.notes.push(`env: Packer sets environment_vars per provisioner; the spec's env applies to every step, so ${[...scopeWidened].join(', ')} ${scopeWidened.size > 1 ? 'are' : 'is'} now also set for steps that did not have ${scopeWidened.size > 1 ? 'them' : 'it'}`);
    }
    if (Object.keys(shared).length > 0) spec.env = shared;
    if (this.cleanupAt !== undefined && this.pending.slice(this.cleanupAt).some((x) => x.kind !== 'gap')) {
      this.notes.push('cleanup: the template cleaned up before later provisioners; the tool cleans up after every step (cleanup removes the login key, so it must come last)');
    }
    return steps;
  }

  private noteSecrets(): void {
    for (const v of this.ctx.sensitive) {
      if (this.usedSecrets.has(v)) {
        this.notes.push(`sensitive variable "${v}": read on the worker from ${workerEnvName(v)} ({ fromWorker: ${workerEnvName(v)} }): set it where the worker runs`);
      } else {
        this.notes.push(`sensitive variable "${v}": no provisioner uses it (only the builder, or nothing), so the spec does not read it`);
      }
    }
  }

  // ---- paths and problems -----------------------------------------------------------------

  /** A source path as the spec writes it: relative to the spec's folder, keeping a trailing "/". */
  private specPath(p: string, at: JsonPath): string | undefined {
    const abs = path.resolve(this.opts.root, p);
    let rel = path.relative(this.opts.outDir, abs).split(path.sep).join('/');
    if (rel === '..' || rel.startsWith('../') || path.isAbsolute(rel)) {
      const hint = isInside(this.opts.root, abs) ? ` (e.g. --out ${path.join(this.opts.root, 'build.yaml')})` : '';
      this.problem(at, `${p} lies outside the output spec's folder ${this.opts.outDir}: a spec can only use files in its own folder, so write --out into a folder that contains the template's files${hint}`);
      return undefined;
    }
    if (rel === '') rel = '.';
    if (/[/\\]$/.test(p) && !rel.endsWith('/')) rel += '/';
    return rel;
  }

  private fileName(): string {
    const base = path.basename(this.opts.templateFile).replace(/\.(pkr\.)?json$/i, '');
    if (['template', 'marketplace-image', 'packer', 'image', 'build', 'main'].includes(base.toLowerCase())) {
      return path.basename(path.dirname(this.opts.templateFile));
    }
    return base;
  }

  private problem(at: JsonPath, message: string): void {
    this.problems.push({ path: at, message });
  }

  /** A provisioner that cannot be converted: a problem, and a gap in the steps. */
  private gap(at: JsonPath, message: string): void {
    this.pending.push({ kind: 'gap', problem: { path: at, message } });
  }

  private noteDropped(p: Record<string, unknown>, at: JsonPath, keys: string[]): void {
    const present = keys.filter((k) => p[k] !== undefined);
    if (present.length > 0) this.notes.push(`${formatPath(at)}: dropped ${present.join(', ')} (the workflow has its own timeouts, retries and working files)`);
  }
}

// ---- recognising what the tool does itself ----------------------------------------------------

type BuiltIn = 'cloud-init' | 'cleanup' | 'image-check';

const BUILT_IN_NOTE: Record<BuiltIn, string> = {
  'cloud-init': 'waits for cloud-init: dropped, the tool waits for cloud-init itself when it creates the droplet',
  cleanup: "is DigitalOcean's cleanup: dropped, the tool runs its own cleanup step after every other step",
  'image-check': "is DigitalOcean's image check: dropped, the tool runs its own validation after cleanup",
};

const EXPECT_DISCONNECT = 'expect_disconnect (a reboot or a dropped connection during the step) cannot be converted: each step must finish over its SSH connection';

const CLOUD_INIT_WAIT = /^\s*(sudo\s+)?(\/usr\/bin\/)?cloud-init\s+status\s+(--wait|-w)(\s+(--long|-l))?\s*(>\s*\/dev\/null\s*(2>&1)?\s*)?(\|\|\s*(true|:|\[ \$\? -eq 2 \]|exit 0)\s*)?;?\s*$/;
const BOOT_FINISHED_LOOP =
  /(while\s+\[\s+!\s+-f\s+\/var\/lib\/cloud\/instance\/boot-finished\s+\]|until\s+\[\s+-f\s+\/var\/lib\/cloud\/instance\/boot-finished\s+\])\s*;?\s*do\b([\s\S]*?)\bdone\s*;?/g;

/** The commands without their cloud-init waits; undefined when there is no wait to strip. */
export function stripCloudInitWait(script: string): string | undefined {
  let found = false;
  let text = script.replace(BOOT_FINISHED_LOOP, (all: string, _head: string, body: string) => {
    const onlyWaiting = body.split(/[;\n]/).every((c) => /^\s*(sleep\s+\d+(\.\d+)?|echo\b[^;|&`$]*|printf\b[^;|&`$]*|)\s*$/.test(c));
    if (!onlyWaiting) return all;
    found = true;
    return '';
  });
  const lines = text.split('\n').filter((l) => {
    if (CLOUD_INIT_WAIT.test(l)) {
      found = true;
      return false;
    }
    return true;
  });
  if (!found) return undefined;
  text = lines.join('\n');
  // A wait often comes with "waiting for cloud-init" messages: they go with it.
  const rest = text.split('\n').filter((l) => !/^\s*(echo|printf)\b.*cloud[- ]?init.*$/i.test(l));
  return rest.every((l) => l.trim() === '') ? '' : text.replace(/^\n+|\n+$/g, '');
}

function recogniseScript(abs: string, readFile?: (abs: string) => string | undefined): BuiltIn | undefined {
  const base = path.basename(abs).toLowerCase();
  if (base === '90-cleanup.sh' || base.includes('cleanup')) return 'cleanup';
  if (base === '99-img-check.sh' || /img[-_]?check/.test(base)) return 'image-check';
  const text = readFile?.(abs);
  if (text === undefined) return undefined;
  if (/Marketplace Image Validation Tool/.test(text) && /PASSED/.test(text) && /FAIL/.test(text)) return 'image-check';
  const body = text
    .split('\n')
    .filter((l) => !/^\s*(#.*)?$/.test(l) && !/^\s*set\s+-[a-z]+\s*$/.test(l))
    .join('\n');
  if (body && stripCloudInitWait(body)?.trim() === '') return 'cloud-init';
  return undefined;
}

/** Packages from an inline script made only of simple apt-get update/upgrade/install/clean lines. */
export function aptOnly(script: string): string[] | undefined {
  const pkgs: string[] = [];
  for (const line of script.split('\n')) {
    if (line.trim() === '') continue;
    const words = shellWords(line);
    if (!words) return undefined;
    if (words[0] === 'sudo') words.shift();
    const env = words[0]?.startsWith('DEBIAN_FRONTEND=') ? words.shift() : undefined;
    if (env !== undefined && env !== 'DEBIAN_FRONTEND=noninteractive') return undefined;
    if (words[0] !== 'apt-get' && words[0] !== 'apt') return undefined;
    let verb: string | undefined;
    const args: string[] = [];
    for (let i = 1; i < words.length; i++) {
      const w = words[i]!;
      if (/^-[yq]+$/.test(w) || ['--yes', '--assume-yes', '--quiet'].includes(w)) continue;
      if (w === '-o') {
        const opt = words[++i];
        if (opt !== 'Dpkg::Options::=--force-confdef' && opt !== 'Dpkg::Options::=--force-confold') return undefined;
        continue;
      }
      if (w.startsWith('-')) return undefined;
      if (verb === undefined) verb = w;
      else args.push(w);
    }
    if (verb === 'update' || verb === 'upgrade' || verb === 'full-upgrade' || verb === 'dist-upgrade' || verb === 'clean' || verb === 'autoclean') {
      if (args.length > 0) return undefined;
    } else if (verb === 'install') {
      if (args.length === 0 || !args.every((a) => APT_PACKAGE.test(a))) return undefined;
      pkgs.push(...args);
    } else return undefined;
  }
  return pkgs;
}

/** Splits a simple command line into words; undefined for anything beyond words and quotes. */
function shellWords(line: string): string[] | undefined {
  if (/[;&|<>`$(){}*?[\]#\\]/.test(line.replace(/'[^']*'/g, "''"))) return undefined;
  const words: string[] = [];
  const re = /\s*(?:'([^']*)'|"([^"]*)"|([^\s'"]+))/gy;
  let cur = '';
  let inWord = false;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(line)) !== null) {
    if (m[0] === '') break;
    const gapBefore = /^\s/.test(m[0]);
    if (gapBefore && inWord) {
      words.push(cur);
      cur = '';
    }
    cur += m[1] ?? m[2] ?? m[3] ?? '';
    inWord = true;
    last = re.lastIndex;
  }
  if (line.slice(last).trim() !== '') return undefined;
  if (inWord) words.push(cur);
  return words;
}

// ---- inline commands ----------------------------------------------------------------------

/**
 * Puts sensitive variables into a command as references to their env var: "${NAME}" outside
 * quotes, ${NAME} inside double quotes. Inside single quotes, a heredoc, backticks or a comment a
 * reference would not expand (or would change meaning): that is an error.
 */
export function placeSecrets(segs: Segment[]): { text: string; secrets: string[] } | { error: string } {
  type State = 'normal' | 'single' | 'double' | 'comment' | 'backtick';
  const stack: State[] = ['normal'];
  let text = '';
  let heredoc = false;
  const secrets: string[] = [];
  const state = (): State => stack[stack.length - 1]!;
  for (const seg of segs) {
    if (seg.kind === 'secret') {
      const name = workerEnvName(seg.variable);
      const s = state();
      if (heredoc) return { error: `the sensitive variable "${seg.variable}" is used after a heredoc (<<): the importer cannot tell whether a reference to $${name} would expand there; pass it through environment_vars instead` };
      if (s === 'normal') text += `"\${${name}}"`;
      else if (s === 'double') text += `\${${name}}`;
      else {
        const where = s === 'single' ? 'single quotes' : s === 'comment' ? 'a comment' : 'backticks';
        return { error: `the sensitive variable "${seg.variable}" is used inside ${where}, where a reference to $${name} would not be expanded safely: move it out of the ${where} (e.g. "...$${name}...") or pass it through environment_vars` };
      }
      if (!secrets.includes(seg.variable)) secrets.push(seg.variable);
      continue;
    }
    if (seg.kind === 'dynamic') return { error: `${seg.raw} is only known when the image is built` };
    const t = seg.text;
    for (let i = 0; i < t.length; i++) {
      const c = t[i]!;
      const s = state();
      text += c;
      if (s === 'comment') {
        if (c === '\n') stack.pop();
      } else if (s === 'single') {
        if (c === "'") stack.pop();
      } else if (s === 'double') {
        if (c === '\\') text += t[++i] ?? '';
        else if (c === '"') stack.pop();
        else if (c === '$' && t[i + 1] === '(') {
          text += t[++i];
          stack.push('normal');
        } else if (c === '`') stack.push('backtick');
      } else if (s === 'backtick') {
        if (c === '`') stack.pop();
      } else {
        if (c === '\\') text += t[++i] ?? '';
        else if (c === "'") stack.push('single');
        else if (c === '"') stack.push('double');
        else if (c === '`') stack.push('backtick');
        else if (c === '#' && (text.length < 2 || /[\s;|&(]/.test(text[text.length - 2]!))) stack.push('comment');
        else if (c === '$' && t[i + 1] === '(') {
          text += t[++i];
          stack.push('normal');
        } else if (c === ')' && stack.length > 1) stack.pop();
        else if (c === '<' && t[i + 1] === '<' && t[i + 2] !== '<') heredoc = true;
      }
    }
  }
  return { text, secrets };
}

/** The run entry: `set -e` as Packer's "/bin/sh -e" shebang, exports, and valid exit codes. */
function inlineBody(body: string, setFlags: string, exports: string[], validExit?: number[]): string {
  const head = [...exports, ...(setFlags ? [`set -${setFlags}`] : [])];
  if (!validExit) return [...head, body].join('\n');
  const ok = [...new Set(validExit)].join('|');
  const inner = [...(setFlags ? [`set -${setFlags}`] : []), body].join('\n');
  let delim = 'PACKER_INLINE';
  while (inner.split('\n').includes(delim)) delim += '_';
  // The commands run as a child bash: stdin stays /dev/null, and exit codes are mapped as in Packer.
  return [
    ...exports,
    `bash -c "$(cat <<'${delim}'`,
    inner,
    delim,
    ')"',
    'rc=$?',
    `case $rc in ${ok}) exit 0 ;; esac`,
    'if [ "$rc" -eq 0 ]; then exit 1; fi',
    'exit "$rc"',
  ].join('\n');
}

function parseShebang(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(?:\/usr)?\/bin\/(?:env\s+)?(sh|bash|dash)((?:\s+-[a-z]+)*)\s*$/.exec(v.trim().replace(/^#!/, ''));
  if (!m) return undefined;
  const flags = (m[2] ?? '').replace(/[\s-]/g, '');
  return [...new Set(flags.split(''))].filter((f) => f === 'e' || f === 'x' || f === 'u').join('');
}

function isPlainExecute(cmd: string): boolean {
  let c = cmd.replace(/\{\{\s*\.(\w+)\s*\}\}/g, '{{.$1}}').trim();
  c = c.replace(/^chmod\s+(\+x|[0-7]{3,4})\s+['"]?\{\{\.Path\}\}['"]?\s*(;|&&)\s*/, '');
  c = c.replace(/^echo\s+('[^']*'|"[^"]*"|\S+)\s*\|\s*/, '');
  c = c.replace(/^sudo(\s+-[A-Za-z]+)*\s+/, '');
  c = c.replace(/^(?:\/bin\/)?(?:ba)?sh\s+-c\s+(['"])(.*)\1$/, '$2').trim();
  c = c.replace(/^env\s+/, '');
  c = c.replace(/\{\{\.Vars\}\}\s*/, '');
  c = c.replace(/^(source|\.)\s+['"]?\{\{\.EnvVarFile\}\}['"]?\s*(;|&&)\s*/, '');
  c = c.replace(/^(?:\/usr)?(?:\/bin\/)?(?:ba)?sh(\s+-[ex]+)?\s+/, '');
  return /^['"]?\{\{\.Path\}\}['"]?$/.test(c);
}

function isOnlyZero(v: unknown): boolean {
  return Array.isArray(v) && v.length === 1 && v[0] === 0;
}

function shq(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isInside(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** A valid spec name from free text: "Lemp 20.04 snapshot" → "lemp-20-04-snapshot". */
export function specName(s: string | undefined): string | undefined {
  if (!s) return undefined;
  const n = s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return SPEC_NAME.test(n) ? n : undefined;
}

function pruneEmpty(spec: SpecObject): SpecObject {
  if (spec.droplet.tags?.length === 0) delete spec.droplet.tags;
  if (spec.snapshot) {
    if (spec.snapshot.tags?.length === 0) delete spec.snapshot.tags;
    if (spec.snapshot.regions?.length === 0) delete spec.snapshot.regions;
    if (Object.keys(spec.snapshot).length === 0) delete spec.snapshot;
  }
  return spec;
}

// ---- YAML output --------------------------------------------------------------------------------

export interface RenderOptions {
  /** First comment line(s), e.g. where the spec came from. */
  header?: string[];
  /** Problems to write as comments at their gaps (--partial). */
  gaps?: { problem: Problem; where: string }[];
}

/** The spec as YAML through the `yaml` Document API, with a comment at each gap. */
export function renderSpec(spec: SpecObject, opts: RenderOptions = {}): string {
  const doc = new Document(spec);
  const header = [...(opts.header ?? [])];
  const stepsNode = doc.get('steps', true);
  const steps = isSeq(stepsNode) ? stepsNode : undefined;
  steps?.items.forEach((item) => {
    if (!isMap(item)) return;
    const upload = item.get('upload', true);
    if (isMap(upload)) upload.flow = true;
  });
  for (const key of ['droplet', 'snapshot'] as const) {
    const m = doc.get(key, true);
    if (!isMap(m)) continue;
    for (const list of ['tags', 'regions']) {
      const s = m.get(list, true);
      if (isSeq(s)) s.flow = true;
    }
  }
  const apt = doc.get('apt', true);
  if (isMap(apt)) {
    const pk = apt.get('packages', true);
    if (isSeq(pk)) pk.flow = true;
  }
  const gapsAtEnd: string[] = [];
  const topGaps: string[] = [];
  const byStep = new Map<number, string[]>();
  for (const g of opts.gaps ?? []) {
    const text = ` NOT CONVERTED: ${g.where}: ${g.problem.message}`;
    if (g.problem.step === undefined) topGaps.push(text);
    else if (steps && g.problem.step < steps.items.length) byStep.set(g.problem.step, [...(byStep.get(g.problem.step) ?? []), text]);
    else gapsAtEnd.push(text);
  }
  for (const [i, texts] of byStep) {
    const node = steps!.items[i] as YamlNode;
    node.commentBefore = [node.commentBefore, ...texts].filter(Boolean).join('\n');
  }
  if (gapsAtEnd.length > 0) {
    if (steps && steps.items.length > 0) steps.comment = [steps.comment, ...gapsAtEnd].filter(Boolean).join('\n');
    else {
      const pair = isMap(doc.contents) ? (doc.contents as YAMLMap).items.find((p) => isScalar(p.key) && p.key.value === 'steps') : undefined;
      if (pair && isScalar(pair.key)) pair.key.commentBefore = gapsAtEnd.join('\n');
      else topGaps.push(...gapsAtEnd);
    }
  }
  if (header.length > 0 || topGaps.length > 0) doc.commentBefore = [...header.map((h) => ` ${h}`), ...topGaps].join('\n');
  return doc.toString({ lineWidth: 0 });
}
