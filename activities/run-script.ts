/** run-script: one script (from the build context) or inline command, run as root on the build droplet. */
import type { ActivityDeps } from './runtime/deps';
import { runScriptOn } from './remote/script';
import type { CommandResult, RunScriptInput } from '../contract/steps';

export function runScript(deps: ActivityDeps) {
  return async (input: RunScriptInput): Promise<CommandResult> =>
    runScriptOn(deps, input.droplet, input.step, input.contextDigest, input.script, input.env);
}
