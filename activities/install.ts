/**
 * install: apt update, optional full upgrade, then the packages — non-interactive, keeping
 * existing config files, waiting for the dpkg lock instead of failing on it.
 */
import type { ActivityDeps } from './deps';
import { runOnDroplet, shq } from './remote';
import type { CommandResult, InstallInput } from '../workflows/types';

export const APT = 'apt-get -y -q -o DPkg::Lock::Timeout=900 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold';

export function aptScript(apt: InstallInput['apt']): string {
  return [
    'set -euo pipefail',
    'export DEBIAN_FRONTEND=noninteractive',
    // --error-on=any: a mirror that half-fails must fail the step, not go unnoticed.
    `${APT} update --error-on=any`,
    ...(apt.upgrade ? [`${APT} full-upgrade`] : []),
    ...(apt.packages.length > 0 ? [`${APT} install ${apt.packages.map(shq).join(' ')}`] : []),
  ].join('\n');
}

export function install(deps: ActivityDeps) {
  return async (input: InstallInput): Promise<CommandResult> => {
    const what = input.apt.packages.length > 0 ? `apt-get install ${input.apt.packages.join(' ')}` : 'apt-get full-upgrade';
    return runOnDroplet(deps, input.droplet, input.step, what, 'bash -s', { stdin: aptScript(input.apt) });
  };
}
