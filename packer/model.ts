/**
 * The template model every input format is read into (legacy JSON, HCL2), and the evaluator that
 * resolves its values. After reading, both formats share the map stage (model → build spec) and
 * the report (notes, problems with file:line:column).
 */
import type { Segment } from './template-functions';
import type { JsonPath } from './positions';

export type { JsonPath };

export interface Problem {
  /** Where in the template, e.g. ['provisioners', 3] or ['build', 'provisioner', 2, 'inline']. */
  path: JsonPath;
  message: string;
  /** Where in `steps` the unconverted provisioner would have been (for --partial comments). */
  step?: number;
}

/** A string whose value holds secrets or build-time parts (HCL2 values, already evaluated). */
export class Segments {
  constructor(readonly segments: Segment[]) {}
}

export interface Evaluated<T> {
  value?: T;
  problems: string[];
  notes: string[];
}

export interface Evaluator {
  /** The value with its expressions evaluated (HCL2), or as written (JSON, evaluated per string). */
  resolve(value: unknown): Evaluated<unknown>;
  /** A string value as segments; `fields` are Go-template fields allowed in it ({{.Path}}). */
  segments(value: unknown, fields?: ReadonlySet<string>): Evaluated<Segment[]>;
  /** Sensitive variables (never resolved). */
  readonly sensitive: ReadonlySet<string>;
  /** How a user sets a variable, e.g. "--var name=VALUE". */
  readonly varHint: string;
}

export interface SourceModel {
  /** How provisioners' only/except name it: "digitalocean" (JSON builder name) or "digitalocean.web". */
  ref: string;
  at: JsonPath;
  options: Record<string, unknown>;
}

export interface BlockModel {
  type: string;
  at: JsonPath;
  raw: Record<string, unknown>;
}

export interface TemplateModel {
  format: 'json' | 'hcl2';
  /** The template file (or the folder of an HCL2 configuration), for the spec's name. */
  file: string;
  sources: SourceModel[];
  provisioners: BlockModel[];
  /** Post-processors, each sequence flattened in order. */
  postProcessors: BlockModel[];
  evaluator: Evaluator;
  /** Found while reading (another builder, an unknown key). */
  problems: Problem[];
  notes: string[];
}

/** The spec's `ansible:` step (spec/schema.ts), as an import writes it. */
export interface AnsibleSpec {
  ansible: {
    playbook: string;
    dir?: string;
    galaxy?: string;
    extraVars?: Record<string, string | number | boolean | { fromWorker: string }>;
    env?: Record<string, string>;
    user?: string;
    tags?: string[];
    skipTags?: string[];
  };
}

export type StepEntry =
  | { upload: { src: string; dest: string } }
  | { script: string; user?: string }
  | { run: string; user?: string }
  | AnsibleSpec;
export type EnvEntry = string | { fromWorker: string };

export interface SpecObject {
  name: string;
  vendor: string;
  droplet: {
    image?: string;
    region?: string;
    size?: string;
    tags?: string[];
    vpcUuid?: string;
    ipv6?: boolean;
    privateNetworking?: boolean;
    monitoring?: boolean;
    connectWithPrivateIp?: boolean;
    userData?: string;
    userDataFile?: string;
  };
  ssh?: { bastion: { host: string; port?: number; user?: string; privateKey?: { fromWorker: string } } };
  timeouts?: { state?: string; snapshot?: string; transfer?: string };
  api?: { retryMax?: number; retryWaitMin?: number; retryWaitMax?: number };
  apt?: { packages: string[] };
  steps: StepEntry[];
  env?: Record<string, EnvEntry>;
  snapshot?: { name?: string; regions?: string[]; tags?: string[]; waitForTransfer?: boolean };
  marketplace?: { appId: string; version: string; reasonForUpdate?: string; software?: string[] };
  matrix?: { image?: string[]; size?: string[]; region?: string[] };
}

export interface Conversion {
  spec: SpecObject;
  notes: string[];
  problems: Problem[];
}

export interface MapOptions {
  /** Packer's working directory: relative sources resolve against it (absolute). */
  root: string;
  /** The output spec's folder (absolute): paths are written relative to it. */
  outDir: string;
  vendor?: string;
  name?: string;
  /** Reads a file (absolute path), to recognise what a script does; undefined when unreadable. */
  readFile?: (abs: string) => string | undefined;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Segments);
}

/** A string, or a string with secret or build-time parts. */
export function isStringLike(v: unknown): v is string | Segments {
  return typeof v === 'string' || v instanceof Segments;
}
