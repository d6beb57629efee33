/** Maps a key path in the plan back to the spec key that made it, for error positions. */
import type { AnsibleEntry, BuildSpec } from './schema';

type KeyPath = (string | number)[];

/** Plan field → spec key where the two differ. */
const SCRIPT_FIELDS: Record<string, string> = { timeoutMs: 'timeout', label: 'name', path: 'script' };
const TIMEOUT_FIELDS: Record<string, string> = { stateMs: 'state', snapshotMs: 'snapshot', transferMs: 'transfer' };

export function specKeyOf(spec: BuildSpec, planPath: KeyPath): KeyPath {
  const [head, index, field, ...rest] = planPath;
  if (head === 'steps' && typeof index === 'number') return stepKey(spec, index, field, rest);
  if (head === 'tests' && typeof index === 'number') {
    const entry = spec.tests[index];
    if (typeof entry === 'string' || field === undefined) return ['tests', index];
    return ['tests', index, scriptField(field), ...rest];
  }
  if (head === 'droplet' && index === 'userData')
    return ['droplet', spec.droplet.userDataFile !== undefined ? 'userDataFile' : 'userData'];
  if (head === 'timeouts' && typeof index === 'string') return ['timeouts', TIMEOUT_FIELDS[index] ?? index];
  // The spec writes env: { NAME: value } for the plan's { NAME: { value } }.
  if (head === 'env' && index !== undefined) return ['env', index];
  return planPath;
}

/** Plan steps come from `steps:`, or from `files:` then `scripts:`. */
function stepKey(spec: BuildSpec, i: number, field: string | number | undefined, rest: KeyPath): KeyPath {
  if (spec.steps) {
    const entry = spec.steps[i];
    if (field === undefined || entry === undefined) return ['steps', i];
    if ('upload' in entry) return ['steps', i, 'upload', field, ...rest];
    if ('ansible' in entry) return ansibleKey(['steps', i], entry, field, rest);
    return ['steps', i, scriptField(field), ...rest];
  }
  if (i < spec.files.length) return field === undefined ? ['files', i] : ['files', i, field, ...rest];
  const n = i - spec.files.length;
  const entry = spec.scripts[n];
  if (field === undefined || typeof entry === 'string') return ['scripts', n];
  if (entry !== undefined && 'ansible' in entry) return ansibleKey(['scripts', n], entry, field, rest);
  return ['scripts', n, scriptField(field), ...rest];
}

/** An ansible step's plan field → its key in the spec's `ansible:` entry. */
function ansibleKey(at: KeyPath, entry: AnsibleEntry, field: string | number, rest: KeyPath): KeyPath {
  if (field === 'timeoutMs' || field === 'label' || field === 'name') return [...at, scriptField(field)];
  // A folder the spec did not name is the playbook's.
  if (field === 'dir' && entry.ansible.dir === undefined) return [...at, 'ansible', 'playbook'];
  // The spec writes extraVars: { name: value } for the plan's { name: { value } }.
  if (field === 'extraVars') return [...at, 'ansible', field, ...rest.slice(0, 1)];
  return [...at, 'ansible', field, ...rest];
}

function scriptField(field: string | number): string | number {
  return typeof field === 'string' ? (SCRIPT_FIELDS[field] ?? field) : field;
}
