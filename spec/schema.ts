/**
 * The build spec, defined once: TypeScript types, validation and the JSON Schema (for editor
 * completion) all come from these zod definitions.
 */
import { z } from 'zod';
import { HOST_KEY_RE } from '../contract/plan-checks';
import { durationMs, MAX_ANSIBLE_TIMEOUT_MS, MAX_SCRIPT_TIMEOUT_MS } from '../contract/plan';
import {
  ANSIBLE_TIMEOUT_RULE,
  LIMITS,
  SCRIPT_TIMEOUT_RULE,
  ansibleTag,
  ansibleVarName,
  appId,
  aptPackages,
  doRegion,
  doSlug,
  envName,
  fileMode,
  keep,
  name,
  regions,
  snapshotName,
  stepName,
  tags,
  unixUser,
} from '../contract/plan-schema';

export { envName, fileMode, name };

/** A path inside the spec's folder, written relative to it. */
export const relativePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/'), "must be relative to the spec's folder, not absolute")
  .refine((p) => !p.split('/').includes('..'), 'must stay inside the spec\'s folder (no "..")');

export const absolutePath = z
  .string()
  .refine((p) => p.startsWith('/'), 'must be an absolute path on the droplet, e.g. /etc/nginx/');

/** A duration as Packer writes them: "6m", "1h30m", "90s". */
const duration = z.string().regex(/^(\d+(\.\d+)?(h|m|s|ms))+$/, 'must be a duration such as "10m" or "1h30m"');

export const fileEntry = z.strictObject({
  src: relativePath.describe("file or folder in the spec's folder; a trailing slash copies a folder's contents"),
  dest: absolutePath.describe('where it lands on the droplet; a trailing slash means "into this folder"'),
  mode: fileMode.optional().describe('octal mode for the file (folders keep theirs)'),
});

/** The same limit the worker checks (plan-schema.ts), in the spec's own words. */
const scriptTimeout = duration
  .refine((d) => durationMs(d) <= MAX_SCRIPT_TIMEOUT_MS, SCRIPT_TIMEOUT_RULE)
  .describe('end the script and fail its step after this long (default 60m, at most 115m)');

/** Another user than root: the user must exist on the droplet by the time the step runs. */
const runAs = unixUser
  .optional()
  .describe(
    'run as this user (it must exist by then) in a login shell, in its home folder, with the env as for root; default root',
  );

const runEntry = z.strictObject({
  run: z.string().min(1).describe('a shell command run with bash, as root unless user: says otherwise'),
  timeout: scriptTimeout.optional(),
  name: stepName.optional().describe('a short label shown for the step'),
  user: runAs,
});

const scriptEntry = z.union([relativePath, runEntry], {
  error: 'must be a script path relative to the spec (e.g. scripts/01-setup.sh) or { run: "command" }',
});

/** A value of a playbook's extra variable: plain, or a secret read on the worker. */
const extraVarValue = z.union(
  [
    z.string().refine((v) => !v.includes('\0'), 'holds a NUL byte'),
    z.number(),
    z.boolean(),
    z.strictObject({ fromWorker: envName }),
  ],
  { error: 'must be a string, a number, true/false, or { fromWorker: NAME } to read a secret on the worker' },
);

const ansibleTimeout = duration
  .refine((d) => durationMs(d) <= MAX_ANSIBLE_TIMEOUT_MS, ANSIBLE_TIMEOUT_RULE)
  .describe('end the playbook and fail its step after this long (default 60m, at most 100m)');

const ansibleEntry = z.strictObject({
  ansible: z
    .strictObject({
      playbook: relativePath.describe(
        "the playbook, in a folder of the spec's folder (e.g. ansible/site.yml); it runs on the build droplet against itself (-c local) as root; its inventory host is named default",
      ),
      dir: relativePath
        .optional()
        .describe(
          "the folder sent to the droplet, holding the playbook (its roles/, group_vars/, templates/); default: the playbook's folder",
        ),
      galaxy: relativePath
        .optional()
        .describe(
          'a Galaxy requirements file in that folder: its roles and collections are installed beside the playbook before the run',
        ),
      extraVars: z
        .record(ansibleVarName, extraVarValue)
        .optional()
        .describe('variables passed with -e (they win over every other); { fromWorker: NAME } for a secret'),
      env: z
        .record(envName, z.string())
        .optional()
        .describe("environment of the run (Packer's ansible_env_vars), e.g. ANSIBLE_NOCOLOR: 'True'"),
      user: unixUser
        .optional()
        .describe(
          'run ansible-playbook as this user of the droplet (it must exist; become then needs its sudo rights)',
        ),
      tags: z.array(ansibleTag).optional().describe('run only the tasks with these tags (--tags)'),
      skipTags: z.array(ansibleTag).optional().describe('skip the tasks with these tags (--skip-tags)'),
      keepAnsible: z
        .boolean()
        .optional()
        .describe('leave ansible-core on the image (default: removed after the step, with what it pulled in)'),
    })
    .refine((a) => a.dir !== undefined || a.playbook.includes('/'), {
      path: ['playbook'],
      message:
        "must be in a folder of the spec's folder (e.g. ansible/site.yml): that folder, with its roles and group_vars, is what goes to the droplet",
    }),
  timeout: ansibleTimeout.optional(),
  name: stepName.optional().describe('a short label shown for the step'),
});
export type AnsibleEntry = z.output<typeof ansibleEntry>;

/** The `scripts:` list: scripts, commands and playbooks, each its own step. */
const scriptsEntry = z.union([relativePath, runEntry, ansibleEntry], {
  error:
    'must be a script path relative to the spec (e.g. scripts/01-setup.sh), { run: "command" } or { ansible: { playbook: path } }',
});

/** The general, ordered form: uploads and commands interleaved as written. */
const stepEntry = z.union(
  [
    z.strictObject({ upload: fileEntry }),
    z.strictObject({ script: relativePath, timeout: scriptTimeout.optional(), user: runAs }),
    runEntry,
    ansibleEntry,
  ],
  {
    error: 'must be { upload: {src, dest} }, { script: path }, { run: "command" } or { ansible: { playbook: path } }',
  },
);

const envValue = z.union(
  [
    z.string().refine((v) => !v.includes('\0'), 'holds a NUL byte, which no environment variable can carry'),
    z.strictObject({ fromWorker: envName }),
  ],
  {
    error: "must be a plain (non-secret) string, or { fromWorker: NAME } to read it from the worker's environment",
  },
);

const debianPackage = z
  .string()
  .regex(/^[a-z0-9][a-z0-9+.-]{0,127}$/, 'must be a Debian package name without a version, e.g. nginx');

/** One row of the listing's software table (the Vendor API's softwareIncluded). */
const softwareEntry = z.strictObject({
  name: z.string().min(1).describe('the name shown in the listing'),
  version: z.string().min(1).default('detect').describe('a version, or "detect" from the package on the image'),
  package: debianPackage.optional().describe('the Debian package "detect" reads (default: name)'),
  releaseNotes: z.string().optional(),
  website: z.string().optional(),
  licenseType: z.string().optional(),
  licenseLink: z.string().optional(),
});

export const buildSpecSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: name.describe(
      'image family; the snapshot is named <name>-<UTC timestamp> unless snapshot.name says otherwise',
    ),
    vendor: name.describe('your company; the first-login script lives in /opt/<vendor>/'),
    droplet: z.strictObject({
      image: doSlug.describe('base image slug, e.g. debian-12-x64'),
      region: doRegion.default('nyc3'),
      size: doSlug.default('s-1vcpu-1gb').describe('smallest by default, so the image fits every size'),
      tags: tags.default([]),
      vpcUuid: z.string().uuid().optional().describe('create the build droplet in this VPC (needs privateNetworking)'),
      privateNetworking: z.boolean().optional(),
      ipv6: z.boolean().optional(),
      monitoring: z
        .boolean()
        .optional()
        .describe(
          "installs DigitalOcean's agent in /opt/digitalocean, which fails the Marketplace image check unless a step removes it",
        ),
      connectWithPrivateIp: z
        .boolean()
        .optional()
        .describe('the worker reaches the droplet on its private IPv4 (needs privateNetworking)'),
      userData: z
        .string()
        .optional()
        .describe('cloud-init user data for the build droplet; the tool adds its own cloud-config next to it'),
      userDataFile: relativePath.optional().describe("like userData, read from a file in the spec's folder"),
    }),
    ssh: z
      .strictObject({
        bastion: z.strictObject({
          host: z.string().min(1),
          port: z.number().int().min(1).max(65535).default(22),
          user: z.string().min(1).default('root'),
          hostKey: z
            .string()
            .regex(HOST_KEY_RE, 'must be the bastion\'s host key, e.g. "ssh-ed25519 AAAA…" (from ssh-keyscan)')
            .optional()
            .describe('the bastion\'s host key, "ssh-ed25519 AAAA…": a build needs it (no trust on first use)'),
          privateKey: z
            .strictObject({ fromWorker: envName })
            .optional()
            .describe(
              "a worker environment variable naming the bastion's private key file; default: the worker's login key",
            ),
        }),
      })
      .optional()
      .describe('reach build and test droplets through an SSH jump host'),
    timeouts: z
      .strictObject({
        state: duration.optional().describe('a droplet reaching a state, e.g. active (Packer default 6m)'),
        snapshot: duration.optional().describe('the snapshot action (Packer default 60m)'),
        transfer: duration.optional().describe('each snapshot transfer to another region'),
      })
      .optional(),
    api: z
      .strictObject({
        retryMax: z.number().int().min(0).optional().describe('retries of a failing DigitalOcean API call'),
        retryWaitMin: z.number().min(0).optional().describe('seconds before the first retry'),
        retryWaitMax: z.number().min(0).optional().describe('longest wait between retries, in seconds'),
      })
      .optional(),
    apt: z
      .strictObject({
        upgrade: z.boolean().default(true),
        packages: aptPackages.default([]),
      })
      .default({ upgrade: true, packages: [] }),
    files: z.array(fileEntry).default([]).describe('uploaded in order before the scripts'),
    scripts: z.array(scriptsEntry).default([]).describe('run in order as root; each is its own step'),
    steps: z
      .array(stepEntry)
      .optional()
      .describe('ordered uploads and commands, for when they interleave (instead of files + scripts)'),
    firstBoot: z.array(relativePath).default([]).describe('run once on each new droplet by cloud-init, in this order'),
    firstLogin: relativePath.optional().describe("run on root's first login only"),
    env: z.record(envName, envValue).default({}).describe('environment for scripts; secrets come from the worker'),
    snapshot: z
      .strictObject({
        name: snapshotName.optional(),
        regions: regions.default([]),
        tags: tags.default([]),
        waitForTransfer: z
          .boolean()
          .optional()
          .describe(
            'false: the build ends once the transfers have started (default: wait until the snapshot is in every region)',
          ),
        keep: keep
          .optional()
          .describe(
            'keep the newest N snapshots of this image family; older ones are deleted after a successful build (never a published one, or one in review)',
          ),
      })
      .default({ regions: [], tags: [] }),
    tests: z
      .array(scriptEntry)
      .default([])
      .describe(
        'run as root on a fresh droplet made from the snapshot; each must exit 0, e.g. { run: "curl -fsS http://localhost/" }',
      ),
    marketplace: z
      .strictObject({
        appId: appId.describe('the app id from the Vendor Portal URL'),
        version: z
          .string()
          .min(1)
          .optional()
          .describe('the app version shown in the listing; left as it is when omitted'),
        reasonForUpdate: z.string().min(1).optional().describe('what changed; left as it is when omitted'),
        osVersion: z
          .string()
          .optional()
          .describe(
            'the OS shown in the listing, or "detect" for the image\'s /etc/os-release; left as it is when omitted',
          ),
        software: z
          .array(z.union([debianPackage, softwareEntry]))
          .optional()
          .describe(
            'the software table: package names (version detected on the image) or entries; left as it is when omitted',
          ),
      })
      .optional()
      .describe('publish the image to this Marketplace app after a person approves (client start-build --publish)'),
    matrix: z
      .strictObject({
        image: z.array(doSlug).min(1).optional().describe('base image slugs'),
        size: z.array(doSlug).min(1).optional(),
        region: z.array(doRegion).min(1).optional(),
        concurrency: z
          .number()
          .int()
          .min(1)
          .max(LIMITS.matrixConcurrency)
          .default(2)
          .describe('variants built at once'),
      })
      .optional()
      .describe('build one variant per combination, as child builds of one parent build'),
  })
  .superRefine((spec, ctx) => {
    if (spec.steps && (spec.files.length > 0 || spec.scripts.length > 0)) {
      ctx.addIssue({ code: 'custom', path: ['steps'], message: 'use either steps, or files and scripts, not both' });
    }
    if (spec.droplet.userData !== undefined && spec.droplet.userDataFile !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['droplet', 'userDataFile'],
        message: 'use either userData or userDataFile, not both',
      });
    }
    for (const k of ['vpcUuid', 'connectWithPrivateIp'] as const) {
      if (spec.droplet[k] && !spec.droplet.privateNetworking) {
        ctx.addIssue({ code: 'custom', path: ['droplet', k], message: 'needs privateNetworking: true' });
      }
    }
    if (spec.matrix && !spec.matrix.image && !spec.matrix.size && !spec.matrix.region) {
      ctx.addIssue({ code: 'custom', path: ['matrix'], message: 'name at least one of image, size or region to vary' });
    }
  });

export type BuildSpec = z.output<typeof buildSpecSchema>;
export type FileEntry = z.output<typeof fileEntry>;

/** JSON Schema of the spec, for editors (`client schema`, and examples' `$schema`). */
export function buildSpecJsonSchema(): unknown {
  return z.toJSONSchema(buildSpecSchema, { io: 'input', unrepresentable: 'any' });
}
