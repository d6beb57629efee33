/**
 * install: apt update, optional full upgrade, then the spec's packages — through the worker's apt
 * proxy when its operator set one (worker config only; cleanup removes it before the seal).
 */
import type { ActivityDeps } from './runtime/deps';
import { aptScript } from './remote/apt';
import { runOnDroplet } from './remote/run-on-droplet';
import { check, checked } from './runtime/input-checks';
import type { CommandResult, InstallInput } from '../contract/steps';

export function install(deps: ActivityDeps) {
  return async (input: InstallInput): Promise<CommandResult> => {
    checked(check.apt, input.apt, 'apt');
    const what =
      input.apt.packages.length > 0 ? `apt-get install ${input.apt.packages.join(' ')}` : 'apt-get full-upgrade';
    return runOnDroplet(deps, input.droplet, input.step, what, 'bash -s', {
      stdin: aptScript(input.apt, deps.aptProxy),
    });
  };
}
