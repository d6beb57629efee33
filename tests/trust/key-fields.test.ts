/**
 * The image check compares keys by their fields, never as substrings (issue #28 §2), on a real lab
 * droplet: the login key counts as the login key only when its type and blob are the line's key —
 * options before it allowed, quoted spaces included — and a key of its own that carries the login
 * key in its comment or options is a key like any other.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { IMAGE_CHECK_SCRIPT, parseImageCheck } from '../../activities/image/check';
import { dropletFromImage, type TestDroplet } from '../support/droplet';
import { startTestLab, type TestLab } from '../support/lab-api';

let lab: TestLab;
let droplet: TestDroplet;
let loginKey = '';
const OTHER = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKxPlantedKeyPlantedKeyPlantedKeyPlanted0';

before(async () => {
  lab = await startTestLab('key-fields');
  droplet = await dropletFromImage(lab.server.endpoint, lab.token, 'debian-12-x64');
  loginKey = (await droplet.run('cut -d" " -f1,2 /root/.ssh/authorized_keys')).out.trim();
  assert.match(loginKey, /^ssh-ed25519 AAAA\S+$/);
  assert.equal((await droplet.run('useradd -m -s /bin/bash app && mkdir -p /home/app/.ssh')).code, 0);
});

after(async () => {
  await droplet?.destroy();
  await lab?.dispose();
});

/** The image check's ssh-keys findings with `lines` as app's authorized_keys, logged in with the droplet's key. */
async function keyFindings(lines: string[]): Promise<string[]> {
  const write = await droplet.run('cat > /home/app/.ssh/authorized_keys', `${lines.join('\n')}\n`);
  assert.equal(write.code, 0);
  const r = await droplet.run(`LOGIN_KEY='${loginKey}' bash -s`, IMAGE_CHECK_SCRIPT);
  return parseImageCheck(r.out).failures.filter((f) => f.startsWith('ssh-keys:'));
}

test('the login key, with options and a comment, is the login key', async () => {
  const findings = await keyFindings([
    '# a comment line',
    '',
    `${loginKey} me@laptop`,
    `no-pty,command="echo two words",from="10.0.0.1" ${loginKey} tagged`,
  ]);
  assert.deepEqual(findings, []);
});

test('a key of its own with the login key as its comment or in its options is a key', async () => {
  assert.deepEqual(await keyFindings([`${OTHER} ${loginKey}`]), [
    'ssh-keys: /home/app/.ssh/authorized_keys holds 1 key(s) (remove them)',
  ]);
  assert.deepEqual(await keyFindings([`command="${loginKey}" ${OTHER} x`, `${loginKey}`]), [
    'ssh-keys: /home/app/.ssh/authorized_keys holds 1 key(s) (remove them)',
  ]);
});
