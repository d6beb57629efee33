/**
 * The shape of the recipe's entries (the list itself is in workflows/build.ts). An entry is a step
 * (one activity, with its name, summary, retry kind, pure input builder and undo), a step per item
 * (the spec's steps, a transfer per region), or a control point (where a base build stops, where
 * an undo runs early), each a plain object the interpreter (run.ts) walks in order.
 */
import type { BuildActivities as Activities } from '../../contract/activities';
import type { BuildManifest } from '../../contract/build';
import type { Compensation } from '../undo';
import type { StepRunner } from '../steps/runner';
import type { ApprovalDesk } from '../publish-to-marketplace';
import type { SoFar } from './inputs';

/** How hard a step's activity is retried: workflows/calls.ts (QUICK, LONG, PERSISTENT). */
export type Retry = 'quick' | 'long' | 'persistent';

/**
 * What a step's failure leaves to the operator: `none` retry or abort, `skip` also skip it,
 * `accept` also accept it as it is; `final` ends the build at once (nothing exists yet to retry
 * against) and only leads the recipe, before any undo is registered.
 */
export type Leeway = 'none' | 'skip' | 'accept' | 'final';

/** The patches the recipe asks along the way, each asked where the recipe first needs it. */
export interface Changes {
  inventoryAfterCleanup(): boolean;
  release(): boolean;
  checkInput(): boolean;
  sbom(): boolean;
  transferNoWait(): boolean;
  rebuildTriggers(): boolean;
  destroyBeforeTransfer(): boolean;
}

/** A running build: what the inputs read (SoFar), and where entries record what steps returned. */
export interface Build extends SoFar {
  manifest: BuildManifest;
  droplet?: NonNullable<SoFar['droplet']>;
  snapshot?: NonNullable<SoFar['snapshot']>;
  readonly changes: Changes;
  readonly steps: StepRunner;
  readonly approvals: ApprovalDesk;
  /** The undos registered so far, by the name of the step that registered them. */
  readonly undos: Map<string, Compensation>;
  /** The workflow's start, for the steps that record when the build began. */
  readonly startedAt: string;
  /** Control points' notes to later entries (e.g. the droplet already destroyed). */
  readonly notes: Set<string>;
}

type Result<K extends keyof Activities> = Awaited<ReturnType<Activities[K]>>;

/** What a step's `done` may answer: `stop` ends the recipe there, the build succeeded. */
export type Next = void | 'stop';

/** An undo: the step that runs it, and whether it is registered before its step runs or after. */
export interface UndoDef<K extends keyof Activities = keyof Activities> {
  what: string;
  /** `before`: a step that fails half-way may already have made something (provision). */
  registered: 'before' | 'after';
  when?: (b: Build) => boolean;
  name: string;
  summary: (b: Build) => string;
  retry: Retry;
  activity: K;
  input: (b: Build) => Parameters<Activities[K]>[0];
  /** What undoing changes in the manifest. */
  undone?: (b: Build) => void;
}

export interface StepDef<K extends keyof Activities> {
  name: string;
  summary: (b: Build) => string;
  retry: Retry;
  leeway?: Leeway;
  activity: K;
  /** Whether the step runs in this build (it is left out otherwise, with no record). */
  when?: (b: Build) => boolean;
  /** When the step is left out: what the manifest says instead. */
  otherwise?: (b: Build) => void;
  input: (b: Build, contextDigest: string) => Parameters<Activities[K]>[0];
  /** Runs just before the step (after its summary): e.g. re-arming an undo the step may need. */
  before?: (b: Build) => void;
  /** What the step's result adds to the build (the manifest, the droplet, the snapshot). */
  done?: (b: Build, result: Result<K>) => Next;
  /** `accept` steps: what the build records when the operator accepted the failure. */
  accepted?: (b: Build, failure: string) => void;
  /** What failure of a `final` step leaves in the build before it ends. */
  failed?: (b: Build, error: unknown) => void;
  undo?: UndoDef;
}

export interface StepEntry extends StepDef<keyof Activities> {
  kind: 'step';
}

/** One step for each item (the spec's steps in order, or a transfer per region at once). */
export interface EachEntry {
  kind: 'each';
  name: string;
  when?: (b: Build) => boolean;
  parallel: boolean;
  items: (b: Build) => readonly StepEntry[];
  /** What all the steps' results add to the build. */
  doneAll?: (b: Build, results: unknown[]) => void;
}

/** A point in the recipe that runs no activity of its own: a stop, an undo run early, a sub-recipe. */
export interface ControlEntry {
  kind: 'control';
  name: string;
  when?: (b: Build) => boolean;
  run: (b: Build) => Promise<Next> | Next;
}

export type RecipeEntry = StepEntry | EachEntry | ControlEntry;

/** A step entry, typed by its activity: its input and result are the activity's. */
export function step<K extends keyof Activities>(def: StepDef<K>): StepEntry {
  return { kind: 'step', ...(def as unknown as StepDef<keyof Activities>) };
}

/** An undo, typed by its activity. */
export function undo<K extends keyof Activities>(def: UndoDef<K>): UndoDef {
  return def as unknown as UndoDef;
}

export function each(def: Omit<EachEntry, 'kind'>): EachEntry {
  return { kind: 'each', ...def };
}

export function control(name: string, run: ControlEntry['run'], when?: ControlEntry['when']): ControlEntry {
  return { kind: 'control', name, run, ...(when ? { when } : {}) };
}
