/**
 * P3: one 256 MiB file against scp and Fabric, and where the project's time goes: ssh2 alone
 * streaming the file into `cat` (the library's floor, no tar and no hashes), and each hash's cost.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { connectSsh, exec } from '../../platform/ssh';
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
  const ssh2Alone: number[] = [];
  const workerHash: number[] = [];
  const dropletHash: number[] = [];
  const big = path.join(dir, 'big.bin');
  for (let i = 0; i < RUNS; i++) {
    const { d, key, buildId } = await freshDroplet(stack);
    // A fresh droplet's first big copy runs at about half the speed of the next ones, whichever
    // tool makes it (seen here with ssh2, into a file and into /dev/null alike): one untimed copy
    // first, and each run starts with another contender, so no one always meets a cold droplet.
    await ssh2Copy(d.ip, key, big, '/root/warm.bin');
    await d.run('rm -f /root/warm.bin');
    const contenders: (() => Promise<void>)[] = [
      async () => {
        ours.push(mb / (await projectUpload(stack, d, key, buildId, dir, 'big.bin', '/root/big-ours.bin')));
        // The droplet's hash of what landed (the upload does this after tar -x), timed on its own.
        const h = await d.run(
          's=$(date +%s%N); openssl dgst -sha256 -r /root/big-ours.bin >/dev/null; echo $(( $(date +%s%N) - s ))',
        );
        dropletHash.push(Number(h.out.trim()) / 1e9);
        await d.run('rm -f /root/big-ours.bin');
      },
      async () => {
        ssh2Alone.push(mb / (await secs(() => ssh2Copy(d.ip, key, big, '/root/big-ssh2.bin'))));
        await d.run('rm -f /root/big-ssh2.bin');
      },
      async () => {
        scp.push(
          mb /
            (await secs(() =>
              run('scp', [...scpOptions(key), path.join(dir, 'big.bin'), `root@${d.ip}:/root/big-scp.bin`]),
            )),
        );
        await d.run('rm -f /root/big-scp.bin');
      },
      async () => {
        fabric.push(
          mb /
            (await secs(() =>
              fab(key, d.ip, ['put-file', '--local', path.join(dir, 'big.bin'), '--remote', '/root/big-fab.bin'], dir),
            )),
        );
        await d.run('rm -f /root/big-fab.bin');
      },
    ];
    // Each run starts with another contender: no one always goes first.
    for (let k = 0; k < contenders.length; k++) await contenders[(i + k) % contenders.length]!();
    workerHash.push(
      await secs(
        () =>
          new Promise<void>((resolve, reject) => {
            const hash = createHash('sha256');
            createReadStream(big, { highWaterMark: 4 << 20 })
              .on('data', (c) => hash.update(c))
              .on('end', () => resolve())
              .on('error', reject);
          }),
      ),
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
  // The profile: what the project's time is made of.
  add({
    id: 'P3',
    what: 'one 256 MiB file',
    how: 'profile: ssh2 alone, file → `cat > file` (no tar, no hash)',
    unit: 'MB/s',
    samples: ssh2Alone,
  });
  add({
    id: 'P3',
    what: 'one 256 MiB file',
    how: 'profile: worker SHA-256 of the file (paid once, when the worker unpacks the context; not per upload)',
    unit: 's',
    samples: workerHash,
  });
  add({
    id: 'P3',
    what: 'one 256 MiB file',
    how: "profile: droplet's openssl SHA-256 of the landed file",
    unit: 's',
    samples: dropletHash,
  });
}

/** ssh2 alone: a new connection, the file piped into `cat` on the droplet. */
async function ssh2Copy(ip: string, key: string, file: string, dest: string): Promise<void> {
  const conn = await connectSsh({ host: ip, username: 'root', privateKey: await fs.readFile(key) });
  try {
    await exec(conn, `cat > ${dest}`, { stdin: createReadStream(file, { highWaterMark: 4 << 20 }) });
  } finally {
    conn.end();
  }
}
