/**
 * The build's compensations, saga style: each is registered the moment its step has done
 * something to undo, and all are unwound, newest first, in one loop that always finishes — an
 * undo that fails does not stop the ones after it; their failures are reported together.
 * Whether an undo is skipped (a base build keeps its droplet, a verified image is kept) is said
 * once, with its reason, through `keep`.
 */
import * as wf from '@temporalio/workflow';
import { CancellationScope } from '@temporalio/workflow';

export interface Compensation {
  readonly what: string;
  /** Not run at the end, for this reason. */
  keep(reason: string): void;
  /** Run again at the end (something new to undo appeared). */
  rearm(): void;
  /** Runs it now, as part of the recipe; it is not run again at the end unless rearmed. */
  runNow(): Promise<void>;
}

interface Entry {
  what: string;
  run: () => Promise<void>;
  keptBecause?: string;
}

export class Undo {
  private readonly entries: Entry[] = [];

  add(what: string, run: () => Promise<void>): Compensation {
    const e: Entry = { what, run };
    this.entries.push(e);
    return {
      what,
      keep: (reason) => {
        e.keptBecause = reason;
      },
      rearm: () => {
        delete e.keptBecause;
      },
      runNow: async () => {
        await e.run();
        e.keptBecause = 'already done';
      },
    };
  }

  /**
   * Runs every armed compensation, newest first, whatever ended the build (a cancelled build too).
   * Returns the failures, one line each; an empty list means everything was undone.
   */
  async unwind(): Promise<string[]> {
    const failures: string[] = [];
    await CancellationScope.nonCancellable(async () => {
      for (const e of [...this.entries].reverse()) {
        if (e.keptBecause !== undefined) continue;
        try {
          await e.run();
        } catch (err) {
          failures.push(`${e.what}: ${err instanceof Error ? err.message : String(err)}`);
          // Builds recorded before undo kept going past a failure stopped at the first one.
          if (!wf.patched('undo-runs-every-compensation')) throw err;
        }
      }
    });
    return failures;
  }
}
