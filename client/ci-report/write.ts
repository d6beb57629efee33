/** Writes the reports `start-build --wait` was asked for (--junit, --summary), whatever the build's end. */
import { promises as fs } from 'node:fs';
import type { Client } from '@temporalio/client';
import { UserError } from '../../contract/user-error';
import { junitReport } from './junit';
import type { BuildOutcome } from './outcome';
import { packageChanges } from './package-changes';
import type { PackageChanges } from './package-changes';
import { markdownSummary } from './summary';

export interface ReportFlags {
  junit?: string;
  summary?: string;
}

export async function writeReports(client: Client, o: BuildOutcome, flags: ReportFlags): Promise<void> {
  if (flags.junit) await writeReport(flags.junit, '--junit', junitReport(o));
  if (flags.summary) {
    // The summary is still written when the earlier build cannot be read: it says why instead.
    const changes: PackageChanges = await packageChanges(client, o.manifest).catch((err: unknown) => ({
      none: `could not compare with an earlier build: ${err instanceof Error ? err.message : String(err)}`,
    }));
    // Appended, as $GITHUB_STEP_SUMMARY expects: other steps of the job write there too.
    await writeReport(flags.summary, '--summary', markdownSummary(o, changes), true);
  }
}

async function writeReport(file: string, flag: string, text: string, append = false): Promise<void> {
  try {
    await (append ? fs.appendFile(file, text) : fs.writeFile(file, text));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new UserError(`${flag} ${file}: cannot write the report (${code}): give a writable file path`);
  }
}
