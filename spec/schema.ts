/**
 * The build spec, defined once: TypeScript types, validation and the JSON Schema (for editor
 * completion) all come from these zod definitions.
 */
import { z } from 'zod';
import { STOCK_REASON_FOR_UPDATE } from '../contract/sbom';

const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'use lowercase letters, digits and dashes (at most 63), e.g. "lamp"');

/** A path inside the spec's folder, written relative to it. */
export const relativePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/'), 'must be relative to the spec\'s folder, not absolute')
  .refine((p) => !p.split('/').includes('..'), 'must stay inside the spec\'s folder (no "..")');

const absolutePath = z.string().refine((p) => p.startsWith('/'), 'must be an absolute path on the droplet, e.g. /etc/nginx/');

const fileMode = z
  .string()
  .regex(/^0?[0-7]{3}$/, 'must be an octal mode in quotes, e.g. "0644" or "0755"');

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name, e.g. LICENSE_KEY');

export const fileEntry = z.strictObject({
  src: relativePath.describe('file or folder in the spec\'s folder; a trailing slash copies a folder\'s contents'),
  dest: absolutePath.describe('where it lands on the droplet; a trailing slash means "into this folder"'),
  mode: fileMode.optional().describe('octal mode for the file (folders keep theirs)'),
});

const runEntry = z.strictObject({
  run: z.string().min(1).describe('a shell command run as root with bash'),
  name: z.string().min(1).optional().describe('a short label shown for the step'),
});

const scriptEntry = z.union([relativePath, runEntry], {
  error: 'must be a script path relative to the spec (e.g. scripts/01-setup.sh) or { run: "command" }',
});

/** The general, ordered form: uploads and commands interleaved as written. */
const stepEntry = z.union([z.strictObject({ upload: fileEntry }), z.strictObject({ script: relativePath }), runEntry], {
  error: 'must be { upload: {src, dest} }, { script: path } or { run: "command" }',
});

const envValue = z.union([z.string(), z.strictObject({ fromWorker: envName })], {
  error: 'must be a plain (non-secret) string, or { fromWorker: NAME } to read it from the worker\'s environment',
});

export const buildSpecSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: name.describe('image family; the snapshot is named <name>-<UTC timestamp> unless snapshot.name says otherwise'),
    vendor: name.describe('your company; the first-login script lives in /opt/<vendor>/'),
    droplet: z.strictObject({
      image: z.string().min(1).describe('base image slug, e.g. debian-12-x64'),
      region: z.string().min(1).default('nyc3'),
      size: z.string().min(1).default('s-1vcpu-1gb').describe('smallest by default, so the image fits every size'),
      tags: z.array(z.string().regex(/^[a-zA-Z0-9_:-]+$/, 'tags use letters, digits, "_", ":" and "-"')).default([]),
    }),
    apt: z
      .strictObject({
        upgrade: z.boolean().default(true),
        packages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.:=~-]*$/, 'must be a Debian package name, e.g. nginx')).default([]),
      })
      .default({ upgrade: true, packages: [] }),
    files: z.array(fileEntry).default([]).describe('uploaded in order before the scripts'),
    scripts: z.array(scriptEntry).default([]).describe('run in order as root; each is its own step'),
    steps: z.array(stepEntry).optional().describe('ordered uploads and commands, for when they interleave (instead of files + scripts)'),
    firstBoot: z.array(relativePath).default([]).describe('run once on each new droplet by cloud-init, in this order'),
    firstLogin: relativePath.optional().describe('run on root\'s first login only'),
    env: z.record(envName, envValue).default({}).describe('environment for scripts; secrets come from the worker'),
    snapshot: z
      .strictObject({
        name: z.string().regex(/^[A-Za-z0-9._-]+$/).optional(),
        regions: z.array(z.string().min(1)).default([]),
        tags: z.array(z.string().regex(/^[a-zA-Z0-9_:-]+$/)).default([]),
        keep: z.number().int().min(1).optional().describe('keep the newest N snapshots of this image family; older ones are deleted after a successful build (never a published one, or one in review)'),
      })
      .default({ regions: [], tags: [] }),
    tests: z.array(scriptEntry).default([]).describe('run as root on a fresh droplet made from the snapshot; each must exit 0, e.g. { run: "curl -fsS http://localhost/" }'),
    marketplace: z
      .strictObject({
        appId: z.string().min(1).describe('the app id from the Vendor Portal URL'),
        version: z.string().min(1).describe('the app version shown in the listing'),
        reasonForUpdate: z.string().min(1).default(STOCK_REASON_FOR_UPDATE),
        software: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]*$/, 'must be a Debian package name, e.g. nginx')).default([]).describe('packages to list with their installed versions'),
      })
      .optional()
      .describe('publish the image to this Marketplace app after a person approves (client start-build --publish)'),
    matrix: z
      .strictObject({
        image: z.array(z.string().min(1)).min(1).optional().describe('base image slugs'),
        size: z.array(z.string().min(1)).min(1).optional(),
        region: z.array(z.string().min(1)).min(1).optional(),
        concurrency: z.number().int().min(1).max(20).default(2).describe('variants built at once'),
      })
      .optional()
      .describe('build one variant per combination, as child builds of one parent build'),
  })
  .superRefine((spec, ctx) => {
    if (spec.steps && (spec.files.length > 0 || spec.scripts.length > 0)) {
      ctx.addIssue({ code: 'custom', path: ['steps'], message: 'use either steps, or files and scripts, not both' });
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
