/** P3: one 256 MiB file against scp and Fabric. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Stack } from '../../tests/support/stack';
import { add, fab, freshDroplet, run, secs, RUNS, scpOptions } from '../common';
import { projectUpload } from './project-upload';
export async function oneBigFile(stack: Stack): Promise<void> {
  const dir = await fs.mkdtemp(path.join(stack.dir, 'p3-'));
  await run('dd', ['if=/dev/urandom', `of=${path.join(dir, 'big.bin')}`, 'bs=1M', 'count=256', 'status=none']);
  const mb = 256 * 1.048576;
  const ours: number[] = [];
  const scp: number[] = [];
  const fabric: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const { d, key, buildId } = await freshDroplet(stack);
    ours.push(mb / (await projectUpload(stack, d, key, buildId, dir, 'big.bin', '/root/big-ours.bin')));
    await d.run('rm -f /root/big-ours.bin');
    scp.push(
      mb /
        (await secs(() =>
          run('scp', [...scpOptions(key), path.join(dir, 'big.bin'), `root@${d.ip}:/root/big-scp.bin`]),
        )),
    );
    await d.run('rm -f /root/big-scp.bin');
    fabric.push(
      mb /
        (await secs(() =>
          fab(key, d.ip, ['put-file', '--local', path.join(dir, 'big.bin'), '--remote', '/root/big-fab.bin'], dir),
        )),
    );
    await d.destroy();
  }
  add({
    id: 'P3',
    what: 'one 256 MiB file',
    how: 'project (tar stream, each file SHA-256 on both ends)',
    unit: 'MB/s',
    samples: ours,
    goal: '≥ 1.0× scp',
  });
  add({ id: 'P3', what: 'one 256 MiB file', how: 'scp', unit: 'MB/s', samples: scp });
  add({ id: 'P3', what: 'one 256 MiB file', how: 'Fabric put', unit: 'MB/s', samples: fabric });
}
