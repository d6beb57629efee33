/** apt as a build runs it: non-interactive, keeping existing config files, waiting for the dpkg lock. */
import { shq } from './shell-quote';
import type { InstallInput } from '../../contract/steps';

export const APT =
  'apt-get -y -q -o DPkg::Lock::Timeout=900 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold';

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
