/**
 * Which of the worker's environment variables a spec's `env: { X: { fromWorker: NAME } }` may
 * read: only those its operator listed in IMAGE_FORGE_WORKER_SECRETS, and never one of the
 * worker's own credentials (a build droplet is the spec author's, not the worker's).
 */
export const WORKER_SECRETS_VAR = 'IMAGE_FORGE_WORKER_SECRETS';

/**
 * The shortest value a worker hands out as a secret. Step logs mask every value the worker may
 * hand out; a shorter one is too likely to turn up by chance (masking it would garble the logs)
 * and too easy to guess from what is left around it.
 */
export const MIN_SECRET_CHARS = 8;

/** Why the worker never hands out `name`, or undefined when it may (if listed). */
export function credentialReason(name: string): string | undefined {
  const own = ['DIGITALOCEAN_TOKEN', 'DIGITALOCEAN_ACCESS_TOKEN', 'DIGITALOCEAN_VENDOR_TOKEN', 'TEMPORAL_API_KEY'];
  if (own.includes(name)) return `${name} is the worker's own credential`;
  if (name.startsWith('TEMPORAL_TLS_')) return `${name} is the worker's Temporal TLS credential`;
  if (name.startsWith('AWS_')) return `${name} belongs to the worker's build store (AWS_*)`;
  if (name.startsWith('SPACES_')) return `${name} belongs to the worker's build store (SPACES_*)`;
  if (name.startsWith('IMAGE_FORGE_')) return `${name} is the worker's own setting (IMAGE_FORGE_*)`;
  return undefined;
}

/** The names listed in IMAGE_FORGE_WORKER_SECRETS ("A, B,C"). Throws a one-line reason for a refused name. */
export function parseWorkerSecrets(value: string | undefined): string[] {
  const names = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n))
      throw new Error(`${WORKER_SECRETS_VAR} lists "${n}", which is not an environment variable name`);
    const why = credentialReason(n);
    if (why)
      throw new Error(`${WORKER_SECRETS_VAR} lists ${n}, which no build may read: ${why}; remove it from the list`);
  }
  return [...new Set(names)];
}

/**
 * Why the worker cannot hand out these values of its listed variables, one line each (naming the
 * variable, never showing its value); empty when it can. An unset variable is not refused here: a
 * build that reads it fails, naming it.
 */
export function shortWorkerSecrets(names: readonly string[], env: Record<string, string | undefined>): string[] {
  return names
    .filter((n) => env[n] !== undefined && env[n]!.length < MIN_SECRET_CHARS)
    .map(
      (n) =>
        `${n} (listed in ${WORKER_SECRETS_VAR}) is shorter than ${MIN_SECRET_CHARS} characters: step logs could not mask it safely; give it a longer value or remove it from the list`,
    );
}

/** Why a spec may not read `name` from a worker that allows `allowed`, or undefined when it may. */
export function refusedWorkerVariable(envName: string, name: string, allowed: readonly string[]): string | undefined {
  const why = credentialReason(name);
  if (why) return `env ${envName} reads ${name} from the worker's environment, which no build may read: ${why}`;
  if (!allowed.includes(name))
    return `env ${envName} reads ${name} from the worker's environment, but the worker does not allow it: its operator must add ${name} to ${WORKER_SECRETS_VAR} (comma-separated) and restart the worker, then retry`;
  return undefined;
}
