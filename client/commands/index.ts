import type { Command } from 'commander';
import { registerLabCommands } from './lab';
import { registerStartBuild } from './start-build';

/** Each command group lives in its own file and registers itself here. */
export function registerCommands(program: Command): void {
  registerStartBuild(program);
  registerLabCommands(program);
}
