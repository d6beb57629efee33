/**
 * Provisioners → the spec's ordered steps: "file" becomes uploads, "shell" becomes scripts and
 * inline commands (with their environment), "ansible" and "ansible-local" ansible steps
 * (ansible.ts), and what the tool does itself is dropped with a note.
 */
import * as path from 'node:path';
import { isPlainText, textOf, workerEnvName } from '../template-functions';
import type { Segment } from '../template-functions';
import { formatPath } from '../positions';
import type { JsonPath } from '../positions';
import { isObject, isStringLike } from '../model';
import type { BlockModel } from '../model';
import { BUILT_IN_NOTE, EXPECT_DISCONNECT, aptOnly, recogniseScript, stripCloudInitWait } from './builtins';
import { isOnlyZero, parseExecute, parseShebang, placeSecrets } from './commands';
import { unixUser } from '../../contract/plan-schema';
import { MapState, splitAssignment } from './state';
import { ansibleProvisioner } from './ansible';
import type { Pending, ProvEnv } from './state';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const COMMON_KEYS = [
  'type',
  'pause_before',
  'pause_after',
  'max_retries',
  'timeout',
  'only',
  'except',
  'override',
  'name',
];
const SHELL_KEYS = new Set([
  ...COMMON_KEYS,
  ...[
    'inline',
    'script',
    'scripts',
    'environment_vars',
    'env',
    'execute_command',
    'inline_shebang',
    'valid_exit_codes',
  ],
  ...['expect_disconnect', 'remote_folder', 'remote_file', 'remote_path', 'skip_clean', 'binary', 'env_var_format'],
  ...['use_env_var_file', 'start_retry_timeout'],
]);
const SHELL_DROPPED = [
  ...['remote_folder', 'remote_file', 'remote_path', 'skip_clean', 'binary', 'env_var_format', 'use_env_var_file'],
  ...['start_retry_timeout', 'pause_before', 'pause_after', 'max_retries', 'timeout'],
];
const FILE_KEYS = new Set([...COMMON_KEYS, 'source', 'sources', 'destination', 'direction', 'generated', 'content']);

export function mapProvisioners(st: MapState, provisioners: BlockModel[]): void {
  for (const prov of provisioners) {
    const at = prov.at;
    const before = st.problems.length;
    const resolved = st.resolveObject(prov.raw, at);
    if (resolved) mapProvisioner(st, { ...prov, raw: resolved });
    // Whatever went wrong inside this provisioner is a gap at its place in the steps.
    for (const problem of st.problems.splice(before)) st.pending.push({ kind: 'gap', problem });
  }
}

function mapProvisioner(st: MapState, prov: BlockModel): void {
  const at = prov.at;
  let p = prov.raw;
  if (!appliesToSources(st, p, at)) return;
  const refs = st.model.sources.map((s) => s.ref);
  const key = isObject(p.override) ? refs.find((r) => isObject((p.override as Record<string, unknown>)[r])) : undefined;
  if (key !== undefined) {
    p = { ...p, ...((p.override as Record<string, unknown>)[key] as Record<string, unknown>) };
    st.notes.push(`${formatPath(at)}.override.${key}: merged into the provisioner`);
  }
  switch (prov.type) {
    case '':
      return st.gap(at, 'a provisioner must be an object with a "type"');
    case 'file':
      return fileProvisioner(st, p, at);
    case 'shell':
      return shellProvisioner(st, p, at);
    case 'breakpoint':
      return st.gap(
        at,
        'provisioner type "breakpoint" cannot be converted: to stop and look at the droplet, build with `client start-build --base` (it stops before cleanup and keeps the droplet)',
      );
    case 'shell-local':
      return st.gap(
        at,
        'provisioner type "shell-local" runs on the machine running Packer, which the tool does not do: run it yourself before the build',
      );
    case 'ansible':
    case 'ansible-local':
      return ansibleProvisioner(st, prov.type, p, at);
    default:
      return st.gap(
        at,
        `provisioner type "${prov.type}" cannot be converted: only "file", "shell", "ansible" and "ansible-local" provisioners can; rewrite it as a shell script step`,
      );
  }
}

/** only/except name sources: kept when they name ours (the filter dropped with a note), else skipped. */
function appliesToSources(st: MapState, p: Record<string, unknown>, at: JsonPath): boolean {
  const refs = st.model.sources.map((s) => s.ref);
  const shown =
    refs.length === 1
      ? `the ${refs[0]} ${st.model.format === 'json' ? 'builder' : 'source'}`
      : `the sources ${refs.join(', ')}`;
  for (const key of ['only', 'except'] as const) {
    const list = p[key];
    if (list === undefined) continue;
    const names = Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
    const listed = refs.map((r) => names.includes(r) || names.includes(`source.${r}`));
    if (listed.some((l) => l !== listed[0])) {
      st.gap(
        at,
        `its "${key}" (${names.join(', ')}) names only some of ${shown}: every variant of a matrix runs the same steps; convert the sources separately`,
      );
      return false;
    }
    const skip = key === 'only' ? !listed[0] : listed[0];
    st.notes.push(
      skip
        ? `${formatPath(at)} skipped: its "${key}" (${names.join(', ')}) ${key === 'only' ? 'does not name' : 'names'} ${shown}`
        : `${formatPath(at)}.${key} dropped: it ${key === 'only' ? 'names' : 'does not name'} ${shown}`,
    );
    if (skip) return false;
  }
  return true;
}

function fileProvisioner(st: MapState, p: Record<string, unknown>, at: JsonPath): void {
  for (const k of Object.keys(p)) {
    if (!FILE_KEYS.has(k)) return st.gap([...at, k], `unknown file provisioner option "${k}": it cannot be converted`);
  }
  if (p.direction !== undefined && p.direction !== 'upload') {
    return st.gap(
      [...at, 'direction'],
      `direction "${String(p.direction)}": downloading from the droplet cannot be converted`,
    );
  }
  if (p.generated === true)
    return st.gap([...at, 'generated'], '"generated": a source made during the build cannot be converted');
  if (p.content !== undefined)
    return st.gap(
      [...at, 'content'],
      '"content": inline file content cannot be converted: put it in a file next to the spec and use "source"',
    );
  st.noteDropped(p, at, ['pause_before', 'pause_after', 'max_retries', 'timeout', 'name']);
  const sources: { value: unknown; at: JsonPath }[] = [];
  if (p.source !== undefined) sources.push({ value: p.source, at: [...at, 'source'] });
  if (Array.isArray(p.sources)) p.sources.forEach((s, j) => sources.push({ value: s, at: [...at, 'sources', j] }));
  if (sources.length === 0) return st.gap(at, 'a file provisioner needs "source" (or "sources")');
  if (p.destination === undefined) return st.gap(at, 'a file provisioner needs "destination"');
  let dest = st.evalText(p.destination, [...at, 'destination'], 'destination');
  if (dest === undefined) return;
  if (!dest.startsWith('/')) {
    const abs = path.posix.join('/root', dest) + (dest.endsWith('/') ? '/' : '');
    st.notes.push(
      `${formatPath([...at, 'destination'])} "${dest}" is relative (to the SSH user's home): written as ${abs}`,
    );
    dest = abs;
  }
  if (sources.length > 1 && !dest.endsWith('/'))
    return st.gap([...at, 'destination'], 'with several sources the destination must be a folder ending in "/"');
  const uploads: Pending[] = [];
  for (const s of sources) {
    const src = st.evalText(s.value, s.at, 'source');
    if (src === undefined) return;
    const rel = st.specPath(src, s.at);
    if (rel === undefined) return;
    uploads.push({ kind: 'upload', src: rel, dest });
  }
  st.pending.push(...uploads);
}

function shellProvisioner(st: MapState, p: Record<string, unknown>, at: JsonPath): void {
  for (const k of Object.keys(p)) {
    if (!SHELL_KEYS.has(k))
      return st.gap([...at, k], `unknown shell provisioner option "${k}": it cannot be converted`);
  }
  const kinds = ['inline', 'script', 'scripts'].filter((k) => p[k] !== undefined);
  if (kinds.length !== 1) return st.gap(at, 'a shell provisioner needs exactly one of "inline", "script" or "scripts"');

  // Built-ins first: a provisioner that only waits for cloud-init, cleans up or checks goes entirely.
  if (p.inline !== undefined) {
    if (!Array.isArray(p.inline) || !p.inline.every(isStringLike))
      return st.gap([...at, 'inline'], '"inline" must be a list of strings');
    const inline = p.inline as unknown[];
    // Lines holding secrets or build-time values are never part of a cloud-init wait.
    const waitless = inline.every((l) => typeof l === 'string') ? stripCloudInitWait(inline.join('\n')) : undefined;
    if (waitless !== undefined && waitless.trim() === '') {
      st.notes.push(
        `${formatPath(at)} waits for cloud-init: dropped, the tool waits for cloud-init itself when it creates the droplet`,
      );
      return;
    }
    return inlineShell(st, p, at, inline, waitless);
  }
  const scripts: { value: unknown; at: JsonPath }[] =
    p.script !== undefined
      ? [{ value: p.script, at: [...at, 'script'] }]
      : Array.isArray(p.scripts)
        ? p.scripts.map((s, j) => ({ value: s, at: [...at, 'scripts', j] }))
        : [];
  if (scripts.length === 0) return st.gap([...at, 'scripts'], '"scripts" must be a non-empty list of paths');
  const kept: { rel: string; at: JsonPath }[] = [];
  for (const s of scripts) {
    const file = st.evalText(s.value, s.at, 'script');
    if (file === undefined) return;
    const abs = path.resolve(st.opts.root, file);
    const builtIn = recogniseScript(abs, st.opts.readFile);
    if (builtIn) {
      st.notes.push(`${formatPath(s.at)} (${path.basename(file)}) ${BUILT_IN_NOTE[builtIn]}`);
      if (builtIn === 'cleanup' && st.cleanupAt === undefined) st.cleanupAt = st.pending.length + kept.length;
      continue;
    }
    const rel = st.specPath(file, s.at);
    if (rel === undefined) return;
    kept.push({ rel, at: s.at });
  }
  if (kept.length === 0) return;
  if (p.valid_exit_codes !== undefined && !isOnlyZero(p.valid_exit_codes)) {
    return st.gap(
      [...at, 'valid_exit_codes'],
      'valid_exit_codes on script files cannot be converted: make the script exit 0 on success, or call it from an inline command',
    );
  }
  if (p.expect_disconnect === true) return st.gap([...at, 'expect_disconnect'], EXPECT_DISCONNECT);
  if (p.inline_shebang !== undefined)
    st.notes.push(`${formatPath([...at, 'inline_shebang'])} dropped: it only applies to inline commands`);
  const runAs = executeCommand(st, p, at);
  if (!runAs) return;
  st.noteDropped(p, at, SHELL_DROPPED);
  const env = shellEnv(st, p, at, true);
  if (env === undefined) return;
  for (const k of kept) st.pending.push({ kind: 'script', path: k.rel, env, ...runAs });
}

function inlineShell(
  st: MapState,
  p: Record<string, unknown>,
  at: JsonPath,
  inline: unknown[],
  waitless: string | undefined,
): void {
  let lines: unknown[] = inline;
  if (waitless !== undefined && waitless !== inline.join('\n')) {
    st.notes.push(
      `${formatPath(at)}: its cloud-init wait dropped (the tool waits for cloud-init itself); the other commands kept`,
    );
    lines = waitless.split('\n');
  }
  if (p.expect_disconnect === true) return st.gap([...at, 'expect_disconnect'], EXPECT_DISCONNECT);
  let setFlags = 'e';
  if (p.inline_shebang !== undefined) {
    const sb = parseShebang(p.inline_shebang);
    if (sb === undefined)
      return st.gap(
        [...at, 'inline_shebang'],
        `inline_shebang "${String(p.inline_shebang)}" cannot be converted: inline commands run with bash (a shebang of sh or bash, with -e/-x, is fine)`,
      );
    setFlags = sb;
  }
  let validExit: number[] | undefined;
  if (p.valid_exit_codes !== undefined && !isOnlyZero(p.valid_exit_codes)) {
    if (!Array.isArray(p.valid_exit_codes) || !p.valid_exit_codes.every((c) => Number.isInteger(c))) {
      return st.gap([...at, 'valid_exit_codes'], 'valid_exit_codes must be a list of integers');
    }
    validExit = p.valid_exit_codes as number[];
  }
  const runAs = executeCommand(st, p, at);
  if (!runAs) return;
  const segs: Segment[] = [];
  for (const [j, line] of lines.entries()) {
    const s = st.eval(line, [...at, 'inline', Math.min(j, inline.length - 1)], `inline[${j}]`);
    if (!s) return;
    const dyn = s.find((x) => x.kind === 'dynamic');
    if (dyn)
      return st.gap(
        [...at, 'inline', j],
        `${dyn.raw} in a command is only known when the image is built: use $(date +%s) or similar in the command instead`,
      );
    if (j > 0) segs.push({ kind: 'text', text: '\n' });
    segs.push(...s);
  }
  const placed = placeSecrets(segs);
  if ('error' in placed) return st.gap([...at, 'inline'], placed.error);
  for (const v of placed.secrets) st.usedSecrets.add(v);

  // apt-get lines may map to the spec's apt packages — only when nothing comes before them,
  // since the tool installs packages before every step.
  if (validExit === undefined && placed.secrets.length === 0 && st.pending.length === 0 && !runAs.user) {
    const pkgs = aptOnly(placed.text);
    if (pkgs) {
      st.aptPackages.push(...pkgs);
      st.notes.push(
        `${formatPath(at)}: apt-get update/upgrade/install mapped to the built-in install step (apt.packages${pkgs.length > 0 ? `: ${pkgs.join(' ')}` : ' stays empty'}; it also does a full upgrade)`,
      );
      return;
    }
  }
  st.noteDropped(p, at, SHELL_DROPPED);
  const env = shellEnv(st, p, at, false);
  if (env === undefined) return;
  for (const v of placed.secrets) {
    const name = workerEnvName(v);
    const prev = env.vars.get(name);
    if (prev !== undefined && !(typeof prev === 'object' && prev.fromWorker === name)) {
      return st.gap(
        at,
        `the sensitive variable "${v}" becomes $${name} in the command, but environment_vars already sets ${name}`,
      );
    }
    env.vars.set(name, { fromWorker: name });
  }
  st.pending.push({ kind: 'run', body: placed.text, setFlags, ...(validExit ? { validExit } : {}), env, ...runAs });
}

/**
 * execute_command: who runs the script. One that only runs it (through sudo, sh -c, with its
 * variables) as root is the default; as another user (su, sudo -u, runuser) it is the step's
 * user:. Undefined when it does something else: a problem.
 */
function executeCommand(st: MapState, p: Record<string, unknown>, at: JsonPath): { user?: string } | undefined {
  if (p.execute_command === undefined) return {};
  const where = [...at, 'execute_command'];
  const segs = st.eval(p.execute_command, where, 'execute_command', new Set(['Path', 'Vars', 'EnvVarFile']));
  if (!segs) return undefined;
  const runs = isPlainText(segs) ? parseExecute(textOf(segs)) : undefined;
  if (!runs) {
    st.problem(
      where,
      `execute_command "${String(p.execute_command)}" cannot be converted: the tool runs each script itself with the spec's env, ` +
        'as root or as the user a step names (user:); an execute_command converts when it only runs {{ .Path }} (with {{ .Vars }}), ' +
        'directly, through sh -c, sudo, sudo -u USER, su - USER -c or runuser -l USER -c',
    );
    return undefined;
  }
  if (runs.asRoot) {
    st.notes.push(`${formatPath(where)} dropped: the tool runs each script directly as root with the spec's env`);
    return {};
  }
  const ok = unixUser.safeParse(runs.user);
  if (!ok.success) {
    st.problem(where, `execute_command runs the script as "${runs.user}": user: ${ok.error.issues[0]!.message}`);
    return undefined;
  }
  st.note(
    `${formatPath(where)} runs the script as ${runs.user} (${runs.via}): user: ${runs.user} on its step; the tool runs it in ` +
      `${runs.user}'s login shell (runuser -l: its home folder, /etc/profile and ~/.profile) with the spec's env, ` +
      'and the user must exist by then (created by an earlier step)',
  );
  return { user: runs.user };
}

/** environment_vars ("K=V") and env ({K: V}) of one shell provisioner. */
function shellEnv(st: MapState, p: Record<string, unknown>, at: JsonPath, hasScripts: boolean): ProvEnv | undefined {
  const env: ProvEnv = { at, vars: new Map(), hasScripts };
  const entries: { key: string; value: unknown; at: JsonPath }[] = [];
  if (p.environment_vars !== undefined) {
    if (!Array.isArray(p.environment_vars)) {
      st.problem([...at, 'environment_vars'], 'environment_vars must be a list of "NAME=value"');
      return undefined;
    }
    for (const [j, e] of p.environment_vars.entries()) {
      const kv = splitAssignment(e);
      if (!kv) {
        st.problem([...at, 'environment_vars', j], 'must be "NAME=value"');
        return undefined;
      }
      entries.push({ key: kv.key, value: kv.value, at: [...at, 'environment_vars', j] });
    }
  }
  if (p.env !== undefined) {
    if (!isObject(p.env)) {
      st.problem([...at, 'env'], 'env must be an object of NAME: value');
      return undefined;
    }
    for (const [k, v] of Object.entries(p.env)) entries.push({ key: k, value: v, at: [...at, 'env', k] });
  }
  for (const e of entries) {
    if (!ENV_NAME.test(e.key)) {
      st.problem(e.at, `"${e.key}" is not an environment variable name`);
      return undefined;
    }
    const segs = st.eval(e.value, e.at, e.key);
    if (!segs) return undefined;
    const secrets = segs.filter((s) => s.kind === 'secret');
    const dyn = segs.find((s) => s.kind === 'dynamic');
    if (dyn) {
      st.problem(
        e.at,
        `${e.key} uses ${dyn.raw}, which is only known when the image is built: set it in the script instead (e.g. $(date +%s))`,
      );
      return undefined;
    }
    if (secrets.length > 0) {
      if (segs.length !== 1) {
        st.problem(
          e.at,
          `${e.key} mixes the sensitive variable "${secrets[0]!.variable}" with other text: the spec can only read a whole secret from the worker; set ${e.key} to {{user \`${secrets[0]!.variable}\`}} alone and build the rest in the script`,
        );
        return undefined;
      }
      const v = (secrets[0] as Extract<Segment, { kind: 'secret' }>).variable;
      st.usedSecrets.add(v);
      env.vars.set(e.key, { fromWorker: workerEnvName(v) });
    } else env.vars.set(e.key, textOf(segs));
  }
  st.provEnvs.push(env);
  return env;
}
