/**
 * first-boot: the scripts cloud-init runs once on every new droplet (per-instance, in name order:
 * 001_onboot, 002_…), and the first-login script under /opt/<vendor>/ with its .bashrc hook,
 * which runs it on root's first login and then restores .bashrc from /etc/skel.
 */
import * as path from 'node:path';
import type { ActivityDeps } from './deps';
import { readContextFile } from './context-files';
import { firstBootName } from '../spec/names';
import { runOnDroplet, shq } from './remote';
import type { FirstBootInput, UploadResult } from '../workflows/types';

export const PER_INSTANCE_DIR = '/var/lib/cloud/scripts/per-instance';

export { firstBootName };

export function installFirstBoot(deps: ActivityDeps) {
  return async (input: FirstBootInput): Promise<UploadResult> => {
    let files = 0;
    let bytes = 0;
    const put = async (target: string, body: Buffer) => {
      await runOnDroplet(deps, input.droplet, input.step, `install ${target}`, `mkdir -p ${shq(path.posix.dirname(target))} && cat > ${shq(target)} && chmod 0755 ${shq(target)}`, { stdin: body });
      files++;
      bytes += body.length;
    };
    for (const [i, src] of input.firstBoot.entries()) {
      await put(`${PER_INSTANCE_DIR}/${firstBootName(i, src)}`, await readContextFile(deps, input.contextDigest, src));
    }
    if (input.firstLogin) {
      const target = `/opt/${input.vendor}/first-login.sh`;
      await put(target, await readContextFile(deps, input.contextDigest, input.firstLogin));
      const hook = [
        '',
        '# image-forge: first login only — run the vendor\'s script, then restore .bashrc',
        `if [ -x ${target} ]; then ${target}; fi`,
        'cp -f /etc/skel/.bashrc /root/.bashrc',
        '',
      ].join('\n');
      // Idempotent: the hook is appended to a fresh copy of the skeleton, never twice.
      await runOnDroplet(deps, input.droplet, input.step, 'install the first-login hook', 'cp -f /etc/skel/.bashrc /root/.bashrc && cat >> /root/.bashrc', { stdin: hook });
    }
    return { files, bytes, verified: files };
  };
}
