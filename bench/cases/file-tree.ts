/** P4: a 2,000-file tree against scp -r and Fabric. */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Stack } from '../../tests/support/stack';
import { add, fab, freshDroplet, run, secs, sshArgs, RUNS, scpOptions } from '../common';
import { prepareContext, projectUpload } from './project-upload';
export async function fileTree(stack: Stack): Promise<void> {
  const dir = await fs.mkdtemp(path.join(stack.dir, 'p4-'));
  for (let i = 0; i < 2000; i++) {
    const sub = path.join(dir, 'tree', `d${i % 40}`);
    await fs.mkdir(sub, { recursive: true });
    await fs.writeFile(path.join(sub, `f${i}.txt`), randomBytes(512).toString('hex'));
  }
  const ours: number[] = [];
  const scp: number[] = [];
  const fabric: number[] = [];
  const floor: number[] = [];
  const prepared = await prepareContext(stack, dir, 'tree/');
  for (let i = 0; i < RUNS; i++) {
    const { d, key, buildId } = await freshDroplet(stack);
    ours.push(await projectUpload(prepared, d, key, buildId, 'tree/', '/root/tree-ours/'));
    scp.push(
      await secs(() => run('scp', [...scpOptions(key), '-r', path.join(dir, 'tree'), `root@${d.ip}:/root/tree-scp`])),
    );
    // The floor: one tar stream through OpenSSH, nothing checked.
    floor.push(
      await secs(() =>
        run('bash', [
          '-c',
          'tar -C "$1" -cf - . | ssh "${@:2}" "mkdir -p /root/tree-floor && tar -xf - -C /root/tree-floor"',
          'tar-ssh',
          path.join(dir, 'tree'),
          ...sshArgs(key, d.ip),
        ]),
      ),
    );
    fabric.push(
      await secs(() =>
        fab(key, d.ip, ['put-many', '--local-dir', path.join(dir, 'tree'), '--remote-dir', '/root/tree-fab'], dir),
      ),
    );
    await d.destroy();
  }
  add({
    id: 'P4',
    what: '2,000-file tree',
    how: 'project (one tar stream, each file SHA-256 on both ends)',
    unit: 's',
    samples: ours,
    goal: '≥ 20× Fabric',
  });
  add({ id: 'P4', what: '2,000-file tree', how: 'scp -r', unit: 's', samples: scp });
  add({ id: 'P4', what: '2,000-file tree', how: 'Fabric put loop', unit: 's', samples: fabric });
  add({ id: 'P4', what: '2,000-file tree', how: '`tar c | ssh tar x` (floor)', unit: 's', samples: floor });
}
