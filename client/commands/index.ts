import type { Command } from 'commander';
import { registerImportPacker } from './import-packer';
import { registerJanitor } from './janitor';
import { registerLabCommands } from './lab';
import { registerLocalCommands } from './local';
import { registerOperatorCommands } from './operator';
import { registerPublish } from './publish';
import { registerSpecCommands } from './spec';
import { registerStatusCommands } from './status';
import { registerStartBuild } from './start-build';
import { registerScheduleCommands } from './schedule';
import { registerSbomCommands } from './sbom';
import { registerWorkerCommand } from './worker';
import { registerCompletionCommand } from './completion';

/** Each command group lives in its own file and registers itself here. */
export function registerCommands(program: Command): void {
  registerStartBuild(program);
  registerSpecCommands(program);
  registerImportPacker(program);
  registerStatusCommands(program);
  registerSbomCommands(program);
  registerOperatorCommands(program);
  registerPublish(program);
  registerScheduleCommands(program);
  registerJanitor(program);
  registerLabCommands(program);
  registerLocalCommands(program);
  registerWorkerCommand(program);
  // Last: its script lists every command registered above.
  registerCompletionCommand(program);
}
