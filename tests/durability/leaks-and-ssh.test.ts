/**
 * No leaks and SSH you can trust: a cancelled build destroys its droplet; a terminated one (no
 * code runs) leaves it to `client janitor`, which finds and deletes it; an SSH link cut in the
 * middle of a command is a lost connection that is retried, not a failed script; a droplet that
 * presents another host key is refused and nothing more runs on it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { connectSsh, exec } from '../../platform/ssh';
import type { BuildState } from '../../contract/operator';
import { untilLogged, waitForBuild } from '../support/build-state';
import { startStack } from '../support/stack';
import type { Stack } from '../support/stack';
import { setTimeout as sleep } from 'node:timers/promises';

let stack: Stack;

before(async () => {
  stack = await startStack({ lab: { timing: { transferDelayMs: 200, maxDiskGiB: 1 } } });
});

after(async () => {
  await stack?.stop();
});

async function spec(name: string, scripts: string[]): Promise<string> {
  const dir = path.join(stack.dir, name);
  await fs.mkdir(dir, { recursive: true });
  const runs = scripts.map((s) => `  - run: ${JSON.stringify(s)}\n`).join('');
  await fs.writeFile(
    path.join(dir, 'build.yaml'),
    `name: ${name}\nvendor: forge\ndroplet: { image: debian-12-x64 }\napt: { upgrade: false }\nscripts:\n${runs}`,
  );
  return path.join(dir, 'build.yaml');
}

const until = (id: string, pred: (s: BuildState) => boolean, what: string, timeoutMs?: number) =>
  waitForBuild(stack, id, pred, what, timeoutMs);

async function liveDroplets(): Promise<{ id: number; ipv4: string | null }[]> {
  await stack.lab.idle();
  return (await stack.lab.state()).droplets.list.filter((d) => d.status !== 'archive');
}

test('cancel: the droplet is destroyed', async () => {
  const file = await spec('cancel', ['sleep 60']);
  await stack.client(['start-build', file, '--id', 'leak-cancel']);
  await until('leak-cancel', (s) => s.steps.some((x) => x.name === '01-script' && x.state === 'running'), 'the script');
  const handle = stack.temporal.client.workflow.getHandle('leak-cancel');
  await handle.cancel();
  await assert.rejects(handle.result(), /cancel/i);
  assert.deepEqual(await liveDroplets(), []);
});

test('terminate: the janitor finds the droplet and deletes it', async () => {
  const file = await spec('terminate', ['sleep 60']);
  await stack.client(['start-build', file, '--id', 'leak-terminate']);
  await until(
    'leak-terminate',
    (s) => s.steps.some((x) => x.name === '01-script' && x.state === 'running'),
    'the script',
  );
  await stack.temporal.client.workflow.getHandle('leak-terminate').terminate('test');
  const [left] = await liveDroplets();
  assert.ok(left, 'terminate runs no cleanup code: the droplet is left');
  // A new run under the same workflow id is running: the left droplet is still an orphan (it is
  // another run's), and the janitor leaves the new run's droplet alone.
  await stack.client(['start-build', file, '--id', 'leak-terminate']);
  const again = await until(
    'leak-terminate',
    (s) => s.steps.some((x) => x.name === '01-script' && x.state === 'running'),
    'the second run',
  );
  assert.notEqual(again.dropletId, left.id);
  const list = await stack.client(['janitor', '--json']);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(
    (JSON.parse(list.stdout) as { orphans: { id: number }[] }).orphans.map((o) => o.id),
    [left.id],
  );
  const del = await stack.client(['janitor', '--yes']);
  assert.equal(del.code, 0, del.stderr);
  assert.match(del.stdout, new RegExp(`deleted droplet ${left.id}`));
  assert.deepEqual(
    (await liveDroplets()).map((d) => d.id),
    [again.dropletId],
  );
  const handle = stack.temporal.client.workflow.getHandle('leak-terminate');
  await handle.cancel();
  await assert.rejects(handle.result(), /cancel/i);
  assert.deepEqual(await liveDroplets(), []);
});

test('an SSH link cut mid-command is a lost connection, retried; the build completes', async () => {
  const file = await spec('sshcut', ['echo start; echo start >> /root/cut.log; sleep 12; echo end >> /root/cut.log']);
  await stack.client(['start-build', file, '--id', 'ssh-cut']);
  const s = await until(
    'ssh-cut',
    (x) => x.steps.some((y) => y.name === '01-script' && y.state === 'running'),
    'the script',
  );
  // Cut the link once the script is running on the droplet (its own output says so), not after a timer.
  await untilLogged(stack, 'ssh-cut', '01-script', 'start');
  const ip = (await liveDroplets()).find((d) => d.id === s.dropletId)!.ipv4!;
  const hostSide = ip.replace(/\.(\d+)$/, (_m, n: string) => `.${Number(n) - 1}`);
  const ifname = execFileSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' })
    .split('\n')
    .find((l) => l.includes(` ${hostSide}/`))!
    .split(/\s+/)[1]!;
  execFileSync('ip', ['link', 'set', 'dev', ifname, 'down']);
  await sleep(10_000);
  execFileSync('ip', ['link', 'set', 'dev', ifname, 'up']);
  const end = await until(
    'ssh-cut',
    (x) => x.status === 'succeeded' || x.status === 'waiting-for-operator' || x.status === 'failed',
    'the end',
  );
  assert.equal(end.status, 'succeeded', JSON.stringify(end.steps));
  const log = await stack.client(['logs', 'ssh-cut', '--step', '01-script']);
  assert.match(log.stdout, /attempt 2/, 'the step was attempted again after the link loss');
});

test('a droplet presenting another host key is refused; nothing more runs on it', async () => {
  // The script swaps the droplet's host key and drops every SSH session, its own too: the step's
  // retry must reconnect — and meets a key that is not the one provision handed the droplet.
  const swap =
    'echo run >> /root/runs.log; rm -f /etc/ssh/ssh_host_*; ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key; pkill -f "sshd: root"';
  const file = await spec('hostkey', [swap, 'echo second >> /root/runs.log']);
  await stack.client(['start-build', file, '--id', 'host-key']);
  const s = await until('host-key', (x) => x.status === 'waiting-for-operator', 'the refusal');
  assert.match(s.waiting!.error, /host key of .* is SHA256:.*, expected SHA256:.*: refusing to connect/);
  // Look with the worker's key, trusting whatever key is there: the refused step never ran.
  const ip = (await liveDroplets()).find((d) => d.id === s.dropletId)!.ipv4!;
  const conn = await connectSsh({
    host: ip,
    username: 'root',
    privateKey: await fs.readFile(stack.keyFile),
    readyTimeoutMs: 30_000,
  });
  let out = '';
  await exec(conn, 'cat /root/runs.log', { onStdout: (b) => (out += b.toString()) });
  conn.end();
  assert.equal(out, 'run\n', 'nothing ran again on the droplet with the wrong key');
  const abort = await stack.client(['abort', 'host-key']);
  assert.equal(abort.code, 0, abort.stderr);
  await until('host-key', (x) => x.status === 'failed', 'the abort');
  assert.deepEqual(await liveDroplets(), []);
});
