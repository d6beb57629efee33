/**
 * "ansible" and "ansible-local" provisioners → the spec's `ansible:` step, which runs the playbook
 * on the build droplet against itself, as ansible-local does. What a local run has no use for
 * (how Packer reached the droplet over SSH, where it kept its files) is dropped with a note; any
 * option with an effect the step cannot reproduce is a gap at its file:line.
 */
import * as path from 'node:path';
import { workerEnvName } from '../template-functions';
import type { Segment } from '../template-functions';
import { formatPath } from '../positions';
import type { JsonPath } from '../positions';
import { isObject } from '../model';
import type { AnsibleSpec } from '../model';
import { MapState, splitAssignment } from './state';

type Kind = 'ansible' | 'ansible-local';

/** Options the step maps, by provisioner type. */
const MAPPED: Record<Kind, string[]> = {
  ansible: ['playbook_file', 'extra_arguments', 'ansible_env_vars', 'galaxy_file', 'user', 'command', 'host_alias'],
  'ansible-local': [
    ...['playbook_file', 'playbook_dir', 'extra_arguments', 'galaxy_file', 'command'],
    ...['group_vars', 'host_vars', 'role_paths'],
  ],
};
/** How Packer reached the droplet, where it kept its files, its own retries: nothing for a local run. */
const DROPPED: Record<Kind, string[]> = {
  ansible: [
    ...['use_proxy', 'use_sftp', 'sftp_command', 'ansible_ssh_extra_args', 'local_port', 'skip_version_check'],
    ...['ssh_host_key_file', 'ssh_authorized_key_file', 'keep_inventory_file', 'ansible_winrm_use_http'],
    ...['roles_path', 'collections_path', 'galaxy_force_install', 'galaxy_force_with_deps'],
  ],
  'ansible-local': [
    ...['staging_directory', 'clean_staging_directory', 'galaxy_roles_path', 'galaxy_collections_path'],
    ...['galaxy_force_install', 'galaxy_force_with_deps'],
  ],
};
const COMMON = ['type', 'only', 'except', 'override'];
const COMMON_DROPPED = ['pause_before', 'pause_after', 'max_retries', 'timeout', 'name'];
/** Set by the step itself (its own files stay out of the image): dropped from ansible_env_vars. */
const STEP_OWN_ENV = new Set(['ANSIBLE_HOME', 'ANSIBLE_LOCAL_TEMP', 'ANSIBLE_REMOTE_TEMP']);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;

export function ansibleProvisioner(st: MapState, kind: Kind, p: Record<string, unknown>, at: JsonPath): void {
  const known = new Set([...COMMON, ...COMMON_DROPPED, ...MAPPED[kind], ...DROPPED[kind]]);
  for (const k of Object.keys(p)) {
    if (!known.has(k))
      return st.gap(
        [...at, k],
        `${kind} provisioner option "${k}" cannot be converted: the ansible step runs the playbook on the droplet against itself, and maps only ${MAPPED[kind].join(', ')}`,
      );
  }
  if (p.playbook_file === undefined) return st.gap(at, `an ${kind} provisioner needs "playbook_file"`);
  const before = st.problems.length;
  const entry = ansibleEntry(st, kind, p, at);
  // Whatever went wrong in one option is a gap at its own place.
  for (const problem of st.problems.splice(before)) st.pending.push({ kind: 'gap', problem });
  if (!entry) return;
  const dropped = [...COMMON_DROPPED, ...DROPPED[kind]].filter((k) => p[k] !== undefined);
  if (dropped.length > 0)
    st.notes.push(
      `${formatPath(at)}: dropped ${dropped.join(', ')} (the playbook runs on the droplet itself: no SSH connection, proxy or staging folder; the workflow has its own timeouts and retries)`,
    );
  st.pending.push({ kind: 'ansible', ansible: entry });
}

function ansibleEntry(
  st: MapState,
  kind: Kind,
  p: Record<string, unknown>,
  at: JsonPath,
): AnsibleSpec['ansible'] | undefined {
  const file = st.evalText(p.playbook_file, [...at, 'playbook_file'], 'playbook_file');
  if (file === undefined) return undefined;
  const playbook = st.specPath(file, [...at, 'playbook_file']);
  if (playbook === undefined) return undefined;
  const out: AnsibleSpec['ansible'] = { playbook };
  const folders = [path.posix.dirname(playbook)];
  if (p.playbook_dir !== undefined) {
    const d = st.evalText(p.playbook_dir, [...at, 'playbook_dir'], 'playbook_dir');
    const dir = d === undefined ? undefined : st.specPath(d, [...at, 'playbook_dir']);
    if (dir === undefined) return undefined;
    out.dir = dir.replace(/\/+$/, '');
    folders.push(out.dir);
  }
  if (p.galaxy_file !== undefined) {
    const g = st.evalText(p.galaxy_file, [...at, 'galaxy_file'], 'galaxy_file');
    const galaxy = g === undefined ? undefined : st.specPath(g, [...at, 'galaxy_file']);
    if (galaxy === undefined) return undefined;
    out.galaxy = galaxy;
    folders.push(path.posix.dirname(galaxy));
  } else requirementsHint(st, playbook, at);
  // The folder sent to the droplet holds the playbook and the requirements file.
  const shared = commonFolder(folders);
  if (shared === undefined) {
    st.problem(
      [
        ...at,
        p.playbook_dir !== undefined ? 'playbook_dir' : p.galaxy_file !== undefined ? 'galaxy_file' : 'playbook_file',
      ],
      `the playbook${p.galaxy_file !== undefined ? ' and galaxy_file' : ''} must be in a folder below the spec's folder (e.g. ansible/site.yml): that folder is what goes to the droplet`,
    );
    return undefined;
  }
  if (p.playbook_dir !== undefined && shared !== out.dir) {
    st.problem(
      [...at, 'playbook_dir'],
      `playbook_file${p.galaxy_file !== undefined ? ' and galaxy_file' : ''} must be inside playbook_dir (${out.dir}): the ansible step sends one folder`,
    );
    return undefined;
  }
  if (shared !== path.posix.dirname(playbook)) out.dir = shared;
  if (!besidePlaybook(st, p, at, playbook)) return undefined;
  if (kind === 'ansible' && !remoteOnly(st, p, at, out)) return undefined;
  const env = ansibleEnv(st, p, at);
  if (env === undefined) return undefined;
  if (p.command !== undefined && !command(st, p.command, [...at, 'command'], env)) return undefined;
  if (
    p.extra_arguments !== undefined &&
    !extraArguments(st, kind, p.extra_arguments, [...at, 'extra_arguments'], out, env)
  )
    return undefined;
  if (Object.keys(env).length > 0) out.env = env;
  return out;
}

/** user and host_alias: Packer's connection to the droplet, as the local run has them. */
function remoteOnly(st: MapState, p: Record<string, unknown>, at: JsonPath, out: AnsibleSpec['ansible']): boolean {
  if (p.host_alias !== undefined) {
    const alias = st.evalText(p.host_alias, [...at, 'host_alias'], 'host_alias');
    if (alias === undefined) return false;
    if (alias !== 'default') {
      st.problem(
        [...at, 'host_alias'],
        `host_alias "${alias}" cannot be converted: the ansible step's inventory names its host "default" (Packer's default); write hosts: default (or all) in the playbook`,
      );
      return false;
    }
  }
  if (p.user !== undefined) {
    const user = st.evalText(p.user, [...at, 'user'], 'user');
    if (user === undefined) return false;
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) {
      st.problem([...at, 'user'], `user "${user}" is not a user name on the droplet`);
      return false;
    }
    // Root is the step's default; another user runs the playbook (its become then needs sudo rights).
    if (user !== 'root') out.user = user;
  }
  return true;
}

/**
 * ansible-local's group_vars, host_vars and role_paths: Packer uploads them beside the playbook;
 * already there in the folder sent, they need nothing, anywhere else they are a gap.
 */
function besidePlaybook(st: MapState, p: Record<string, unknown>, at: JsonPath, playbook: string): boolean {
  const folder = path.posix.dirname(playbook);
  const beside = (rel: string, want: (r: string) => boolean) => want(rel.replace(/\/+$/, ''));
  const checks: [string, (r: string) => boolean][] = [
    ['group_vars', (r) => r === path.posix.join(folder, 'group_vars')],
    ['host_vars', (r) => r === path.posix.join(folder, 'host_vars')],
    ['role_paths', (r) => path.posix.dirname(r) === path.posix.join(folder, 'roles')],
  ];
  for (const [key, want] of checks) {
    if (p[key] === undefined) continue;
    const items = key === 'role_paths' ? (Array.isArray(p[key]) ? p[key] : [undefined]) : [p[key]];
    for (const [j, item] of items.entries()) {
      const where = key === 'role_paths' ? [...at, key, j] : [...at, key];
      const text = st.evalText(item, where, key);
      const rel = text === undefined ? undefined : st.specPath(text, where);
      if (rel === undefined) return false;
      if (!beside(rel, want)) {
        st.problem(
          where,
          `${key} ${rel} cannot be converted: the ansible step sends the playbook's folder, so put it there (${key === 'role_paths' ? `${folder}/roles/` : `${folder}/${key}/`}) where ansible finds it`,
        );
        return false;
      }
    }
    st.notes.push(
      `${formatPath([...at, key])}: dropped, already beside the playbook in the folder sent to the droplet`,
    );
  }
  return true;
}

/** ansible_env_vars ("NAME=value") → the step's env. */
function ansibleEnv(st: MapState, p: Record<string, unknown>, at: JsonPath): Record<string, string> | undefined {
  const env: Record<string, string> = {};
  if (p.ansible_env_vars === undefined) return env;
  if (!Array.isArray(p.ansible_env_vars)) {
    st.problem([...at, 'ansible_env_vars'], 'ansible_env_vars must be a list of "NAME=value"');
    return undefined;
  }
  for (const [j, e] of p.ansible_env_vars.entries()) {
    const where = [...at, 'ansible_env_vars', j];
    const kv = splitAssignment(e);
    if (!kv || !ENV_NAME.test(kv.key)) {
      st.problem(where, 'must be "NAME=value" with an environment variable name');
      return undefined;
    }
    const value = st.evalText(kv.value, where, kv.key);
    if (value === undefined) return undefined;
    if (STEP_OWN_ENV.has(kv.key)) {
      st.notes.push(
        `${formatPath(where)}: ${kv.key} dropped (the step sets it, to keep ansible's files out of the image)`,
      );
      continue;
    }
    env[kv.key] = value;
  }
  return env;
}

/** `command`: ansible-playbook, maybe after VAR=value assignments (which join the env). */
function command(st: MapState, value: unknown, at: JsonPath, env: Record<string, string>): boolean {
  const text = st.evalText(value, at, 'command');
  if (text === undefined) return false;
  const words = text.trim().split(/\s+/);
  const last = words.pop();
  const vars = words.map((w) => /^([A-Za-z_][A-Za-z0-9_]*)=([^'"`$\\;&|<>]*)$/.exec(w));
  if (last !== 'ansible-playbook' || vars.some((m) => m === null)) {
    st.problem(
      at,
      `command "${text}" cannot be converted: the step runs ansible-playbook from Debian's ansible-core (NAME=value before it is fine)`,
    );
    return false;
  }
  for (const m of vars) env[m![1]!] = m![2]!;
  return true;
}

/** An argument with each secret standing in as a placeholder (\uE000n\uE001): split as text, resolved after. */
interface Arg {
  text: string;
  at: JsonPath;
}
const SECRET = /\uE000(\d+)\uE001/g;

/**
 * extra_arguments: -e/--extra-vars, -t/--tags, --skip-tags, -v… and -b/--become; anything else is
 * a gap. ansible-local runs ansible-playbook through the droplet's shell, so its arguments are
 * split as the shell splits them first; the ansible provisioner passes each as it is.
 */
function extraArguments(
  st: MapState,
  kind: Kind,
  value: unknown,
  at: JsonPath,
  out: AnsibleSpec['ansible'],
  env: Record<string, string>,
): boolean {
  if (!Array.isArray(value)) {
    st.problem(at, 'extra_arguments must be a list of strings');
    return false;
  }
  const secrets: string[] = [];
  const args: Arg[] = [];
  for (const [j, a] of value.entries()) {
    const where = [...at, j];
    const segs = st.eval(a, where, `extra_arguments[${j}]`);
    if (!segs) return false;
    const dyn = segs.find((x) => x.kind === 'dynamic');
    if (dyn) {
      st.problem(where, `${dyn.raw} is only known when the image is built: set the variable in the playbook instead`);
      return false;
    }
    const text = segs
      .map((x) => (x.kind === 'text' ? x.text : `\uE000${secrets.push(secretOf(x)) - 1}\uE001`))
      .join('');
    if (kind === 'ansible') args.push({ text, at: where });
    else {
      const words = shellWords(text);
      if (words === undefined) {
        st.problem(where, `extra argument ${JSON.stringify(text)} has an unclosed quote`);
        return false;
      }
      args.push(...words.map((w) => ({ text: w, at: where })));
    }
  }
  for (let i = 0; i < args.length; i++) {
    const { text, at: where } = args[i]!;
    const m = /^(-e|--extra-vars|-t|--tags|--skip-tags)(?:=|(?=.))?/.exec(text);
    if (!m) {
      const word = text.trim();
      if (/^-v+$/.test(word)) env.ANSIBLE_VERBOSITY = String(word.length - 1);
      else if (word === '-b' || word === '--become') env.ANSIBLE_BECOME = 'True';
      else {
        st.problem(
          where,
          `extra argument "${withNames(text, secrets)}" cannot be converted: the ansible step takes --extra-vars/-e, --tags/-t, --skip-tags, -v and --become`,
        );
        return false;
      }
      continue;
    }
    const flag = m[1]!;
    // The value is the rest of this argument ("--tags=a,b", "-eKEY=V") or the next one.
    let arg: Arg | undefined = { text: text.slice(m[0].length), at: where };
    if (m[0].length === text.length) arg = args[++i];
    if (arg === undefined) {
      st.problem(where, `${flag} needs a value`);
      return false;
    }
    const ok =
      flag === '-e' || flag === '--extra-vars'
        ? extraVars(st, arg, secrets, out)
        : tagList(st, arg, secrets, out, flag === '--skip-tags' ? 'skipTags' : 'tags');
    if (!ok) return false;
  }
  return true;
}

function secretOf(s: Segment): string {
  return s.kind === 'secret' ? s.variable : '';
}

function tagList(
  st: MapState,
  arg: Arg,
  secrets: string[],
  out: AnsibleSpec['ansible'],
  key: 'tags' | 'skipTags',
): boolean {
  if (arg.text.includes('\uE000')) {
    st.problem(arg.at, `${key === 'tags' ? 'tags' : 'skip-tags'} use a sensitive variable: a secret cannot go there`);
    return false;
  }
  const tags = arg.text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const bad = tags.find((t) => !TAG.test(t));
  if (bad !== undefined || tags.length === 0) {
    st.problem(
      arg.at,
      `"${bad ?? arg.text}" is not a tag the ansible step takes (letters, digits, "_", ".", ":" and "-")`,
    );
    return false;
  }
  out[key] = [...(out[key] ?? []), ...tags];
  return true;
}

/** key=value pairs (quotes as ansible reads them) or a JSON object; a whole secret value is read on the worker. */
function extraVars(st: MapState, arg: Arg, secrets: string[], out: AnsibleSpec['ansible']): boolean {
  const text = arg.text.trim();
  const vars = out.extraVars ?? {};
  if (text.startsWith('@')) {
    st.problem(
      arg.at,
      `extra vars from a file (${text}) cannot be converted: write them as key=value, or load the file with vars_files in the playbook`,
    );
    return false;
  }
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!isObject(parsed) || text.includes('\uE000')) {
      st.problem(arg.at, 'extra vars in braces must be a JSON object of plain values (no secrets)');
      return false;
    }
    for (const [k, v] of Object.entries(parsed)) {
      if (!VAR_NAME.test(k) || !['string', 'number', 'boolean'].includes(typeof v)) {
        st.problem(
          arg.at,
          `extra var "${k}" cannot be converted: the ansible step takes names with strings, numbers or true/false`,
        );
        return false;
      }
      vars[k] = v as string | number | boolean;
    }
  } else {
    const pairs = splitKv(text);
    if (pairs === undefined) {
      st.problem(arg.at, `extra vars "${withNames(text, secrets)}" must be key=value pairs separated by spaces`);
      return false;
    }
    for (const [k, v] of pairs) {
      if (!VAR_NAME.test(k)) {
        st.problem(arg.at, `"${k}" is not an Ansible variable name`);
        return false;
      }
      const whole = /^\uE000(\d+)\uE001$/.exec(v);
      if (whole) {
        const variable = secrets[Number(whole[1])]!;
        st.usedSecrets.add(variable);
        vars[k] = { fromWorker: workerEnvName(variable) };
      } else if (v.includes('\uE000')) {
        st.problem(
          arg.at,
          `extra var ${k} mixes a sensitive variable with other text: the spec can only read a whole secret from the worker; set ${k} to the variable alone`,
        );
        return false;
      } else vars[k] = v;
    }
  }
  out.extraVars = vars;
  return true;
}

/** Words as a POSIX shell splits a line: quotes group and go, a backslash escapes (no expansions). */
export function shellWords(text: string): string[] | undefined {
  const words: string[] = [];
  let word = '';
  let started = false;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = '';
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = '';
      else if (c === '\\' && /["\\$`]/.test(text[i + 1] ?? '')) word += text[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      started = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      started = true;
    } else if (/\s/.test(c)) {
      if (started) words.push(word);
      word = '';
      started = false;
    } else {
      word += c;
      started = true;
    }
  }
  if (quote) return undefined;
  if (started) words.push(word);
  return words;
}

/**
 * "a=1 b='two words'" → pairs, as ansible's parse_kv reads them: split at spaces outside quotes,
 * each at its first "=", quotes around a value removed. Undefined when a word has no "=".
 */
export function splitKv(text: string): [string, string][] | undefined {
  const words: string[] = [];
  let word = '';
  let quote = '';
  let started = false;
  for (const c of text) {
    if (quote) {
      if (c === quote) quote = '';
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      started = true;
    } else if (/\s/.test(c)) {
      if (started) words.push(word);
      word = '';
      started = false;
    } else {
      word += c;
      started = true;
    }
  }
  if (quote) return undefined;
  if (started) words.push(word);
  const pairs: [string, string][] = [];
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq < 1) return undefined;
    pairs.push([w.slice(0, eq), w.slice(eq + 1)]);
  }
  return pairs.length > 0 ? pairs : undefined;
}

/** The text with each secret shown by its variable's name (never a value), for messages. */
function withNames(text: string, secrets: string[]): string {
  return text.replace(SECRET, (_m, n: string) => `{{${secrets[Number(n)]}}}`);
}

/** The deepest folder holding all of `folders` (each relative to the spec); undefined when only the spec's own. */
function commonFolder(folders: string[]): string | undefined {
  const parts = folders.map((f) => (f === '.' ? [] : f.split('/')));
  const first = parts[0]!;
  let n = 0;
  while (n < first.length && parts.every((p) => p[n] === first[n])) n++;
  return n === 0 ? undefined : first.slice(0, n).join('/');
}

/** A requirements file beside the playbook that the template does not name: its collections may be needed. */
function requirementsHint(st: MapState, playbook: string, at: JsonPath): void {
  const folder = path.posix.dirname(playbook);
  for (const name of ['requirements.yml', 'requirements.yaml']) {
    const rel = path.posix.join(folder, name);
    const abs = path.resolve(st.opts.outDir, rel);
    if (st.opts.readFile?.(abs) === undefined) continue;
    st.notes.push(
      `${formatPath(at)}: ${rel} is beside the playbook but the template names no galaxy_file (Packer's machine had what it lists): add galaxy: ${rel} to the step if the playbook needs its roles or collections`,
    );
    return;
  }
}
