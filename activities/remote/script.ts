/**
 * Runs a script step on a droplet (the build droplet, or verify's test droplet). Its `env` values
 * are resolved here on the worker — `fromWorker` secrets never enter the workflow — and handed
 * over on the exec's stdin, kept in the wrapper's memory: never on the droplet's disk.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from '../runtime/deps';
import { readContextFile } from '../runtime/context-files';
import { runOnDroplet } from './run-on-droplet';
import { shq } from './shell-quote';
import type { CommandResult, DropletRef, RunScriptInput } from '../../contract/steps';
import type { ScriptStep } from '../../contract/plan';
import { FailureType } from '../../contract/failures';
import { check, checkEnv, checked, scriptLimit } from '../runtime/input-checks';
import { scriptFailed } from '../runtime/failures';
import { DEFAULT_SCRIPT_TIMEOUT_MS, formatDuration } from '../../contract/plan';

export const WORK_DIR = '/run/image-forge';
/** A step run as another user reads its script from here: root's folder (711), the user's file (500). */
export const USER_SCRIPTS_DIR = '/run/image-forge-user';
const NO_USER = 'image-forge: no such user on the droplet:';
const NO_USER_EXIT = 253;
const PLACE_FAILED = 'image-forge: the script or its env did not arrive whole on the droplet';
const PLACE_FAILED_EXIT = 254;
/** Follows the script on stdin: read back intact, it proves the env and the script arrived whole. */
const END_MARK = 'image-forge-end-of-input';

export function resolveEnv(
  env: RunScriptInput['env'],
  deps: Pick<ActivityDeps, 'workerEnv' | 'workerSecrets'>,
): { vars: Record<string, string>; secrets: string[] } {
  checkEnv(env, deps.workerSecrets);
  const vars: Record<string, string> = {};
  const secrets: string[] = [];
  for (const [name, source] of Object.entries(env)) {
    if ('value' in source) {
      vars[name] = source.value;
      continue;
    }
    const v = deps.workerEnv[source.fromWorker];
    if (v === undefined) {
      throw ApplicationFailure.create({
        message: `env ${name} reads ${source.fromWorker} from the worker's environment, but the worker has no ${source.fromWorker}: set it where the worker runs, restart the worker, then retry this step`,
        type: FailureType.MissingWorkerEnv,
        nonRetryable: true,
      });
    }
    vars[name] = v;
    secrets.push(v);
  }
  return { vars, secrets };
}

/**
 * Runs a script step on a droplet (the build droplet, or the verify step's test droplet).
 * `allowFailure` returns a non-zero exit instead of failing.
 */
export async function runScriptOn(
  deps: ActivityDeps,
  ref: DropletRef,
  step: string,
  contextDigest: string,
  script: ScriptStep,
  env: RunScriptInput['env'],
  opts: { allowFailure?: boolean } = {},
): Promise<CommandResult> {
  // The step id names a file on the droplet and is a word in its command log.
  checked(check.stepId, step, 'step');
  // The user comes from a workflow input: a name and nothing else, before it reaches a command line.
  const user = script.user === undefined ? undefined : checked(check.unixUser, script.user, 'script.user');
  const { vars, secrets } = resolveEnv(env, deps);
  const body = script.path
    ? await readContextFile(deps, contextDigest, script.path)
    : Buffer.from(`#!/bin/bash\n${script.run ?? ''}\n`);
  const file = `${WORK_DIR}/scripts/${step}`;
  const limitMs = checked(scriptLimit, script.timeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS, 'script.timeoutMs');
  const secs = Math.max(1, Math.round(limitMs / 1000));
  // Scripts also learn which build and step they run in (logs, idempotency markers).
  const all = { ...vars, IMAGE_FORGE_BUILD_ID: ref.buildId, IMAGE_FORGE_STEP: step };
  const envText = Object.entries(all)
    .map(([k, v]) => `export ${k}=${shq(v)}\n`)
    .join('');
  const pidFile = shq(`${WORK_DIR}/pids/${step}`);
  const stdin = Buffer.concat([Buffer.from(envText), body, Buffer.from(END_MARK)]);
  const run = placeAndRun({
    envBytes: Buffer.byteLength(envText),
    bodyBytes: body.length,
    byRead: placeByRead(body),
    interpreter: shebangOf(body),
    file,
    pidFile,
    step,
    secs,
    ...(user !== undefined ? { user } : {}),
  });
  const r = await endOnCancel(deps, ref, pidFile, () =>
    runOnDroplet(deps, ref, step, script.label, run, { stdin, secrets, allowFailure: true }),
  );
  // Writing the script failed (a full disk, a cut connection): not the script's fault; worth a retry.
  if (r.exitCode === PLACE_FAILED_EXIT && r.tail.some((l) => l.includes(PLACE_FAILED)))
    throw new Error(`could not place script ${script.label} on the droplet: ${r.tail.join(' | ').slice(-300)}`);
  if (user !== undefined && r.exitCode === NO_USER_EXIT && r.tail.some((l) => l.includes(NO_USER))) {
    throw ApplicationFailure.create({
      message: `script ${script.label} runs as the user "${user}", who does not exist on the droplet: create the user in an earlier step (e.g. { run: "useradd --create-home ${user}" }), or create it on the droplet and retry this step`,
      type: FailureType.ScriptFailed,
      nonRetryable: true,
      details: [{ exitCode: r.exitCode, tail: r.tail }],
    });
  }
  if (r.exitCode === 124 || r.exitCode === 137) {
    const limit = formatDuration(limitMs);
    if (opts.allowFailure) return { ...r, tail: [...r.tail, `timed out after ${limit}`] };
    throw ApplicationFailure.create({
      message: `script ${script.label} timed out after ${limit} (its timeout; set \`timeout:\` on it in the spec to allow longer)`,
      type: FailureType.ScriptFailed,
      nonRetryable: true,
      details: [{ exitCode: r.exitCode, tail: r.tail }],
    });
  }
  if (r.exitCode !== 0 && !opts.allowFailure) throw scriptFailed(script.label, r.exitCode, r.tail);
  return r;
}

/** bash reads a pipe a byte per system call: past a few KiB, `head` is the cheaper way to place a script. */
const READ_PLACE_MAX_BYTES = 4096;

/** A short script with no NUL byte (a bash variable cannot hold one) is placed by bash itself. */
export function placeByRead(body: Buffer): boolean {
  return body.length <= READ_PLACE_MAX_BYTES && !body.includes(0);
}

/**
 * The interpreter line, as Linux reads it (an absolute path and at most one argument), for the
 * plain lines only: the wrapper then runs `interpreter [arg] file` itself, as the kernel would,
 * and the script needs no exec bit (one `chmod` less). Any other first line (none, a relative
 * path, several arguments, a carriage return, odd bytes) leaves it to the kernel: chmod, then exec.
 */
export function shebangOf(body: Buffer): string[] | undefined {
  const nl = body.indexOf(10);
  if (nl < 0 || nl > 255) return undefined;
  const m = /^#![ \t]*(\/[A-Za-z0-9._+/-]+)(?:[ \t]+([A-Za-z0-9._+/=:-]+))?[ \t]*$/.exec(
    body.subarray(0, nl).toString('latin1'),
  );
  return m ? [m[1]!, ...(m[2] ? [m[2]] : [])] : undefined;
}

/**
 * The step's wrapper on the droplet, one SSH exec: the env and the script arrive on stdin (never on
 * the command line, which `ps` shows). It starts as few processes as it can (each costs 2–15 ms in
 * a small droplet): bash's own `read` takes the env (counted in bytes, kept in memory, never
 * written to disk), a short script and the end mark, `$EPOCHREALTIME` stamps the log, the folders
 * are made once, and a plain interpreter line is run without the exec bit.
 */
function placeAndRun(o: {
  envBytes: number;
  bodyBytes: number;
  byRead: boolean;
  interpreter: string[] | undefined;
  file: string;
  pidFile: string;
  step: string;
  secs: number;
  user?: string;
}): string {
  const file = shq(o.file);
  // The folder is 700: a script placed by bash (umask 022, which the script must keep) is private too.
  const place = o.byRead
    ? `LC_ALL=C IFS= read -r -N ${o.bodyBytes} __forge_body && LC_ALL=C printf '%s' "$__forge_body" > ${file} && unset __forge_body`
    : `head -c ${o.bodyBytes} > ${file}`;
  return [
    `LC_ALL=C IFS= read -r -N ${o.envBytes} __forge_env`,
    `[ -d ${WORK_DIR}/pids ] || mkdir -p -m 700 ${WORK_DIR} ${WORK_DIR}/scripts ${WORK_DIR}/pids`,
    `${place}${o.interpreter ? '' : ` && chmod 700 ${file}`} &&`,
    // Read in step with the bytes sent, the end mark proves nothing was cut short before it.
    `  LC_ALL=C IFS= read -r -N ${END_MARK.length} __forge_end && [ "$__forge_end" = ${END_MARK} ] ||`,
    `  { echo "${PLACE_FAILED}" >&2; exit ${PLACE_FAILED_EXIT}; }`,
    ...(o.user !== undefined ? asUser(o.user, o.file, o.step, o.interpreter) : []),
    `echo "$EPOCHREALTIME "${shq(o.step)}" start" >> ${WORK_DIR}/commands.log`,
    ...(o.user !== undefined
      ? []
      : [
          `cd /root && set -a && eval "$__forge_env" && set +a && unset __forge_env __forge_end`,
          // The script's own time limit: TERM, then KILL 10 s later; exit 124 or 137 means it was ended.
          // `timeout` runs the script; its pid is what an abort signals (endOnCancel).
          `timeout --kill-after=10s ${o.secs}s ${o.interpreter ? `${o.interpreter.map(shq).join(' ')} ` : ''}${file} < /dev/null &`,
        ]),
    ...(o.user !== undefined
      ? [
          // runuser -l: the user's login environment (HOME, PATH from /etc/profile, ~/.profile, its
          // home folder), then the step's env, handed over on a pipe (never a file, never argv).
          `timeout --kill-after=10s ${o.secs}s runuser -l ${o.user} -s /bin/bash -c ${shq(userCommand(o.step, o.interpreter))} 3< <(printf '%s' "$__forge_env") < /dev/null &`,
          'unset __forge_env __forge_end',
        ]
      : []),
    `echo $! > ${o.pidFile}`,
    'wait $!',
    'rc=$?',
    // Emptied, not removed (a builtin, no process): a late abort then signals nothing.
    `: > ${o.pidFile}`,
    `echo "$EPOCHREALTIME "${shq(o.step)}" exit $rc" >> ${WORK_DIR}/commands.log`,
    'exit $rc',
  ].join('\n');
}

/**
 * A step run as another user: the user must exist (a clear failure if not), and gets its own copy
 * of the script, readable by it alone, in a folder root owns (the work folder stays root's).
 */
function asUser(user: string, file: string, step: string, interpreter: string[] | undefined): string[] {
  return [
    `id -u ${user} > /dev/null 2>&1 || { echo "${NO_USER} ${user}" >&2; exit ${NO_USER_EXIT}; }`,
    `{ [ -d ${USER_SCRIPTS_DIR} ] || mkdir -p -m 711 ${USER_SCRIPTS_DIR}; } &&`,
    `  install -o ${user} -m ${interpreter ? '400' : '500'} ${shq(file)} ${shq(`${USER_SCRIPTS_DIR}/${step}`)} ||`,
    `  { echo "${PLACE_FAILED}" >&2; exit ${PLACE_FAILED_EXIT}; }`,
  ];
}

/** What the user's login shell runs: the env from fd 3, then the script in place of the shell. */
function userCommand(step: string, interpreter: string[] | undefined): string {
  const file = shq(`${USER_SCRIPTS_DIR}/${step}`);
  return [
    `IFS= read -r -d '' -u 3 __forge_env`,
    'exec 3<&-',
    'set -a',
    'eval "$__forge_env"',
    'set +a',
    'unset __forge_env',
    `exec ${interpreter ? `${interpreter.map(shq).join(' ')} ` : ''}${file}`,
  ].join('; ');
}

/**
 * Runs `fn` (a script on the droplet); should the activity be cancelled meanwhile (`client abort`,
 * a cancelled build), the script's process group is sent TERM over a new channel — closing an SSH
 * channel does not end a process without a terminal.
 */
export async function endOnCancel<T>(
  deps: ActivityDeps,
  ref: DropletRef,
  pidFile: string,
  fn: () => Promise<T>,
): Promise<T> {
  let signal: AbortSignal | undefined;
  try {
    signal = Context.current().cancellationSignal;
  } catch {
    signal = undefined; // not in an activity
  }
  const end = () => {
    deps.shells
      .run(ref, `pid=$(cat ${pidFile} 2>/dev/null) && kill -TERM "$pid" 2>/dev/null; true`)
      .catch(() => undefined);
  };
  signal?.addEventListener('abort', end, { once: true });
  try {
    return await fn();
  } finally {
    signal?.removeEventListener('abort', end);
  }
}
