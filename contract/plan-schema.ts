/**
 * The build plan's rules, defined once: the spec loader (client validate, start-build) checks the
 * plan a spec makes with `planSchema`, and the worker's check-input and every activity check what
 * they act on with the same rules and limits — so what the client accepts, the worker accepts.
 * zod only, no Node APIs: the workflow bundle may load contract/.
 */
import { z } from 'zod';
import { MAX_ANSIBLE_TIMEOUT_MS, MAX_SCRIPT_TIMEOUT_MS, formatDuration, type BuildPlan } from './plan';
import { MATRIX_MAX_CHILDREN, MATRIX_MAX_CONCURRENCY } from './plan-checks';

export const LIMITS = {
  steps: 500,
  envVars: 200,
  envValueBytes: 64 * 1024,
  inlineScriptBytes: 256 * 1024,
  pathChars: 1024,
  packages: 2000,
  tags: 50,
  regions: 20,
  firstBoot: 100,
  tests: 200,
  /** An ansible step's extra variables, and its tags and skipped tags (each). */
  extraVars: 200,
  ansibleTags: 50,
  /** Snapshots of a family retention keeps at most. */
  keep: 1000,
  /** Variants of one matrix build, and how many build at once. */
  matrixChildren: MATRIX_MAX_CHILDREN,
  matrixConcurrency: MATRIX_MAX_CONCURRENCY,
};

/** A limit's message: what is too many, and the most allowed. */
const atMost = (n: number, what: string) => `has more than ${n} ${what}: that is the limit`;

/** An image family or vendor: part of snapshot names, tags and /opt/<vendor>/. */
export const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'use lowercase letters, digits and dashes (at most 63), e.g. "lamp"');

export const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name, e.g. LICENSE_KEY');

export const fileMode = z.string().regex(/^0?[0-7]{3}$/, 'must be an octal mode in quotes, e.g. "0644" or "0755"');

/** DigitalOcean's formats. */
export const doSlug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be a DigitalOcean slug (lowercase letters, digits, ".", "_", "-")');
export const REGION_RE = /^[a-z]{3}[0-9]$/;
export const doRegion = z.string().regex(REGION_RE, 'must be a DigitalOcean region slug, e.g. nyc3');
export const doTag = z
  .string()
  .regex(/^[A-Za-z0-9_:-]{1,255}$/, 'must be a DigitalOcean tag (letters, digits, "_", ":" and "-")')
  // The builder's own tags say which build and run made a droplet or image: no input may forge one.
  .refine(
    (t) => !/^image-forge(-keep|-build-|-run-|$)/.test(t),
    "is one of the builder's own tags (image-forge, image-forge-keep, image-forge-build-…, image-forge-run-…)",
  );
export const snapshotName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/, 'must be a snapshot name (letters, digits, ".", "_", "-")');
export const appId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/,
    'must be the Marketplace app id from the Vendor Portal URL (letters, digits, "_" and "-", at most 64)',
  );
/** A DigitalOcean image or droplet id. */
export const doId = z.number().int('must be a whole number').positive('must be a DigitalOcean id (a positive number)');
export const ipv4 = z
  .string()
  .regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, 'must be an IPv4 address');

/** A Debian package name, optionally pinned (nginx, libssl3:amd64, nginx=1.24*, openssl=3.0.~). */
export const aptPackage = z
  .string()
  .regex(/^[a-z0-9][a-z0-9+.:=~-]{0,127}$/, 'must be a Debian package name, e.g. nginx');

/** A step's id (01-script, first-boot, verify): a file name on the droplet and a word in its logs. */
export const stepId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be a step id (lowercase letters, digits, ".", "_", "-")');
/** A script's `name:` in the spec: a label shown for its step, plain words only. */
export const stepName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9 ._:,+/()-]{0,99}$/,
    'must be a short label: letters, digits, spaces and . _ : , + / ( ) - (no quotes or $), at most 100',
  );

/**
 * A user a script step runs as (`user:`): a name as Debian's useradd makes them, nothing a shell
 * or runuser could read as anything else (no leading "-", no "$", no spaces), at most 32.
 */
export const unixUser = z
  .string()
  .regex(
    /^[a-z_][a-z0-9_-]{0,31}$/,
    'must be a user name on the droplet: a lowercase letter or "_", then lowercase letters, digits, "_" or "-" (at most 32), e.g. app',
  );

export const SCRIPT_TIMEOUT_RULE = `must be at most ${formatDuration(MAX_SCRIPT_TIMEOUT_MS)} (the step's own limit is 2h)`;
export const scriptTimeoutMs = z
  .number()
  .int('must be a whole number of milliseconds')
  .positive('must be more than 0')
  .max(MAX_SCRIPT_TIMEOUT_MS, SCRIPT_TIMEOUT_RULE);

export const ANSIBLE_TIMEOUT_RULE = `must be at most ${formatDuration(MAX_ANSIBLE_TIMEOUT_MS)} (the step also installs and removes ansible-core within its 2h)`;
export const ansibleTimeoutMs = z
  .number()
  .int('must be a whole number of milliseconds')
  .positive('must be more than 0')
  .max(MAX_ANSIBLE_TIMEOUT_MS, ANSIBLE_TIMEOUT_RULE);

/** A variable name Ansible accepts (`-e name=…`), e.g. app_port. */
export const ansibleVarName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an Ansible variable name (letters, digits and "_"), e.g. app_port');
/** A tag as --tags/--skip-tags take it: a comma separates tags, so none holds one (nor a space or quote). */
export const ansibleTag = z
  .string()
  .regex(
    /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,99}$/,
    'must be an Ansible tag: letters, digits, "_", ".", ":" and "-" (no commas, spaces or quotes), at most 100',
  );
/** Set by the ansible step itself so that ansible's own files stay out of the image. */
export const ANSIBLE_STEP_ENV = ['ANSIBLE_HOME', 'ANSIBLE_LOCAL_TEMP', 'ANSIBLE_REMOTE_TEMP'];

export const keep = z
  .number()
  .int('must be a whole number')
  .min(1, 'must be at least 1 (retention never deletes the image just built)')
  .max(LIMITS.keep, `must be at most ${LIMITS.keep}`);

/** A context path as the plan names it: relative, normalised, inside the build context. */
export const contextPath = z
  .string()
  .min(1)
  .max(LIMITS.pathChars)
  .refine((p) => isNormalRelative(p), 'must be a normalised path inside the build context (relative, no "..")');
export const destPath = z
  .string()
  .max(LIMITS.pathChars)
  .refine((p) => isNormalAbsolute(p), 'must be a normalised absolute path on the droplet (no "..", "//" or ".")');

/** Lists with a limit, as the spec and the plan both write them. */
export const tags = z.array(doTag).max(LIMITS.tags, atMost(LIMITS.tags, 'tags'));
export const regions = z.array(doRegion).max(LIMITS.regions, atMost(LIMITS.regions, 'regions'));
export const aptPackages = z.array(aptPackage).max(LIMITS.packages, atMost(LIMITS.packages, 'packages'));

const stepLabel = z
  .string()
  .max(300)
  .refine((l) => !Array.from(l).some((c) => c < ' ' || c === '\x7f'), 'must be one line of text');
const scriptStep = z.object({
  kind: z.literal('script'),
  path: contextPath.optional(),
  run: z
    .string()
    .max(LIMITS.inlineScriptBytes, 'is over 256 KiB: put a command this long in a file and name it with script:')
    .optional(),
  /** Shown in logs and the Web UI: the script's name, or its command shortened. */
  label: stepLabel,
  name: stepName.optional(),
  timeoutMs: scriptTimeoutMs.optional(),
  user: unixUser.optional(),
});
const envValue = z
  .string()
  .max(LIMITS.envValueBytes, 'is over 64 KiB: pass something this big as a file (an upload step)')
  .refine((v) => !v.includes('\0'), 'holds a NUL byte, which no environment variable can carry');
const extraVarText = z
  .string()
  .max(LIMITS.envValueBytes, "is over 64 KiB: put a value this big in the playbook's group_vars")
  .refine((v) => !v.includes('\0'), 'holds a NUL byte');
const extraVar = z.union([
  z.object({ value: z.union([extraVarText, z.number().finite(), z.boolean()]) }),
  z.object({ fromWorker: envName }),
]);
/** A path the ansible step names: `inside` its folder (what goes to the droplet). */
const inside = (p: string, dir: string) => p.startsWith(`${dir.replace(/\/$/, '')}/`);
export const ansibleStep = z
  .object({
    kind: z.literal('ansible'),
    playbook: contextPath.refine((p) => !p.endsWith('/'), 'must be a playbook file, not a folder'),
    dir: contextPath,
    galaxy: contextPath.refine((p) => !p.endsWith('/'), 'must be a requirements file, not a folder').optional(),
    extraVars: z
      .record(ansibleVarName, extraVar)
      .refine((e) => Object.keys(e).length <= LIMITS.extraVars, atMost(LIMITS.extraVars, 'variables'))
      .optional(),
    env: z
      .record(envName, envValue)
      .refine((e) => Object.keys(e).length <= LIMITS.envVars, atMost(LIMITS.envVars, 'variables'))
      .refine(
        (e) => !ANSIBLE_STEP_ENV.some((n) => n in e),
        `must not set ${ANSIBLE_STEP_ENV.join(', ')}: the step sets them itself, to keep ansible's files out of the image`,
      )
      .optional(),
    user: unixUser.optional(),
    tags: z.array(ansibleTag).max(LIMITS.ansibleTags, atMost(LIMITS.ansibleTags, 'tags')).optional(),
    skipTags: z.array(ansibleTag).max(LIMITS.ansibleTags, atMost(LIMITS.ansibleTags, 'tags')).optional(),
    keepAnsible: z.boolean().optional(),
    label: stepLabel,
    name: stepName.optional(),
    timeoutMs: ansibleTimeoutMs.optional(),
  })
  .superRefine((s, ctx) => {
    if (!inside(s.playbook, s.dir))
      ctx.addIssue({
        code: 'custom',
        path: ['playbook'],
        message: `must be inside ${s.dir}, the folder sent to the droplet (set dir: to a folder holding it)`,
      });
    if (s.galaxy !== undefined && !inside(s.galaxy, s.dir))
      ctx.addIssue({
        code: 'custom',
        path: ['galaxy'],
        message: `must be inside ${s.dir}, the folder sent to the droplet`,
      });
  });
const uploadStep = z.object({ kind: z.literal('upload'), src: contextPath, dest: destPath, mode: fileMode.optional() });
const envSource = z.union([z.object({ value: envValue }), z.object({ fromWorker: envName })]);
export const env = z
  .record(envName, envSource)
  .refine((e) => Object.keys(e).length <= LIMITS.envVars, atMost(LIMITS.envVars, 'variables'));
export const dropletSpec = z.object({
  image: doSlug,
  region: doRegion,
  size: doSlug,
  tags,
});

/** The plan's shapes, formats and limits (the builder options have their own rules: plan-checks.ts). */
export const planSchema = z.object({
  name,
  vendor: name,
  droplet: dropletSpec,
  apt: z.object({
    upgrade: z.boolean(),
    packages: aptPackages,
  }),
  steps: z
    .array(z.discriminatedUnion('kind', [uploadStep, scriptStep, ansibleStep]))
    .max(LIMITS.steps, atMost(LIMITS.steps, 'steps')),
  firstBoot: z.array(contextPath).max(LIMITS.firstBoot, atMost(LIMITS.firstBoot, 'scripts')),
  firstLogin: contextPath.optional(),
  env,
  snapshot: z.object({
    name: snapshotName.optional(),
    regions,
    tags,
    keep: keep.optional(),
  }),
  tests: z.array(scriptStep).max(LIMITS.tests, atMost(LIMITS.tests, 'tests')),
  marketplace: z
    .object({
      appId,
      version: z.string().min(1).max(100).optional(),
      reasonForUpdate: z.string().max(2000).optional(),
      osVersion: z.string().max(200).optional(),
      software: z
        .array(
          z.union([
            z.string().max(128),
            z.object({
              name: z.string().min(1).max(128),
              version: z.string().max(128).optional(),
              package: z.string().max(128).optional(),
              releaseNotes: z.string().max(2000).optional(),
              website: z.string().max(500).optional(),
              licenseType: z.string().max(200).optional(),
              licenseLink: z.string().max(500).optional(),
            }),
          ]),
        )
        .max(LIMITS.packages)
        .optional(),
    })
    .optional(),
});

/** One problem of a plan: where (a key path into the plan) and the rule it breaks. */
export interface PlanIssue {
  path: (string | number)[];
  message: string;
}

/** Every way `plan` breaks the plan's rules; none means fine. */
export function planIssues(plan: unknown): PlanIssue[] {
  const r = planSchema.safeParse(plan);
  if (r.success) return [];
  return r.error.issues.map((i) => ({
    path: i.path.map((k) => (typeof k === 'symbol' ? String(k) : k)),
    // A bad key of a map (an env or variable name): the rule it breaks, not only that it is bad.
    message: i.code === 'invalid_key' && i.issues[0] ? i.issues[0].message : i.message,
  }));
}

/** Relative and normalised (what path.posix.normalize leaves as it is), "a/" allowed for a folder. */
export function isNormalRelative(p: string): boolean {
  if (p.includes('\0') || p.startsWith('/')) return false;
  const bare = p.endsWith('/') ? p.slice(0, -1) : p;
  return bare !== '' && bare.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

export function isNormalAbsolute(p: string): boolean {
  if (!p.startsWith('/') || /[\0\n\r]/.test(p)) return false;
  const bare = p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
  return (
    bare === '/' ||
    bare
      .slice(1)
      .split('/')
      .every((s) => s !== '' && s !== '.' && s !== '..')
  );
}

/**
 * The hand-written plan types (plan.ts, with the builder options planSchema leaves to
 * plan-checks.ts) and the schema say the same of every field the schema covers, both ways: a field
 * added to one and not the other fails the typecheck.
 */
type SchemaPlan = z.infer<typeof planSchema>;
type CoveredPlan = Omit<BuildPlan, 'ssh' | 'timeouts' | 'api' | 'droplet' | 'snapshot'> & {
  droplet: Pick<BuildPlan['droplet'], 'image' | 'region' | 'size' | 'tags'>;
  snapshot: Omit<BuildPlan['snapshot'], 'waitForTransfer'>;
};
export const planTypesAgree: [(p: SchemaPlan) => CoveredPlan, (p: CoveredPlan) => SchemaPlan] = [(p) => p, (p) => p];
