/**
 * P3: one 256 MiB file against scp and Fabric, and where the project's time goes: ssh2 alone
 * streaming the file into `cat` (the library's floor, no tar and no hashes), and each hash's cost.
 * Twice over: on a new connection each (the handshake in the time, as scp pays it), and on one
 * already open (as a build's upload runs: its earlier steps opened it), against scp over an open
 * OpenSSH connection (ControlMaster). And where the droplet's check of what landed could run:
 * after the copy, as the upload does, or while the bytes stream in.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectSsh, exec } from '../../platform/ssh';
import type { Stack } from '../../tests/support/stack';
import { add, fab, freshDroplet, run, secs, RUNS, scpOptions } from '../common';
import { benchRef, benchShells, prepareContext, projectUpload } from './project-upload';
export async function oneBigFile(stack: Stack): Promise<void> {
  const dir = await fs.mkdtemp(path.join(stack.dir, 'p3-'));
  await run('dd', ['if=/dev/urandom', `of=${path.join(dir, 'big.bin')}`, 'bs=1M', 'count=256', 'status=none']);
  const mb = 256 * 1.048576;
  const ours: number[] = [];
  const oursOpen: number[] = [];
  const scp: number[] = [];
  const scpOpen: number[] = [];
  const fabric: number[] = [];
  const ssh2Alone: number[] = [];
  const ssh2Open: number[] = [];
  const hashAfter: number[] = [];
  const hashStreaming: number[] = [];
  const workerHash: number[] = [];
  const dropletHash: number[] = [];
  const big = path.join(dir, 'big.bin');
  const prepared = await prepareContext(stack, dir, 'big.bin');
  const bigStream = () => createReadStream(big, { highWaterMark: 4 << 20 });
  for (let i = 0; i < RUNS; i++) {
    const { d, key, buildId } = await freshDroplet(stack);
    const shells = await benchShells(d, key, buildId, true);
    const master = await controlMaster(key, d.ip, path.join(stack.dir, `p3-${d.id}.sock`));
    try {
      // A fresh droplet's first big copy runs at about half the speed of the next ones, whichever
      // tool makes it (seen here with ssh2, into a file and into /dev/null alike): one untimed copy
      // first, and each run starts with another contender, so no one always meets a cold droplet.
      await ssh2Copy(d.ip, key, big, '/root/warm.bin');
      await d.run('rm -f /root/warm.bin');
      const contenders: (() => Promise<void>)[] = [
        async () => {
          ours.push(mb / (await projectUpload(prepared, d, key, buildId, 'big.bin', '/root/big-ours.bin')));
          // The droplet's hash of what landed (the upload does this after tar -x), timed on its own.
          const h = await d.run(
            's=$(date +%s%N); openssl dgst -sha256 -r /root/big-ours.bin >/dev/null; echo $(( $(date +%s%N) - s ))',
          );
          dropletHash.push(Number(h.out.trim()) / 1e9);
          await d.run('rm -f /root/big-ours.bin');
        },
        async () => {
          oursOpen.push(mb / (await projectUpload(prepared, d, key, buildId, 'big.bin', '/root/big-open.bin', shells)));
          await d.run('rm -f /root/big-open.bin');
        },
        async () => {
          const copy = () =>
            shells.run(benchRef(d, buildId), 'cat > /root/big-ssh2o.bin', {
              stdin: createReadStream(big, { highWaterMark: 4 << 20 }),
            });
          ssh2Open.push(mb / (await secs(copy)));
          await d.run('rm -f /root/big-ssh2o.bin');
        },
        // Where the droplet's check could run: after the copy (as the upload does), or while the
        // bytes stream in (tee into openssl). Both on the open connection, without tar.
        async () => {
          const after = 'cat > /root/big-after.bin && openssl dgst -sha256 -r /root/big-after.bin >/dev/null';
          hashAfter.push(mb / (await secs(() => shells.run(benchRef(d, buildId), after, { stdin: bigStream() }))));
          await d.run('rm -f /root/big-after.bin');
        },
        async () => {
          const streaming = 'set -o pipefail; tee /root/big-tee.bin | openssl dgst -sha256 -r >/dev/null';
          hashStreaming.push(
            mb / (await secs(() => shells.run(benchRef(d, buildId), streaming, { stdin: bigStream() }))),
          );
          await d.run('rm -f /root/big-tee.bin');
        },
        async () => {
          scpOpen.push(
            mb /
              (await secs(() =>
                run('scp', [
                  ...scpOptions(key),
                  '-o',
                  `ControlPath=${master.socket}`,
                  big,
                  `root@${d.ip}:/root/big-cm.bin`,
                ]),
              )),
          );
          await d.run('rm -f /root/big-cm.bin');
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
                fab(
                  key,
                  d.ip,
                  ['put-file', '--local', path.join(dir, 'big.bin'), '--remote', '/root/big-fab.bin'],
                  dir,
                ),
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
    } finally {
      shells.closeAll();
      master.stop();
    }
    await d.destroy();
  }
  const what = 'one 256 MiB file';
  add({
    id: 'P3',
    what,
    how: 'project, new connection (tar stream, each file SHA-256 on both ends)',
    unit: 'MB/s',
    samples: ours,
  });
  add({ id: 'P3', what, how: 'scp (new connection)', unit: 'MB/s', samples: scp });
  add({
    id: 'P3',
    what,
    how: 'project, connection open (as in a build)',
    unit: 'MB/s',
    samples: oursOpen,
  });
  add({ id: 'P3', what, how: 'scp, connection open (OpenSSH ControlMaster)', unit: 'MB/s', samples: scpOpen });
  add({ id: 'P3', what, how: 'Fabric put', unit: 'MB/s', samples: fabric });
  add({
    id: 'P3',
    what,
    how: 'ratio: project ÷ scp, new connections, run by run',
    unit: '×',
    samples: ours.map((x, k) => x / scp[k]!),
    goal: '≥ 1.0×',
  });
  add({
    id: 'P3',
    what,
    how: "ratio: project ÷ (scp + the droplet's SHA-256 of the file: scp with the project's check), new connections",
    unit: '×',
    samples: ours.map((x, k) => (mb / scp[k]! + dropletHash[k]!) / (mb / x)),
  });
  add({
    id: 'P3',
    what,
    how: 'ratio: project ÷ scp, connections open, run by run',
    unit: '×',
    samples: oursOpen.map((x, k) => x / scpOpen[k]!),
    goal: '≥ 1.0×',
  });
  // The profile: what the project's time is made of.
  add({
    id: 'P3',
    what: 'one 256 MiB file',
    how: 'profile: ssh2 alone, new connection, file → `cat > file` (no tar, no hash)',
    unit: 'MB/s',
    samples: ssh2Alone,
  });
  add({
    id: 'P3',
    what,
    how: 'profile: ssh2 alone, connection open, file → `cat > file`',
    unit: 'MB/s',
    samples: ssh2Open,
  });
  add({
    id: 'P3',
    what,
    how: 'profile: ssh2 alone, connection open, `cat > file` then openssl SHA-256 of it (the check after)',
    unit: 'MB/s',
    samples: hashAfter,
  });
  add({
    id: 'P3',
    what,
    how: 'profile: ssh2 alone, connection open, `tee file | openssl` (the check while streaming, tried instead)',
    unit: 'MB/s',
    samples: hashStreaming,
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

/** An OpenSSH master connection to the droplet (ControlMaster): scp through it skips the handshake. */
async function controlMaster(key: string, ip: string, socket: string): Promise<{ socket: string; stop: () => void }> {
  const p = spawn('ssh', [...scpOptions(key), '-M', '-N', '-o', `ControlPath=${socket}`, `root@${ip}`], {
    stdio: 'ignore',
  });
  const stop = () => {
    if (p.exitCode === null) p.kill();
  };
  for (let waited = 0; !existsSync(socket); waited += 100) {
    if (p.exitCode !== null || waited > 30_000) {
      stop();
      throw new Error(`the OpenSSH master connection to ${ip} did not start`);
    }
    await sleep(100);
  }
  return { socket, stop };
}
