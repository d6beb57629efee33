/**
 * Verify's builder-key probe (issue #28 §2) on a real lab droplet, through a real OpenSSH bastion:
 * the worker's key is tried as root and as every user with a login shell — a user given a copy of
 * root's keys is found, one without a login shell is not tried — and every attempt rides a
 * channel the bastion opens, as the build's own connections do.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cloudConfig } from '../../activities/image/cloud-config';
import { usersBuilderKeyOpens } from '../../activities/remote/builder-key-probe';
import type { ActivityDeps } from '../../activities/runtime/deps';
import type { DropletRef } from '../../contract/steps';
import { deriveHostKey, hostKeySecretFrom } from '../../platform/host-key';
import { startBastion, type Bastion } from '../support/bastion';
import { dropletFromImage, type TestDroplet } from '../support/droplet';
import { startTestLab, type TestLab } from '../support/lab-api';
import { labActivityDeps } from '../support/lab-deps';

let lab: TestLab;
let bastion: Bastion;
let droplet: TestDroplet;
let deps: ActivityDeps;
let ref: DropletRef;

before(async () => {
  lab = await startTestLab('key-probe');
  const made = labActivityDeps(lab.server, lab.token, join(lab.work, 'w'));
  deps = made.deps;
  bastion = await startBastion(join(lab.work, 'bastion'), [made.key.publicOpenSsh]);
  const buildId = 'key-probe-1';
  droplet = await dropletFromImage(lab.server.endpoint, lab.token, 'debian-12-x64', 's-1vcpu-1gb', {
    key: made.key,
    userData: cloudConfig(deriveHostKey(hostKeySecretFrom(deps.login.privateKey), buildId)),
  });
  await droplet.run('cloud-init status --wait >/dev/null');
  ref = {
    buildId,
    dropletId: droplet.id,
    ipv4: droplet.ip,
    bastion: { host: '127.0.0.1', port: bastion.port, user: 'root', hostKey: bastion.hostKey },
  };
});

after(async () => {
  deps?.shells.closeAll();
  await bastion?.stop();
  await droplet?.destroy();
  await lab?.dispose();
});

test("the worker's key is tried as every user with a login shell, through the bastion", async () => {
  // sammy gets root's keys as DigitalOcean's initial-server-setup tutorial does; daemon has them
  // too but no login shell, so sshd would not run anything for it: not tried.
  const setup = await droplet.run(
    'useradd -m -s /bin/bash sammy && cp -r /root/.ssh /home/sammy/ && chown -R sammy: /home/sammy/.ssh && ' +
      'usermod -d /home/daemon daemon && mkdir -p /home/daemon && ' +
      'cp -r /root/.ssh /home/daemon/ && chown -R daemon: /home/daemon/.ssh',
  );
  assert.equal(setup.code, 0, setup.out);
  assert.deepEqual(await usersBuilderKeyOpens(deps, ref, 'verify'), ['root', 'sammy']);
  const channels = (await bastion.log()).split('\n').filter((l) => l.includes(`target ${droplet.ip} port 22`));
  // One for the user list, then root, sync and sammy (login shells), each a connection of its own.
  assert.equal(channels.length, 4, channels.join('\n'));
});
