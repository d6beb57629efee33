/**
 * The example LAMP image, built end to end in the lab with `client start-build --wait --json`,
 * then checked the way a customer and DigitalOcean's review would: a droplet made from the
 * snapshot runs its first-boot scripts once and in order, greets root's first login once, serves
 * the PHP page from MariaDB, and passes the image check with no failure and no warning; the
 * snapshot itself holds no keys, history or logs; the build droplet is gone. The build's apt went
 * through the lab's apt cache (the worker's IMAGE_FORGE_APT_PROXY), and the image keeps no proxy,
 * nor the build's dpkg force-unsafe-io.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { IMAGE_CHECK_SCRIPT, parseImageCheck } from '../../activities/image/check';
import { APT_PROXY_FILE } from '../../contract/apt-proxy';
import { DPKG_UNSAFE_IO_FILE } from '../../contract/dpkg-unsafe-io';
import type { BuildManifest } from '../../contract/build';
import { dropletFromImage } from '../support/droplet';
import type { TestDroplet } from '../support/droplet';
import { LAB_TOKEN, assertNoLeftovers, startStack } from '../support/stack';
import type { Stack } from '../support/stack';
import { REPO } from '../support/temporal';

let stack: Stack;
let manifest: BuildManifest;
let droplet: TestDroplet | undefined;

before(async () => {
  stack = await startStack({ lab: { timing: { transferDelayMs: 500, maxDiskGiB: 2 } } });
  const r = await stack.client(['start-build', path.join(REPO, 'examples/lamp/build.yaml'), '--wait', '--json']);
  assert.equal(r.code, 0, `build failed: ${r.stderr}\n${r.stdout}`);
  const out = JSON.parse(r.stdout) as {
    buildId: string;
    status: string;
    snapshot: { id: number; name: string };
    manifest: BuildManifest;
  };
  assert.equal(out.status, 'succeeded');
  assert.ok(out.snapshot.id > 0 && out.snapshot.name.startsWith('lamp-'));
  manifest = out.manifest;
  const steps = manifest.steps.map((s) => `${s.name} ${s.seconds?.toFixed(1)}s`).join(', ');
  console.log(`LAMP build steps: ${steps}`);
});

after(async () => {
  await droplet?.destroy();
  await stack?.stop();
  if (stack) await assertNoLeftovers(stack.machinePrefix);
});

test('the manifest names the snapshot, its regions, the OS and package versions', () => {
  assert.deepEqual([...(manifest.snapshot?.regions ?? [])].sort(), ['nyc3', 'sfo3']);
  assert.equal(manifest.os?.id, 'debian');
  // What the build paid for: the build droplet lived through every step up to its destroy.
  const untilDestroy = manifest.steps.slice(0, manifest.steps.findIndex((x) => x.name === 'destroy') + 1);
  const sequential = untilDestroy.filter((x) => !x.name.startsWith('transfer-'));
  const stepMinutes = sequential.reduce((n, x) => n + (x.seconds ?? 0), 0) / 60;
  assert.ok(manifest.cost && manifest.cost.buildDropletMinutes >= stepMinutes * 0.9, JSON.stringify(manifest.cost));
  assert.ok(manifest.cost.testDropletMinutes > 0, 'the verify droplet is counted');
  // The copy to sfo3 needs only the image: the build droplet is destroyed before it starts.
  const names = manifest.steps.map((x) => x.name);
  assert.ok(names.indexOf('destroy') < names.indexOf('transfer-sfo3'), `step order: ${names.join(', ')}`);
  assert.equal(manifest.os?.versionId, '12');
  assert.match(manifest.packages?.nginx ?? '', /^\d/);
  assert.match(manifest.packages?.['mariadb-server'] ?? '', /^\d/);
  assert.deepEqual(manifest.validation?.failures, []);
  assert.ok(
    manifest.steps.every((s) => s.state === 'succeeded'),
    'every step succeeded',
  );
  assert.equal(manifest.verify?.state, 'verified', 'tested on a droplet made from the snapshot');
  assert.deepEqual(manifest.verify?.result?.firstBoot, [
    { name: '001_onboot', runs: 1 },
    { name: '002_onboot-web', runs: 1 },
  ]);
  assert.deepEqual(manifest.verify?.result?.validation.failures, []);
  assert.deepEqual(
    manifest.verify?.result?.tests.map((t) => [t.label, t.exitCode]),
    [
      ['the page reaches MariaDB', 0],
      ['the firewall is on', 0],
    ],
  );
});

test('the build droplet is gone and exactly one was created, plus one to verify the image', async () => {
  const audit = await stack.audit();
  const created = audit.filter((e) => e.type === 'droplet.created');
  assert.deepEqual(
    created.map((e) => String(e.name).replace(/-[0-9a-f]{8}$|-\d+$/, '')),
    ['lamp-build', 'verify'],
    'one build droplet, then one test droplet',
  );
  const state = await stack.lab.state();
  assert.equal(state.droplets.list.filter((d) => d.status !== 'archive').length, 0, 'no droplet left');
  // What the build asked DigitalOcean, by kind (issue #20 P6: ≤ 40 per build, verify's included).
  const kinds = new Map<string, number>();
  for (const e of audit.filter((x) => x.type === 'request')) {
    const k = `${String(e.method)} ${String(e.path).replace(/\/\d+/g, '/:id').replace(/\?.*$/, '')}`;
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  console.log(
    `API calls: ${[...kinds.values()].reduce((a, b) => a + b, 0)}: ${[...kinds].map(([k, n]) => `${k} ×${n}`).join(', ')}`,
  );
});

test('the snapshot holds no login keys, host keys, shell history or logs', async () => {
  const state = await stack.lab.state();
  const archive = state.archives.find((a) => a.id === manifest.snapshot?.id);
  assert.ok(archive, 'the lab knows the snapshot archive');
  const listing = execFileSync('tar', ['--zstd', '-tvf', archive.archivePath], {
    maxBuffer: 256 * 1024 * 1024,
    encoding: 'utf8',
  });
  const entries = new Map<string, number>();
  for (const line of listing.split('\n')) {
    const m = /^\S+\s+\S+\s+(\d+)\s+\S+\s+\S+\s+\.\/(.*)$/.exec(line);
    if (m) entries.set(m[2]!.replace(/ -> .*$/, ''), Number(m[1]));
  }
  assert.ok(entries.size > 1000, 'the listing was read');
  assert.ok(!entries.has('root/.ssh/authorized_keys'), 'no authorized_keys');
  assert.deepEqual(
    [...entries.keys()].filter((e) => /^etc\/ssh\/ssh_host_/.test(e)),
    [],
    'no host keys',
  );
  assert.ok((entries.get('root/.bash_history') ?? 0) === 0, 'no root shell history');
  const logs = [...entries].filter(([n, size]) => /^var\/log\/[^/]+\.log$/.test(n) && size > 50);
  assert.deepEqual(logs, [], 'no non-empty top-level logs');
  assert.ok(!entries.has('zerofile'), 'the zero-fill file was removed');
  assert.ok(!entries.has(APT_PROXY_FILE.slice(1)), "the worker's apt proxy is not in the image");
  assert.ok(!entries.has(DPKG_UNSAFE_IO_FILE.slice(1)), "the build's dpkg force-unsafe-io is not in the image");
  // Cleanup's apt-get clean removed apt's binary caches; validate's image check writes none back (80 MB).
  assert.deepEqual(
    [...entries.keys()].filter((e) => /^var\/cache\/apt\/[^/]+\.bin$/.test(e)),
    [],
    'no apt binary caches',
  );
  assert.deepEqual(
    [...entries.keys()].filter((e) => e.startsWith('var/lib/cloud/instances/') && e !== 'var/lib/cloud/instances/'),
    [],
    'cloud-init will see a new instance',
  );
});

test("the build's apt went through the lab's apt cache", async () => {
  const traffic = await stack.aptCache!.traffic();
  // nginx, MariaDB, PHP and their dependencies: dozens of packages, each served by the cache.
  assert.ok(traffic.packagesServed >= 30, JSON.stringify(traffic));
});

test('a droplet from the snapshot: first boot once, first login once, site up, image check clean', async () => {
  droplet = await dropletFromImage(stack.lab.endpoint, LAB_TOKEN, manifest.snapshot!.id);
  const d = droplet;
  const status = await d.run('cloud-init status --wait; cloud-init status --long');
  assert.match(status.out, /status: done/);
  const boots = await d.run('cat /var/lib/lamp/first-boot.log');
  assert.deepEqual(
    boots.out
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0]),
    ['001_onboot', '002_onboot-web'],
    'both first-boot scripts ran once, in order',
  );
  const pw = await d.run(
    'stat -c %a /root/.digitalocean_password && grep -c app_db_password /root/.digitalocean_password',
  );
  assert.match(pw.out, /^600\n1\n$/);

  const first = await d.run('bash -ic "exit" 2>/dev/null');
  assert.match(first.out, /Welcome to your LAMP droplet/);
  const second = await d.run('bash -ic "exit" 2>/dev/null');
  assert.doesNotMatch(second.out, /Welcome/, 'the message is shown on the first login only');
  assert.equal((await d.run('cmp /root/.bashrc /etc/skel/.bashrc')).code, 0, '.bashrc restored');

  assert.equal((await d.run(`test -e ${APT_PROXY_FILE}`)).code, 1, 'no apt proxy on the customer droplet');
  assert.equal((await d.run('dpkg --force-help | tail -n 1 | grep -c unsafe-io')).out.trim(), '0', 'dpkg fsyncs');
  const page = await d.run('curl -fsS http://localhost/');
  assert.match(page.out, /LAMP on DigitalOcean: PHP 8\.2.*database connected \(MariaDB/);

  const loginKey = (await d.run('cut -d" " -f1,2 /root/.ssh/authorized_keys')).out.trim();
  const check = await d.run(`IMAGE_CHECK_AFTER_BOOT=1 LOGIN_KEY='${loginKey}' bash -s`, IMAGE_CHECK_SCRIPT);
  const report = parseImageCheck(check.out);
  assert.deepEqual(report.failures, [], check.out);
  assert.deepEqual(report.warnings, [], check.out);
  assert.ok(report.passed >= 8);
});
