/**
 * The real Temporal dev server for tests (the CLI built by scripts/ensure-temporal.sh), through
 * @temporalio/testing, with the build's search attributes registered.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { allSearchAttributes } from '../../contract/search-attributes';

export const REPO = path.resolve(__dirname, '..', '..', '..');

export function temporalCliPath(): string {
  return execFileSync('bash', [path.join(REPO, 'scripts/ensure-temporal.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

export interface TemporalOptions {
  /** SQLite file: the server's state survives a restart on the same file. */
  dbFilename?: string;
  port?: number;
  uiPort?: number;
}

export async function startTemporal(opts: TemporalOptions = {}): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: temporalCliPath() },
      ip: '127.0.0.1',
      ...(opts.port ? { port: opts.port } : {}),
      ...(opts.uiPort ? { uiPort: opts.uiPort, ui: true } : {}),
      ...(opts.dbFilename ? { dbFilename: opts.dbFilename } : {}),
      searchAttributes: allSearchAttributes,
      extraArgs: ['--log-level', 'error', '--dynamic-config-value', 'system.enableActivityEagerExecution=true'],
    },
  });
}
