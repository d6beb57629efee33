/**
 * The worker's apt proxy (IMAGE_FORGE_APT_PROXY) on a real lab droplet, through the lab's apt
 * cache (apt-cacher-ng, here with an empty cache of the test's own): install writes the proxy
 * file and apt goes through the cache (a second download of the same package is a hit); cleanup
 * removes the file; without the setting install writes none; the image check fails an image
 * that still holds it, and its own apt runs write back no binary cache. And a cleanup retried after
 * one cut off mid zero-fill still finds room.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup } from '../../activities/cleanup';
import { install } from '../../activities/install';
import { cloudConfig } from '../../activities/image/cloud-config';
import { IMAGE_CHECK_SCRIPT, parseImageCheck } from '../../activities/image/check';
import { APT_PROXY_FILE, parseAptProxy } from '../../contract/apt-proxy';
import type { DropletRef } from '../../contract/steps';
import { startAptCache, type AptCache } from '../../lab/apt-cache/apt-cacher-ng';
import { LAB_APT_PROXY } from '../../lab/droplets/network';
import { createNspawnRuntime } from '../../lab/droplets/nspawn-runtime';
import { deriveHostKey, hostKeySecretFrom } from '../../platform/host-key';
import { workerSettingsFrom } from '../../worker/config';
import { dropletFromImage, type TestDroplet } from '../support/droplet';
import { startTestLab, type TestLab } from '../support/lab-api';
import { labActivityDeps } from '../support/lab-deps';

let lab: TestLab;
let cache: AptCache;
let droplet: TestDroplet;
let ref: DropletRef;
let withProxy: ReturnType<typeof labActivityDeps>['deps'];
let without: ReturnType<typeof labActivityDeps>['deps'];

before(async () => {
  lab = await startTestLab('apt-proxy', {
    runtime: createNspawnRuntime({ aptCachePort: () => cache?.port }),
    timing: { transferDelayMs: 300, minActionMs: 100, maxDiskGiB: 1 },
  });
  cache = await startAptCache({ dir: join(lab.work, 'apt-cache') });
  const made = labActivityDeps(lab.server, lab.token, join(lab.work, 'w'), { aptProxy: LAB_APT_PROXY });
  withProxy = made.deps;
  // The same login key: both reach the droplet; only the worker setting differs.
  without = { ...made.deps };
  delete without.aptProxy;
  const buildId = `apt-proxy-${randomBytes(3).toString('hex')}`;
  droplet = await dropletFromImage(lab.server.endpoint, lab.token, 'debian-12-x64', 's-1vcpu-1gb', {
    key: made.key,
    userData: cloudConfig(deriveHostKey(hostKeySecretFrom(made.deps.login.privateKey), buildId)),
  });
  await droplet.run('cloud-init status --wait >/dev/null');
  ref = { buildId, dropletId: droplet.id, ipv4: droplet.ip };
});

after(async () => {
  withProxy?.shells.closeAll();
  await droplet?.destroy();
  await cache?.stop();
  await lab?.dispose();
});

test('IMAGE_FORGE_APT_PROXY: an http origin from the worker config, nothing else', () => {
  const base = { DIGITALOCEAN_TOKEN: 't', IMAGE_FORGE_SSH_KEY: '/k' };
  assert.equal(workerSettingsFrom(base).aptProxy, undefined, 'off by default');
  assert.equal(
    workerSettingsFrom({ ...base, IMAGE_FORGE_APT_PROXY: 'http://10.0.0.5:3142/' }).aptProxy,
    'http://10.0.0.5:3142',
  );
  for (const bad of ['https://x:3142', 'x:3142', 'http://u:p@x:3142', 'http://x:3142/debian', 'http://x/?a'])
    assert.throws(() => workerSettingsFrom({ ...base, IMAGE_FORGE_APT_PROXY: bad }), /IMAGE_FORGE_APT_PROXY/, bad);
  assert.equal(parseAptProxy(LAB_APT_PROXY), LAB_APT_PROXY);
  assert.ok(readFileSync(join(__dirname, '../../../activities/image/check.sh'), 'utf8').includes(APT_PROXY_FILE));
});

test('install goes through the cache; a package fetched once is then served from it', async () => {
  const r = await install(withProxy)({
    droplet: ref,
    step: 'install',
    contextDigest: 'none',
    apt: { upgrade: false, packages: ['hello'] },
  });
  assert.equal(r.exitCode, 0);
  const file = await droplet.run(`cat ${APT_PROXY_FILE}`);
  assert.equal(file.out, `Acquire::http::Proxy "${LAB_APT_PROXY}";\n`);
  const first = await cache.traffic();
  assert.ok(first.packagesServed >= 1 && first.packagesFetched >= 1, JSON.stringify(first));
  // The same package again, from an emptied local apt cache: the lab's cache serves it.
  const again = await droplet.run('apt-get clean && apt-get -y -q install --reinstall hello');
  assert.equal(again.code, 0, again.out);
  const second = await cache.traffic();
  assert.equal(second.packagesServed, first.packagesServed + 1, JSON.stringify(second));
  assert.equal(second.packagesFetched, first.packagesFetched, 'a hit: nothing more fetched from the mirror');
});

test('cleanup removes the proxy file; the image check fails an image that still holds it', async () => {
  const check = async () =>
    parseImageCheck((await droplet.run(`LOGIN_KEY=none bash -s`, IMAGE_CHECK_SCRIPT)).out).failures.filter((f) =>
      f.startsWith('apt-proxy'),
    );
  assert.equal((await check()).length, 1, 'the check sees the proxy file');
  const r = await cleanup(withProxy)({ droplet: ref, step: 'cleanup', contextDigest: 'none' });
  assert.equal(r.exitCode, 0);
  assert.equal((await droplet.run(`test -e ${APT_PROXY_FILE}`)).code, 1, 'removed');
  // apt's caches are empty: no package file (install fetched hello) and no binary cache.
  assert.equal(
    (await droplet.run('find /var/cache/apt -type f -name "*.deb" -o -type f -name "*.bin" | wc -l')).out.trim(),
    '0',
  );
  assert.deepEqual(await check(), []);
  // The check's own apt runs (its security-updates check) write back no binary cache that cleanup removed.
  assert.equal((await droplet.run('ls /var/cache/apt/ | grep -c "\\.bin$"')).out.trim(), '0');
});

test('without IMAGE_FORGE_APT_PROXY install writes no proxy file', async () => {
  const r = await install(without)({
    droplet: ref,
    step: 'install-2',
    contextDigest: 'none',
    apt: { upgrade: false, packages: ['hello'] },
  });
  assert.equal(r.exitCode, 0);
  assert.equal((await droplet.run(`ls /etc/apt/apt.conf.d/ | grep -c image-forge`)).out.trim(), '0');
});

test('a cleanup retried after one cut off mid zero-fill: the disk is freed and the old dd ended first', async () => {
  // The earlier attempt's dd ran until the disk was full and its file stayed: apt has no room.
  await droplet.run('dd if=/dev/zero of=/zerofile bs=4M status=none; true');
  assert.match((await droplet.run('df --output=avail / | tail -1')).out.trim(), /^\d{1,4}$/, 'the disk is full');
  const r = await cleanup(withProxy)({ droplet: ref, step: 'cleanup-retry', contextDigest: 'none' });
  assert.equal(r.exitCode, 0, r.tail.join('\n'));
  assert.equal((await droplet.run('test -e /zerofile')).code, 1, 'no zero-fill file left');

  // An earlier attempt's dd still running (here blocked opening a FIFO): ended, not left behind in the image.
  await droplet.run(
    'mkfifo /zerofile && (setsid dd if=/dev/zero of=/zerofile bs=4M status=none </dev/null >/dev/null 2>&1 &)',
  );
  assert.equal((await droplet.run("pgrep -f '^dd if=/dev/zero of=/zerofile'")).code, 0, 'the old dd runs');
  const again = await cleanup(withProxy)({ droplet: ref, step: 'cleanup-retry-2', contextDigest: 'none' });
  assert.equal(again.exitCode, 0, again.tail.join('\n'));
  assert.equal((await droplet.run("pgrep -f '^dd if=/dev/zero of=/zerofile'")).code, 1, 'the old dd was ended');
  assert.equal((await droplet.run('test -e /zerofile')).code, 1);
});
