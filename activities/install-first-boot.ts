/**
 * first-boot: the scripts cloud-init runs once on every new droplet, and the first-login script
 * with its .bashrc hook (paths and hook in image/first-boot.ts).
 */
import * as path from 'node:path';
import type { ActivityDeps } from './runtime/deps';
import { readContextFile } from './runtime/context-files';
import { PER_INSTANCE_DIR, firstBootName, firstLoginHook, firstLoginPath } from './image/first-boot';
import { runOnDroplet } from './remote/run-on-droplet';
import { shq } from './remote/shell-quote';
import type { FirstBootInput, UploadResult } from '../contract/steps';
import { check, checked } from './runtime/input-checks';

export function installFirstBoot(deps: ActivityDeps) {
  return async (input: FirstBootInput): Promise<UploadResult> => {
    checked(check.name, input.vendor, 'vendor');
    let files = 0;
    let bytes = 0;
    const put = async (target: string, body: Buffer) => {
      const dir = shq(path.posix.dirname(target));
      const install = `mkdir -p ${dir} && cat > ${shq(target)} && chmod 0755 ${shq(target)}`;
      await runOnDroplet(deps, input.droplet, input.step, `install ${target}`, install, { stdin: body });
      files++;
      bytes += body.length;
    };
    for (const [i, src] of input.firstBoot.entries()) {
      await put(`${PER_INSTANCE_DIR}/${firstBootName(i, src)}`, await readContextFile(deps, input.contextDigest, src));
    }
    if (input.firstLogin) {
      const target = firstLoginPath(input.vendor);
      await put(target, await readContextFile(deps, input.contextDigest, input.firstLogin));
      const hook = 'cp -f /etc/skel/.bashrc /root/.bashrc && cat >> /root/.bashrc';
      await runOnDroplet(deps, input.droplet, input.step, 'install the first-login hook', hook, {
        stdin: firstLoginHook(target),
      });
    }
    return { files, bytes, verified: files };
  };
}
