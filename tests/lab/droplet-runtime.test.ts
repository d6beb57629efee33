/**
 * The lab's droplet runtime against real systemd-nspawn droplets (needs root): boot, cloud-init,
 * apt through the forwarder, power cycle, snapshot and restore as a new instance, user-data host
 * keys, bounded disks, and that destroy and the sweep leave nothing behind.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import {
  createNspawnRuntime,
  ensureBaseImage,
  findLeftovers,
  isEmpty,
  readyDistributions,
  sweepLeftovers,
} from '../../lab/droplets/nspawn-runtime';
import type { DropletBootSpec, RunningDroplet } from '../../lab/droplets/runtime';

const execFileP = promisify(execFile);
const skip = process.getuid?.() !== 0 ? 'needs root (droplets are namespaces)' : false;
const PREFIX = `t-rt${process.pid}-`;
const SSH_OPTS = [
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'LogLevel=ERROR',
  '-o',
  'BatchMode=yes',
  '-o',
  'ConnectTimeout=10',
];

let work = '';
let keyPath = '';
let publicKey = '';
const timings: Record<string, number | string> = {};
const runtime = createNspawnRuntime();

const PER_INSTANCE_USER_DATA = `#cloud-config
write_files:
  - path: /var/lib/cloud/scripts/per-instance/010-marker
    permissions: '0755'
    content: |
      #!/bin/sh
      cat /var/lib/cloud/data/instance-id >> /root/per-instance.log
runcmd:
  - [ sh, -c, 'echo ran >> /root/runcmd.log' ]
`;

before(async () => {
  if (skip) return;
  work = await mkdtemp(join(tmpdir(), 'droplet-rt-'));
  process.env.IMAGE_FORGE_LAB_DIR = join(work, 'state');
  keyPath = join(work, 'id_ed25519');
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lab-test', '-f', keyPath]);
  publicKey = (await readFile(`${keyPath}.pub`, 'utf8')).trim();
  const t = Date.now();
  await ensureBaseImage('debian-12-x64');
  timings.ensureBaseImageMs = Date.now() - t;
});

after(async () => {
  if (skip) return;
  try {
    await sweepLeftovers(PREFIX);
  } finally {
    console.log(`droplet runtime timings: ${JSON.stringify(timings)}`);
    if (existsSync('test-artifacts'))
      await writeFile('test-artifacts/droplet-runtime-timings.json', `${JSON.stringify(timings, null, 2)}\n`);
    await rm(work, { recursive: true, force: true });
  }
});

async function ssh(ip: string, command: string, timeoutMs = 180_000): Promise<string> {
  const { stdout } = await execFileP('ssh', [...SSH_OPTS, '-i', keyPath, `root@${ip}`, command], {
    timeout: timeoutMs,
    maxBuffer: 16 << 20,
  });
  return stdout;
}

/** The ed25519 host key sshd presents, as "ssh-ed25519 AAAA…". */
async function hostKey(ip: string): Promise<string> {
  const { stdout } = await execFileP('ssh-keyscan', ['-T', '10', '-t', 'ed25519', ip]);
  const line = stdout.split('\n').find((l) => l.includes('ssh-ed25519'));
  assert.ok(line, `no ed25519 host key from ${ip}`);
  return line.split(' ').slice(1, 3).join(' ');
}

/** Fails with the failed units when the system is not fully running. */
async function assertRunning(ip: string): Promise<void> {
  const state = (await ssh(ip, 'systemctl is-system-running --wait || true')).trim();
  const failed = state === 'running' ? '' : await ssh(ip, 'systemctl --failed --no-legend --plain || true');
  assert.equal(state, 'running', `system state ${state}; failed units:\n${failed}`);
}

async function cloudInitDone(ip: string): Promise<void> {
  const out = await ssh(ip, 'cloud-init status --wait --long || true');
  assert.match(out, /status: done/, out);
}

function spec(name: string, over: Partial<DropletBootSpec> = {}): DropletBootSpec {
  return {
    machineName: `${PREFIX}${name}`,
    hostname: name,
    image: { kind: 'distribution', slug: 'debian-12-x64' },
    diskGiB: 4,
    instanceId: `i-${PREFIX}${name}`,
    authorizedKeys: [publicKey],
    ...over,
  };
}

test(
  'a droplet boots, runs cloud-init, installs from the mirror, power-cycles, and restores from a snapshot as a new instance',
  { skip },
  async () => {
    const droplets: RunningDroplet[] = [];
    try {
      let t = Date.now();
      const a = await runtime.create(spec('a', { userData: PER_INSTANCE_USER_DATA }));
      droplets.push(a);
      timings.createReturnedMs = Date.now() - t;
      assert.match(a.ipv4, /^169\.254\.\d+\.\d+$/);
      await a.booted;
      timings.createToSshMs = Date.now() - t;
      await cloudInitDone(a.ipv4);
      timings.createToCloudInitDoneMs = Date.now() - t;
      await assertRunning(a.ipv4);
      assert.equal((await ssh(a.ipv4, 'cat /root/per-instance.log')).trim(), `i-${PREFIX}a`);
      assert.equal((await ssh(a.ipv4, 'cat /root/runcmd.log')).trim(), 'ran');
      assert.equal((await ssh(a.ipv4, 'hostname')).trim(), 'a');
      assert.match(
        await ssh(a.ipv4, 'cat /root/.ssh/authorized_keys'),
        new RegExp(publicKey.split(' ')[1]!.replace(/[+/]/g, '\\$&')),
      );
      assert.equal((await ssh(a.ipv4, 'ip route show default')).trim(), '', 'no default route inside a droplet');

      t = Date.now();
      const apt = await ssh(
        a.ipv4,
        'export DEBIAN_FRONTEND=noninteractive; apt-get update -q >/dev/null && apt-get install -y -q cowsay >/dev/null && /usr/games/cowsay moo',
      );
      timings.aptUpdateAndInstallCowsayMs = Date.now() - t;
      assert.match(apt, /< moo >/);
      // Make the tree ~400 MB with data whose checksum the restored droplet must show.
      const blobSum = (
        await ssh(a.ipv4, 'head -c 64M /dev/urandom > /root/blob && sha256sum /root/blob | cut -d" " -f1')
      ).trim();
      timings.treeMiB = Number(
        (
          await ssh(
            a.ipv4,
            'du -sm --exclude=/proc --exclude=/sys --exclude=/dev --exclude=/run / 2>/dev/null | cut -f1',
          )
        ).trim(),
      );
      const keyA = await hostKey(a.ipv4);

      // Hard power off, then on again: same instance, so per-instance scripts and host keys stay.
      await a.powerOff();
      assert.equal((await a.exited).reason, 'killed');
      t = Date.now();
      await a.powerOn();
      await a.booted;
      timings.powerOnToSshMs = Date.now() - t;
      await cloudInitDone(a.ipv4);
      assert.equal(
        (await ssh(a.ipv4, 'cat /root/per-instance.log')).trim(),
        `i-${PREFIX}a`,
        'per-instance scripts ran again on power on',
      );
      assert.equal(await hostKey(a.ipv4), keyA);
      await assert.rejects(a.snapshot(join(work, 'running.tar.zst')), /running/);

      // Poweroff from inside is the droplet going off.
      t = Date.now();
      await ssh(a.ipv4, 'shutdown -h now').catch(() => undefined); // the connection may drop
      const exit = await a.exited;
      timings.shutdownInsideToExitMs = Date.now() - t;
      assert.deepEqual(exit, { reason: 'poweroff', code: 0 });

      const archive = join(work, 'snapshots', 'a.tar.zst');
      t = Date.now();
      const { sizeBytes } = await a.snapshot(archive);
      timings.snapshotMs = Date.now() - t;
      timings.snapshotMiB = Math.round(sizeBytes / 2 ** 20);
      assert.equal((await stat(archive)).size, sizeBytes);

      // A new droplet from the snapshot: a new instance, so new host keys and per-instance scripts again.
      t = Date.now();
      const b = await runtime.create(spec('b', { image: { kind: 'snapshot', archivePath: archive } }));
      droplets.push(b);
      timings.restoreCreateReturnedMs = Date.now() - t;
      await b.booted;
      timings.restoreToSshMs = Date.now() - t;
      await cloudInitDone(b.ipv4);
      timings.restoreToCloudInitDoneMs = Date.now() - t;
      await assertRunning(b.ipv4);
      assert.notEqual(await hostKey(b.ipv4), keyA, 'host keys were regenerated');
      assert.deepEqual((await ssh(b.ipv4, 'cat /root/per-instance.log')).trim().split('\n'), [
        `i-${PREFIX}a`,
        `i-${PREFIX}b`,
      ]);
      assert.equal((await ssh(b.ipv4, 'sha256sum /root/blob | cut -d" " -f1')).trim(), blobSum);
      assert.match(await ssh(b.ipv4, '/usr/games/cowsay restored'), /< restored >/);

      t = Date.now();
      for (const d of droplets) await d.destroy();
      timings.destroyBothMs = Date.now() - t;
      const left = await findLeftovers(PREFIX);
      assert.ok(isEmpty(left), `left behind: ${JSON.stringify(left)}`);
      for (const d of droplets)
        assert.ok(
          !existsSync(join(process.env.IMAGE_FORGE_LAB_DIR!, 'droplets', d.machineName)),
          'disk directory removed',
        );
      assert.ok(
        !(await readFile('/proc/self/mountinfo', 'utf8')).includes(process.env.IMAGE_FORGE_LAB_DIR!),
        'nothing mounted under the state dir',
      );
    } finally {
      for (const d of droplets) await d.destroy().catch(() => undefined);
    }
  },
);

test('user-data host keys are what sshd presents, and the disk is bounded', { skip }, async () => {
  const hostKeyPath = join(work, 'host_ed25519');
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lab-host', '-f', hostKeyPath]);
  const pub = (await readFile(`${hostKeyPath}.pub`, 'utf8')).trim();
  const userData = `#cloud-config\n${stringify({ ssh_keys: { ed25519_private: await readFile(hostKeyPath, 'utf8'), ed25519_public: pub } })}`;
  const d = await runtime.create(spec('keys', { diskGiB: 1, userData }));
  try {
    await d.booted;
    await cloudInitDone(d.ipv4);
    assert.equal(await hostKey(d.ipv4), pub.split(' ').slice(0, 2).join(' '));

    const t = Date.now();
    const out = await ssh(d.ipv4, 'dd if=/dev/zero of=/zerofile bs=1M 2>&1; echo "rc=$?"; stat -c %s /zerofile');
    timings.zeroFill1GiBMs = Date.now() - t;
    assert.match(out, /No space left on device/);
    assert.match(out, /rc=1/);
    const written = Number(out.trim().split('\n').pop());
    assert.ok(written > 500 * 2 ** 20 && written < 2 ** 30, `zerofile of ${written} bytes`);
    const disk = join(process.env.IMAGE_FORGE_LAB_DIR!, 'droplets', d.machineName, 'disk.img');
    assert.ok((await stat(disk)).blocks * 512 <= 2 ** 30, 'the host file never grows past the disk size');
    await ssh(d.ipv4, 'rm /zerofile && sync');
  } finally {
    await d.destroy();
  }
  assert.ok(isEmpty(await findLeftovers(PREFIX)));
});

test('the sweep removes a droplet left running by a crashed lab process', { skip }, async () => {
  const name = `${PREFIX}crash`;
  const script = `
    const { createNspawnRuntime } = require(${JSON.stringify(join(__dirname, '../../lab/droplets/nspawn-runtime'))});
    createNspawnRuntime().create(${JSON.stringify(spec('crash'))})
      .then((d) => d.booted)
      .then(() => process.kill(process.pid, 'SIGKILL'));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
  const signal = await new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
  assert.equal(signal, 'SIGKILL');
  const found = await findLeftovers(PREFIX);
  assert.deepEqual(found.machines, [name]);
  assert.ok(found.processes.length > 0 && found.netns.length === 1 && found.mounts.length >= 2);
  const t = Date.now();
  await sweepLeftovers(PREFIX);
  timings.sweepMs = Date.now() - t;
  assert.ok(isEmpty(await findLeftovers(PREFIX)));
});

test('debian-13-x64 boots too when its base image is built', { skip }, async (t) => {
  if (!(await readyDistributions()).includes('debian-13-x64')) {
    t.skip('debian-13-x64 not built (node dist/lab/droplets/base-image.js debian-13-x64)');
    return;
  }
  const start = Date.now();
  const d = await runtime.create(
    spec('trixie', { image: { kind: 'distribution', slug: 'debian-13-x64' }, userData: PER_INSTANCE_USER_DATA }),
  );
  try {
    await d.booted;
    timings.trixieCreateToSshMs = Date.now() - start;
    await cloudInitDone(d.ipv4);
    await assertRunning(d.ipv4);
    assert.match(await ssh(d.ipv4, 'cat /etc/debian_version; cat /root/per-instance.log'), /^13\.[\s\S]*i-t-rt/);
  } finally {
    await d.destroy();
  }
});

test('a failed create leaves nothing behind', { skip }, async () => {
  await assert.rejects(
    runtime.create(spec('bad', { image: { kind: 'snapshot', archivePath: join(work, 'missing.tar.zst') } })),
  );
  await assert.rejects(runtime.create(spec('bad', { hostname: 'bad host\n1.2.3.4 evil' })), /invalid hostname/);
  assert.ok(isEmpty(await findLeftovers(PREFIX)));
});
