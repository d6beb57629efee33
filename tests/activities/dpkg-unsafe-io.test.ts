/**
 * dpkg without fsync while the image is built, on a real lab droplet: install writes dpkg's
 * force-unsafe-io file, and the dpkg that apt runs — in install and in a spec's script — has it on
 * (an apt hook of the test's own asks dpkg for its forced options each time apt invokes it);
 * cleanup removes the file, after which dpkg fsyncs again; the image check fails an image that
 * still holds it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { cleanup } from '../../activities/cleanup';
import { install } from '../../activities/install';
import { runScript } from '../../activities/run-script';
import { cloudConfig } from '../../activities/image/cloud-config';
import { IMAGE_CHECK_SCRIPT, parseImageCheck } from '../../activities/image/check';
import { DPKG_UNSAFE_IO_FILE } from '../../contract/dpkg-unsafe-io';
import type { DropletRef } from '../../contract/steps';
import { deriveHostKey, hostKeySecretFrom } from '../../platform/host-key';
import { dropletFromImage, type TestDroplet } from '../support/droplet';
import { startTestLab, type TestLab } from '../support/lab-api';
import { labActivityDeps } from '../support/lab-deps';

let lab: TestLab;
let droplet: TestDroplet;
let ref: DropletRef;
let deps: ReturnType<typeof labActivityDeps>['deps'];

/** Each time apt invokes dpkg, the hook appends dpkg's "Currently enabled options" line here. */
const FORCED = '/root/dpkg-forced-options';
const HOOK = `DPkg::Pre-Invoke { "dpkg --force-help | tail -n 1 >> ${FORCED}"; };\n`;
const forcedLines = async () =>
  (await droplet.run(`cat ${FORCED} 2>/dev/null`)).out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.trim().split(','));

before(async () => {
  lab = await startTestLab('dpkg-unsafe-io', { timing: { transferDelayMs: 300, minActionMs: 100, maxDiskGiB: 1 } });
  const made = labActivityDeps(lab.server, lab.token, join(lab.work, 'w'));
  deps = made.deps;
  const buildId = `unsafe-io-${randomBytes(3).toString('hex')}`;
  droplet = await dropletFromImage(lab.server.endpoint, lab.token, 'debian-12-x64', 's-1vcpu-1gb', {
    key: made.key,
    userData: cloudConfig(deriveHostKey(hostKeySecretFrom(made.deps.login.privateKey), buildId)),
  });
  await droplet.run('cloud-init status --wait >/dev/null');
  ref = { buildId, dropletId: droplet.id, ipv4: droplet.ip };
  const hook = await droplet.run('cat > /etc/apt/apt.conf.d/00test-dpkg-forced', HOOK);
  assert.equal(hook.code, 0);
  // Before the build touches it, this droplet's dpkg does not skip fsync.
  assert.equal((await droplet.run('dpkg --force-help | tail -n 1 | grep -c unsafe-io')).out.trim(), '0');
});

after(async () => {
  deps?.shells.closeAll();
  await droplet?.destroy();
  await lab?.dispose();
});

test('install writes force-unsafe-io, and the dpkg its apt runs has it on', async () => {
  const r = await install(deps)({
    droplet: ref,
    step: 'install',
    contextDigest: 'none',
    apt: { upgrade: false, packages: ['hello'] },
  });
  assert.equal(r.exitCode, 0, r.tail.join('\n'));
  assert.equal((await droplet.run(`cat ${DPKG_UNSAFE_IO_FILE}`)).out, 'force-unsafe-io\n');
  const seen = await forcedLines();
  assert.ok(seen.length >= 1, 'apt invoked dpkg');
  assert.ok(
    seen.every((opts) => opts.includes('unsafe-io')),
    `every dpkg run of the install: ${JSON.stringify(seen)}`,
  );
});

test("a spec's script that runs apt-get: its dpkg has force-unsafe-io on too", async () => {
  const before = (await forcedLines()).length;
  const r = await runScript(deps)({
    droplet: ref,
    step: 'script-apt',
    contextDigest: 'none',
    script: { kind: 'script', run: 'DEBIAN_FRONTEND=noninteractive apt-get -y -q install figlet', label: 'figlet' },
    env: {},
  });
  assert.equal(r.exitCode, 0, r.tail.join('\n'));
  const seen = (await forcedLines()).slice(before);
  assert.ok(seen.length >= 1, "the script's apt invoked dpkg");
  assert.ok(
    seen.every((opts) => opts.includes('unsafe-io')),
    JSON.stringify(seen),
  );
});

test('cleanup removes it (dpkg fsyncs again); the image check fails an image that still holds it', async () => {
  const check = async () =>
    parseImageCheck((await droplet.run(`LOGIN_KEY=none bash -s`, IMAGE_CHECK_SCRIPT)).out).failures.filter((f) =>
      f.startsWith('dpkg-unsafe-io'),
    );
  assert.equal((await check()).length, 1, 'the check sees the file');
  const r = await cleanup(deps)({ droplet: ref, step: 'cleanup', contextDigest: 'none' });
  assert.equal(r.exitCode, 0, r.tail.join('\n'));
  assert.equal((await droplet.run(`test -e ${DPKG_UNSAFE_IO_FILE}`)).code, 1, 'removed');
  assert.equal((await droplet.run('dpkg --force-help | tail -n 1 | grep -c unsafe-io')).out.trim(), '0');
  assert.deepEqual(await check(), []);
});
