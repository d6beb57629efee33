/**
 * The ansible step's side on the droplet (one bash wrapper, one SSH exec): install ansible-core
 * from the distribution's packages unless it is there, recording what that installed; install the
 * Galaxy requirements beside the playbook; run the playbook against the droplet itself (-c local)
 * under the step's time limit; then remove, whatever the playbook's outcome, what the install
 * brought and nothing else, and every file ansible left. The env and the extra variables arrive on
 * stdin, each read to its byte length, like a script's (never on the command line, which `ps`
 * shows); the variables are written for ansible-playbook's `-e @file` to a 600 file under /run (a
 * tmpfs, never the disk) and removed when the run ends.
 */
import { APT, aptProxyCommand } from './apt';
import { shq } from './shell-quote';

/** Each step's folder: `run/` holds what the playbook's user reads, the rest is root's (700). */
export const ANSIBLE_DIR = '/run/image-forge-ansible';
/** The inventory's one host, named as Packer's ansible provisioner names it (`hosts: default`). */
export const ANSIBLE_HOST = 'default';
/** What the step installs for itself; python3-apt so that the apt module does not install it for good. */
export const ANSIBLE_PACKAGES = ['ansible-core', 'python3-apt'];
/** Galaxy installs from the network: bounded so that a stuck server does not hold the step. */
const GALAXY_TIMEOUT_S = 15 * 60;
export const PLACE_FAILED = 'image-forge: the env or the extra variables did not arrive whole on the droplet';
export const PLACE_FAILED_EXIT = 254;
const END_MARK = 'image-forge-end-of-input';
/** ansible's own check at start (ansible/cli/__init__.py): the locale must load and be UTF-8. */
const LOCALE_CHECK = `python3 -c 'import locale; locale.setlocale(locale.LC_ALL, ""); e = locale.getlocale()[1] or ""; exit(e.lower() not in ("utf-8", "utf8"))'`;

export interface AnsibleRun {
  step: string;
  /** The playbook, relative to the folder sent. */
  playbook: string;
  galaxy?: string | undefined;
  user?: string | undefined;
  tags: string[];
  skipTags: string[];
  keep: boolean;
  /** The playbook's limit, in seconds. */
  secs: number;
  aptProxy?: string | undefined;
  /** What stdin carries: `export` lines, then the extra variables as JSON. */
  envBytes: number;
  varsBytes: number;
  hasVars: boolean;
}

export const stepDir = (step: string) => `${ANSIBLE_DIR}/${step}`;
export const playDir = (step: string) => `${stepDir(step)}/run/play`;
export const pidFile = (step: string) => `${stepDir(step)}/pid`;

/** stdin for the wrapper: the env, the variables and the end mark that proves both arrived whole. */
export function ansibleStdin(envText: string, varsJson: string): Buffer {
  return Buffer.concat([Buffer.from(envText), Buffer.from(varsJson), Buffer.from(END_MARK)]);
}

/**
 * Run first, on the channel that sends the playbook's folder: one attempt at a time (a retry
 * waits for an attempt still running), and what an earlier attempt sent is gone.
 */
export function prepareCommand(step: string): string {
  const dir = shq(stepDir(step));
  return [
    `install -d -m 711 ${ANSIBLE_DIR} ${dir} && exec 9> ${dir}/lock && flock 9`,
    `rm -rf ${dir}/run && install -d -m 700 ${dir}/run || exit`,
  ].join('\n');
}

/** The wrapper: its exit code is the playbook's (or what failed before or after it). */
export function ansibleCommand(o: AnsibleRun): string {
  const user = o.user && o.user !== 'root' ? shq(o.user) : '';
  return [
    'set -uo pipefail',
    `LC_ALL=C IFS= read -r -N ${o.envBytes} __forge_env`,
    `LC_ALL=C IFS= read -r -N ${o.varsBytes} __forge_vars`,
    `LC_ALL=C IFS= read -r -N ${END_MARK.length} __forge_end && [ "$__forge_end" = ${END_MARK} ] ||`,
    `  { echo "${PLACE_FAILED}" >&2; exit ${PLACE_FAILED_EXIT}; }`,
    // Read-only: nothing the spec's env sets (it is evaluated in the commands' subshells) changes them.
    `readonly __forge_dir=${shq(stepDir(o.step))}`,
    'readonly __forge_run=$__forge_dir/run',
    `readonly __forge_keep=${o.keep ? '1' : "''"}`,
    // One attempt at a time: a retry waits here for one still running.
    'exec 9> "$__forge_dir/lock" && flock 9 || exit',
    'export DEBIAN_FRONTEND=noninteractive',
    `readonly __forge_apt=(${APT})`,
    'say() { echo "image-forge: $*"; }',
    // apt's output goes to the log only when apt fails: the playbook's is what the log is for.
    'quiet() { local out rc; out=$("$@" 2>&1); rc=$?; [ $rc -eq 0 ] || printf \'%s\\n\' "$out"; return $rc; }',
    // Package names as dpkg and apt-get -s print them, without the native architecture.
    'readonly __forge_arch=$(dpkg --print-architecture)',
    `installed() { dpkg-query -W -f='\${db:Status-Abbrev} \${binary:Package}\\n' | awk '$1 == "ii" { print $2 }' | sed "s/:$__forge_arch\\$//" | sort -u; }`,
    `has() { dpkg-query -W -f='\${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^ii'; }`,
    `simulated() { "\${__forge_apt[@]}" -s "$@" | awk '$1 == "Purg" || $1 == "Remv" { print $2 }' | sed "s/:$__forge_arch\\$//"; }`,
    ...removeOurs(),
    ...finish(),
    ...homes(o, user),
    ...installAnsible(o.aptProxy),
    ...runPlaybook(o, user),
  ].join('\n');
}

/**
 * Where ansible's per-user folder goes (each one not there before the step is removed after it);
 * a user that does not exist ends the step before anything is installed.
 */
function homes(o: AnsibleRun, user: string): string[] {
  if (!user) return ['readonly __forge_homes=(/root)'];
  return [
    `readonly __forge_uhome=$(getent passwd ${user} | cut -d: -f6)`,
    'if [ -n "$__forge_uhome" ] && [ "$__forge_uhome" != /root ]; then readonly __forge_homes=(/root "$__forge_uhome"); else readonly __forge_homes=(/root); fi',
    'if [ -z "$__forge_uhome" ]; then',
    `  say ${shq(`user ${o.user} does not exist on the droplet: create it in an earlier step, or leave user: out to run as root`)}`,
    '  [ -e "$__forge_dir/before" ] && finish 2',
    '  rm -rf "$__forge_dir"; exit 2',
    'fi',
  ];
}

/**
 * ansible-core unless it is there. What the install added is recorded once, before the playbook
 * ever runs: a retried attempt keeps the record (so a package the playbook installs is never in it).
 */
function installAnsible(proxy: string | undefined): string[] {
  return [
    'if [ ! -e "$__forge_dir/before" ]; then',
    '  installed > "$__forge_dir/before.new" || exit',
    '  for h in "${__forge_homes[@]}"; do [ -e "$h/.ansible" ] && echo "$h"; done > "$__forge_dir/had-dot-ansible"',
    '  mv "$__forge_dir/before.new" "$__forge_dir/before" || exit',
    'fi',
    'need=()',
    `for p in ${ANSIBLE_PACKAGES.join(' ')}; do has "$p" || need+=("$p"); done`,
    'if [ ${#need[@]} -gt 0 ]; then',
    '  say "installing ${need[*]} for this step"',
    ...(proxy ? [`  ${aptProxyCommand(proxy)}`] : []),
    '  quiet "${__forge_apt[@]}" update --error-on=any && quiet "${__forge_apt[@]}" install --no-install-recommends "${need[@]}"',
    '  rc=$?',
    '  if [ $rc -ne 0 ]; then',
    '    say "could not install ${need[*]}"',
    '    [ -e "$__forge_dir/ours" ] || installed | comm -13 "$__forge_dir/before" - > "$__forge_dir/ours"',
    '    finish $rc',
    '  fi',
    'fi',
    '[ -e "$__forge_dir/ours" ] || { installed | comm -13 "$__forge_dir/before" - > "$__forge_dir/ours.new" && mv "$__forge_dir/ours.new" "$__forge_dir/ours"; } || exit',
  ];
}

/**
 * Removes what the step installed and nothing else: ansible-core (and python3-apt) when the step
 * installed them, then what they pulled in that nothing needs any more. A package the playbook
 * installed, or one it marked as wanted, stays; so does anything whose removal would take along a
 * package the step did not install (said in the log).
 */
function removeOurs(): string[] {
  return [
    'remove_ours() {',
    '  [ -s "$__forge_dir/ours" ] || return 0',
    '  local named=() p extra auto',
    `  for p in ${ANSIBLE_PACKAGES.join(' ')}; do grep -qxF "$p" "$__forge_dir/ours" && has "$p" && named+=("$p"); done`,
    '  if [ ${#named[@]} -gt 0 ]; then',
    '    extra=$(simulated purge "${named[@]}" | grep -vxF -f "$__forge_dir/ours" | paste -sd " ")',
    '    if [ -n "$extra" ]; then say "kept ${named[*]}: removing it would also remove $extra, which the step did not install"',
    '    else quiet "${__forge_apt[@]}" purge "${named[@]}" || return; say "removed ${named[*]}"; fi',
    '  fi',
    '  mapfile -t auto < <(simulated autoremove | grep -xF -f "$__forge_dir/ours")',
    '  [ ${#auto[@]} -gt 0 ] || return 0',
    '  extra=$(simulated purge "${auto[@]}" | grep -vxF -f "$__forge_dir/ours" | paste -sd " ")',
    '  if [ -n "$extra" ]; then say "kept ${auto[*]}: removing them would also remove $extra, which the step did not install"; return 0; fi',
    '  quiet "${__forge_apt[@]}" purge "${auto[@]}" || return',
    '  say "removed what they pulled in: ${auto[*]}"',
    '}',
  ];
}

/**
 * The end of every attempt that got as far as recording: remove what the step installed, the
 * step's files and any ~/.ansible it made; exit with the outcome. The record goes only once the
 * removal is done: an attempt after a failed removal removes again.
 */
function finish(): string[] {
  return [
    'finish() {',
    '  local rc=$1 r=0',
    '  rm -f "$__forge_run/extra-vars.json"',
    '  if [ -z "$__forge_keep" ]; then',
    '    remove_ours; r=$?',
    '    if [ $r -ne 0 ]; then say "could not remove what the step installed (exit $r)"; [ $rc -ne 0 ] || rc=$r; fi',
    '  fi',
    '  for h in "${__forge_homes[@]}"; do grep -qxF "$h" "$__forge_dir/had-dot-ansible" 2>/dev/null || rm -rf "$h/.ansible"; done',
    '  rm -rf "$__forge_run"',
    `  [ $r -ne 0 ] || { rm -rf "$__forge_dir"; rmdir ${ANSIBLE_DIR} 2>/dev/null; }`,
    '  exit $rc',
    '}',
  ];
}

function runPlaybook(o: AnsibleRun, user: string): string[] {
  const slash = o.playbook.lastIndexOf('/');
  const folder = slash >= 0 ? o.playbook.slice(0, slash) : '.';
  const args = [
    '-c local',
    '-i "$__forge_run/inventory"',
    ...(o.hasVars ? ['-e "@$__forge_run/extra-vars.json"'] : []),
    ...(o.tags.length > 0 ? [`--tags ${shq(o.tags.join(','))}`] : []),
    ...(o.skipTags.length > 0 ? [`--skip-tags ${shq(o.skipTags.join(','))}`] : []),
    shq(o.playbook.slice(slash + 1)),
  ].join(' ');
  return [
    'install -d -m 700 "$__forge_run/home" "$__forge_run/tmp" || finish 1',
    `printf '%s\\n' ${shq(`${ANSIBLE_HOST} ansible_connection=local ansible_python_interpreter=/usr/bin/python3`)} > "$__forge_run/inventory" || finish 1`,
    `( umask 077; printf '%s' "$__forge_vars" > "$__forge_run/extra-vars.json" ) || finish 1`,
    'unset __forge_vars',
    ...(user
      ? [
          `chown -R ${user}: "$__forge_run" || finish 1`,
          `as=(runuser -u ${user} -- env HOME="$__forge_uhome" USER=${user} LOGNAME=${user})`,
        ]
      : ['as=()']),
    `cd "$__forge_run/play/"${shq(folder)} || finish 1`,
    // ansible refuses to start without a UTF-8 locale: C.UTF-8 when the spec's env sets none it can use.
    `if ( set -a; eval "$__forge_env"; ${LOCALE_CHECK} ) 2>/dev/null; then readonly __forge_utf8=''; else`,
    `  readonly __forge_utf8=C.UTF-8; say 'ansible runs with LC_ALL=C.UTF-8: it needs a UTF-8 locale, and the env sets none this droplet has'`,
    'fi',
    // The spec's env for ansible's commands only (a subshell); ansible keeps its own files (galaxy
    // cache, temp files) in the step's folder.
    'with_env() {',
    '  ( set -a; eval "$__forge_env"; set +a; [ -z "$__forge_utf8" ] || export LC_ALL="$__forge_utf8"',
    '    export ANSIBLE_HOME="$__forge_run/home" ANSIBLE_LOCAL_TEMP="$__forge_run/tmp" ANSIBLE_REMOTE_TEMP="$__forge_run/tmp" PYTHONUNBUFFERED=1',
    '    exec "$@" )',
    '}',
    ...(o.galaxy ? galaxy(o.galaxy) : []),
    `with_env timeout --kill-after=10s ${o.secs}s "\${as[@]}" ansible-playbook ${args} < /dev/null &`,
    'echo $! > "$__forge_dir/pid"',
    'wait $!',
    'rc=$?',
    ': > "$__forge_dir/pid"',
    'unset __forge_env',
    'finish $rc',
  ];
}

/** Roles go beside the playbook (roles/), collections too (collections/): ansible finds both there. */
function galaxy(file: string): string[] {
  const req = `"$__forge_run/play/"${shq(file)}`;
  // Which of the two the file lists: a plain list is roles (the older format).
  const kinds = `python3 -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])) or {}; print(" ".join(k for k in ("roles", "collections") if (k == "roles" and isinstance(d, list) and d) or (isinstance(d, dict) and d.get(k))))' ${req}`;
  const limit = `timeout ${GALAXY_TIMEOUT_S}s "\${as[@]}"`;
  return [
    `kinds=$(${kinds}) || { say ${shq(`cannot read the Galaxy requirements ${file}`)}; finish 1; }`,
    'case " $kinds " in *" roles "*)',
    `  with_env ${limit} ansible-galaxy role install -r ${req} -p roles < /dev/null || finish $?;;`,
    'esac',
    'case " $kinds " in *" collections "*)',
    `  ANSIBLE_COLLECTIONS_PATH="$PWD/collections" with_env ${limit} ansible-galaxy collection install -r ${req} -p collections < /dev/null || finish $?;;`,
    'esac',
  ];
}
