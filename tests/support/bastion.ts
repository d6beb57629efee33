/**
 * A real OpenSSH sshd as an SSH jump host for tests: on 127.0.0.1 only, a free port, its own
 * generated host key, the given public keys authorized for root, TCP forwarding allowed, every
 * forwarded channel in its log. Needs openssh-server (scripts/ensure-lab-debs.sh installs it
 * without starting the system's sshd). stop() ends it and the sessions it forked.
 */
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const SSHD = '/usr/sbin/sshd';

export interface Bastion {
  port: number;
  /** "ssh-ed25519 AAAA…" */
  hostKey: string;
  logFile: string;
  log(): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startBastion(dir: string, authorizedKeys: string[]): Promise<Bastion> {
  if (!existsSync(SSHD))
    throw new Error(`${SSHD} is missing: run scripts/ensure-lab-debs.sh (installs openssh-server)`);
  await fs.mkdir(dir, { recursive: true });
  const hostKeyFile = path.join(dir, 'ssh_host_ed25519_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bastion', '-f', hostKeyFile]);
  const hostKey = (await fs.readFile(`${hostKeyFile}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
  await fs.writeFile(path.join(dir, 'authorized_keys'), `${authorizedKeys.join('\n')}\n`, { mode: 0o600 });
  // sshd's privilege separation directory (made by the package's service, which never ran).
  await fs.mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const logFile = path.join(dir, 'sshd.log');
  const config = [
    `ListenAddress 127.0.0.1:${port}`,
    `HostKey ${hostKeyFile}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'AllowTcpForwarding yes',
    'PermitTTY no',
    'X11Forwarding no',
    // DEBUG1 logs each direct-tcpip channel: "server_request_direct_tcpip: … target <ip> port 22".
    'LogLevel DEBUG1',
    '',
  ].join('\n');
  const configFile = path.join(dir, 'sshd_config');
  await fs.writeFile(configFile, config);
  // Its own process group: stop() ends the listener and the per-connection sshd children it forked.
  const child: ChildProcess = spawn(SSHD, ['-D', '-f', configFile, '-E', logFile], { stdio: 'ignore', detached: true });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sshd exited: ${await fs.readFile(logFile, 'utf8').catch(() => '')}`);
    const up = await new Promise<boolean>((r) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error('sshd did not start listening');
    await sleep(100);
  }
  return {
    port,
    hostKey,
    logFile,
    log: () => fs.readFile(logFile, 'utf8').catch(() => ''),
    async stop() {
      const group = (signal: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          // already gone
        }
      };
      // sshd's per-connection children leave the group (setsid): end them by their ids first.
      const sessions = (() => {
        try {
          return execFileSync('pgrep', ['-P', String(child.pid)])
            .toString()
            .split(/\s+/)
            .filter(Boolean)
            .map(Number);
        } catch {
          return [];
        }
      })();
      for (const pid of sessions) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      group('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      group('SIGKILL');
    },
  };
}
