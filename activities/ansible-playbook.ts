/**
 * ansible-playbook: the spec's playbook run on the build droplet against the droplet itself
 * (`-c local`, as Packer's ansible-local does), as root unless the spec names a user. The
 * playbook's folder is sent (verified, like an upload), then one exec installs ansible-core from
 * the distribution's packages for the step, installs the Galaxy requirements, runs the playbook,
 * and removes what the step installed and every file ansible left, whatever the playbook's outcome
 * (remote/ansible-local.ts). Its output is the step log; a failing task fails the step.
 */
import { ApplicationFailure } from '@temporalio/common';
import { promises as fs } from 'node:fs';
import type { ActivityDeps } from './runtime/deps';
import { check, checkContextPath, checkEnv, checkExtraVars, checked, specFailure } from './runtime/input-checks';
import { contextRoot } from './runtime/context-files';
import { runOnDroplet } from './remote/run-on-droplet';
import { endOnCancel, resolveEnv } from './remote/script';
import { sendTree } from './image/send-tree';
import { shq } from './remote/shell-quote';
import {
  PLACE_FAILED,
  PLACE_FAILED_EXIT,
  ansibleCommand,
  ansibleStdin,
  pidFile,
  playDir,
  prepareCommand,
} from './remote/ansible-local';
import type { AnsibleStep } from '../contract/plan';
import { DEFAULT_SCRIPT_TIMEOUT_MS, formatDuration } from '../contract/plan';
import type { AnsibleInput, CommandResult } from '../contract/steps';
import { FailureType } from '../contract/failures';

export function ansiblePlaybook(deps: ActivityDeps) {
  return async (input: AnsibleInput): Promise<CommandResult> => {
    // The step id names a folder on the droplet; every path and value is checked again here.
    const step = checked(check.stepId, input.step, 'step');
    const a = checked(check.ansibleStep, input.ansible, 'ansible');
    checkEnv(input.env, deps.workerSecrets);
    checkExtraVars(a.extraVars ?? {}, deps.workerSecrets);
    checked(check.digest, input.contextDigest, 'contextDigest');
    await checkFiles(deps, input.contextDigest, a);
    const { vars: env, secrets: envSecrets } = resolveEnv(input.env, deps);
    const { json, secrets: varSecrets } = extraVarsJson(a, deps);
    const secrets = [...envSecrets, ...varSecrets];

    await sendTree(
      deps,
      input.droplet,
      step,
      { contextDigest: input.contextDigest, src: `${a.dir}/`, dest: `${playDir(step)}/` },
      { title: `send ${a.dir}/ (the playbook's folder)`, before: prepareCommand(step) },
    );

    const limitMs = a.timeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS;
    const all = { ...env, ...a.env, IMAGE_FORGE_BUILD_ID: input.droplet.buildId, IMAGE_FORGE_STEP: step };
    const envText = Object.entries(all)
      .map(([k, v]) => `export ${k}=${shq(v)}\n`)
      .join('');
    const within = (p: string) => p.slice(a.dir.length + 1);
    const command = ansibleCommand({
      step,
      playbook: within(a.playbook),
      galaxy: a.galaxy !== undefined ? within(a.galaxy) : undefined,
      user: a.user,
      tags: a.tags ?? [],
      skipTags: a.skipTags ?? [],
      keep: a.keepAnsible === true,
      secs: Math.max(1, Math.round(limitMs / 1000)),
      aptProxy: deps.aptProxy,
      envBytes: Buffer.byteLength(envText),
      varsBytes: Buffer.byteLength(json),
      hasVars: json !== '{}',
    });
    const r = await endOnCancel(deps, input.droplet, shq(pidFile(step)), () =>
      runOnDroplet(deps, input.droplet, step, a.label, command, {
        stdin: ansibleStdin(envText, json),
        secrets,
        allowFailure: true,
      }),
    );
    // The env or variables cut short on the way: not the playbook's fault; worth a retry.
    if (r.exitCode === PLACE_FAILED_EXIT && r.tail.some((l) => l.includes(PLACE_FAILED)))
      throw new Error(`could not start ${a.label} on the droplet: ${r.tail.join(' | ').slice(-300)}`);
    if (r.exitCode === 124 || r.exitCode === 137)
      throw ApplicationFailure.create({
        message: `${a.label} timed out after ${formatDuration(limitMs)} (its timeout; set \`timeout:\` on it in the spec to allow longer)`,
        type: FailureType.ScriptFailed,
        nonRetryable: true,
        details: [{ exitCode: r.exitCode, tail: r.tail }],
      });
    if (r.exitCode !== 0) {
      // The failed task says why, not the lines after it (the recap, the removal).
      const why = failedTask(r.tail) ?? r.tail.findLast((l) => l.startsWith('image-forge: ')) ?? r.tail.at(-1);
      throw ApplicationFailure.create({
        message: `${a.label} exited with code ${r.exitCode}${why !== undefined ? `: ${why}` : ''}`,
        type: FailureType.ScriptFailed,
        nonRetryable: true,
        details: [{ exitCode: r.exitCode, tail: r.tail }],
      });
    }
    return { exitCode: r.exitCode, tail: r.tail, seconds: r.seconds, ...(r.warning ? { warning: r.warning } : {}) };
  };
}

/**
 * The failed task's line; when ansible prints its result over several lines (`=> {`), with the
 * result's "msg" joined to it.
 */
function failedTask(tail: string[]): string | undefined {
  const at = tail.findLastIndex((l) => /^(fatal|failed): |^ERROR! /.test(l));
  if (at < 0) return undefined;
  const line = tail[at]!;
  if (!line.endsWith('=> {')) return line;
  const end = tail.indexOf('}', at);
  const msg = tail.slice(at + 1, end < 0 ? undefined : end).find((l) => /^\s*"msg": /.test(l));
  return msg ? `${line.slice(0, -1)}${msg.trim().replace(/,$/, '')}` : line;
}

/** The playbook and the requirements file are files of the context (the folder is checked as it is sent). */
async function checkFiles(deps: ActivityDeps, digest: string, a: AnsibleStep): Promise<void> {
  const root = await contextRoot(deps, digest);
  for (const [rel, what] of [
    [a.playbook, 'ansible.playbook'],
    [a.galaxy, 'ansible.galaxy'],
  ] as const) {
    if (rel === undefined) continue;
    const real = await checkContextPath(root, rel, what);
    if (!(await fs.stat(real)).isFile()) throw specFailure(`refused input: ${what}: ${rel} is not a file`);
  }
}

/**
 * The extra variables as ansible-playbook's `-e @file` reads them (JSON keeps each value's type);
 * a `fromWorker` one is read here on the worker and masked in the step log (also as JSON escapes it).
 */
function extraVarsJson(a: AnsibleStep, deps: ActivityDeps): { json: string; secrets: string[] } {
  const vars = a.extraVars ?? {};
  const out: Record<string, string | number | boolean> = {};
  const secrets: string[] = [];
  for (const [name, source] of Object.entries(vars)) {
    if ('value' in source) {
      out[name] = source.value;
      continue;
    }
    const v = deps.workerEnv[source.fromWorker];
    if (v === undefined)
      throw ApplicationFailure.create({
        message: `extraVars.${name} reads ${source.fromWorker} from the worker's environment, but the worker has no ${source.fromWorker}: set it where the worker runs, restart the worker, then retry this step`,
        type: FailureType.MissingWorkerEnv,
        nonRetryable: true,
      });
    out[name] = v;
    secrets.push(v, JSON.stringify(v).slice(1, -1));
  }
  return { json: JSON.stringify(out), secrets };
}
