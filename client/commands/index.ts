import type { Command } from 'commander';
import { registerLabCommands } from './lab';

/** Each command group lives in its own file and registers itself here. */
export function registerCommands(program: Command): void {
  registerLabCommands(program);
}
