/**
 * The spec's steps from the pending list, and its shared `env`: values set differently by
 * several provisioners are exported by each inline command, and secrets are noted.
 */
import { formatPath } from '../positions';
import type { EnvEntry, Problem, SpecObject, StepEntry } from '../model';
import { inlineBody, shq } from './commands';
import { MapState } from './state';
import type { ProvEnv } from './state';

export function finishSteps(st: MapState, spec: SpecObject): StepEntry[] {
  const values = new Map<string, Map<string, EnvEntry>>();
  for (const pe of st.provEnvs) {
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
  const failed = new Map<ProvEnv, Problem>();
  for (const k of conflicting) {
    for (const pe of st.provEnvs) {
      const v = pe.vars.get(k);
      if (v === undefined || failed.has(pe) || (!pe.hasScripts && typeof v === 'string')) continue;
      const others = st.provEnvs.filter((o) => o !== pe && o.vars.has(k)).map((o) => formatPath(o.at));
      failed.set(pe, {
        path: [...pe.at, 'environment_vars'],
        message: `${k} is set differently here and in ${others.join(', ')}: the spec's env is shared by all steps, and ${typeof v === 'string' ? 'a script file cannot get its own value' : 'a secret cannot be set per step'}; use one value, or rename the variable in one of the scripts`,
      });
    }
  }
  const steps: StepEntry[] = [];
  const gaps: Problem[] = [];
  const reported = new Set<ProvEnv>();
  const scopeWidened = new Set<string>();
  const shellProvs = st.provEnvs.filter((pe) => !failed.has(pe));
  for (const k of Object.keys(shared)) if (shellProvs.some((pe) => !pe.vars.has(k))) scopeWidened.add(k);
  for (const x of st.pending) {
    if (x.kind === 'gap') {
      gaps.push({ ...x.problem, step: steps.length });
      continue;
    }
    if ((x.kind === 'script' || x.kind === 'run') && x.env && failed.has(x.env)) {
      if (!reported.has(x.env)) gaps.push({ ...failed.get(x.env)!, step: steps.length });
      reported.add(x.env);
      continue;
    }
    if (x.kind === 'upload') steps.push({ upload: { src: x.src, dest: x.dest } });
    else if (x.kind === 'script') steps.push({ script: x.path, ...(x.user ? { user: x.user } : {}) });
    else if (x.kind === 'ansible') steps.push({ ansible: x.ansible });
    else {
      const exports = [...(x.env?.vars ?? [])]
        .filter(([k]) => conflicting.has(k))
        .map(([k, v]) => `export ${k}=${shq(v as string)}`);
      steps.push({ run: inlineBody(x.body, x.setFlags, exports, x.validExit), ...(x.user ? { user: x.user } : {}) });
    }
  }
  for (const g of gaps) st.problems.push(g);
  if (conflicting.size > 0) {
    const ok = [...conflicting].filter((k) => st.provEnvs.some((pe) => pe.vars.has(k) && !pe.hasScripts));
    if (ok.length > 0)
      st.notes.push(
        `env ${ok.join(', ')}: set to different values by different provisioners, so each inline command exports its own`,
      );
  }
  if (scopeWidened.size > 0) {
    st.notes.push(
      `env: Packer sets environment_vars per provisioner; the spec's env applies to every step, so ${[...scopeWidened].join(', ')} ${scopeWidened.size > 1 ? 'are' : 'is'} now also set for steps that did not have ${scopeWidened.size > 1 ? 'them' : 'it'}`,
    );
  }
  if (Object.keys(shared).length > 0) spec.env = shared;
  if (st.cleanupAt !== undefined && st.pending.slice(st.cleanupAt).some((x) => x.kind !== 'gap')) {
    st.notes.push(
      'cleanup: the template cleaned up before later provisioners; the tool cleans up after every step (cleanup removes the login key, so it must come last)',
    );
  }
  return steps;
}
