/**
 * Every image ships with its bill of materials, and every rebuild says what changed — in the lab:
 * a build's SBOM is valid CycloneDX 1.6 and valid SPDX 2.3, lists exactly the packages dpkg-query
 * finds on a fresh droplet made from the image and the files the spec placed (mode and SHA-256),
 * holds no secret. The build is published; a scheduled rebuild with a package removed, a file
 * changed and a package pinned to another version (forge-pin, a .deb made here: the lab's mirror
 * has one version of each package) diffs against it, and publishes with that diff as its
 * reasonForUpdate (the spec states none): the lab's Vendor API stores it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import type { BuildManifest } from '../../contract/build';
import { STOCK_REASON_FOR_UPDATE, reasonForUpdate } from '../../contract/bill-of-materials';
import type { BuildDiff } from '../../contract/bill-of-materials';
import { waitForBuild } from '../support/build-state';
import { makeDeb } from '../support/deb';
import { labControl } from '../support/lab-control';
import { spdxValidator } from '../support/spdx-schema';
import { startStack } from '../support/stack';
import type { Stack } from '../support/stack';
import { REPO } from '../support/temporal';
import { setTimeout as sleep } from 'node:timers/promises';

const FIXTURE = path.join(REPO, 'tests/build/fixtures/sbom');
const SECRET = 'bom-secret-value-4711';
const APP = 'lab-bomcheck';
// Fast waits: review looks every ~1 s, a busy app is tried again after ~2 s.
const FAST = ['--review-poll', '0.015', '--busy-retry', '0.03'];
let stack: Stack;
let first: BuildManifest | undefined;

before(async () => {
  stack = await startStack({
    lab: {
      timing: { transferDelayMs: 200, maxDiskGiB: 1 },
      vendorApps: [
        {
          id: APP,
          name: 'Bomcheck',
          status: 'approved',
          review: { pendingMs: 300, inReviewMs: 300, outcome: 'approved' },
        },
      ],
    },
  });
  await stack.stopWorker();
  await stack.startWorker({ extraEnv: { FORGE_BOM_SECRET: SECRET } });
});

after(async () => {
  await stack?.stop();
});

/** Waits for the build to ask to publish, approves, and returns its manifest once it ends. */
async function approveAndEnd(id: string): Promise<BuildManifest> {
  await waitForBuild(stack, id, (s) => s.status === 'waiting-for-approval', 'approval', 300_000);
  const ok = await stack.client(['approve', id]);
  assert.equal(ok.code, 0, ok.stderr);
  const m = (await stack.temporal.client.workflow.getHandle(id).result()) as BuildManifest;
  assert.equal(m.status, 'succeeded', m.error);
  assert.equal(m.publish?.state, 'approved', m.publish?.reason);
  return m;
}

async function listing(): Promise<{ customData: { imageId: number | null; reasonForUpdate: string } }> {
  const body = (await (await labControl(stack.lab, `/_lab/vendor-apps/${APP}`)).json()) as Record<string, unknown>;
  return (body.app ?? body) as Awaited<ReturnType<typeof listing>>;
}

/** A copy of the fixture that uploads forge-pin at `version` and installs it with dpkg -i (the .deb is then removed). */
async function withPin(name: string, version: string): Promise<string> {
  const dir = path.join(stack.dir, name);
  await fs.cp(FIXTURE, dir, { recursive: true });
  const deb = await makeDeb(path.join(dir, 'pin'), { name: 'forge-pin', version, license: 'MIT' });
  const spec = (await fs.readFile(path.join(dir, 'build.yaml'), 'utf8'))
    .replace('files:\n', `files:\n  - { src: pin/${path.basename(deb)}, dest: /root/forge-pin.deb }\n`)
    .replace(
      'scripts:\n',
      'scripts:\n  - run: dpkg -i /root/forge-pin.deb && rm /root/forge-pin.deb\n    name: install forge-pin\n',
    )
    // A Marketplace listing with no reasonForUpdate of its own.
    .concat(`marketplace:\n  appId: ${APP}\n  version: "1.0.0"\n`);
  await fs.writeFile(path.join(dir, 'build.yaml'), spec);
  return dir;
}

const sha256 = async (file: string) =>
  createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');

interface CdxComponent {
  type: string;
  name: string;
  version?: string;
  purl?: string;
  hashes?: { alg: string; content: string }[];
  properties?: { name: string; value: string }[];
}

test('the SBOM is valid CycloneDX 1.6 and SPDX 2.3 and lists what is on the image; the build is published', async () => {
  const spec = path.join(await withPin('bom-first', '1.0-1'), 'build.yaml');
  const run = await stack.client(['start-build', spec, '--id', 'bom-first', '--publish', ...FAST]);
  assert.equal(run.code, 0, run.stderr + run.stdout);
  const m = await approveAndEnd('bom-first');
  const sent = (await listing()).customData;
  assert.deepEqual(
    [sent.imageId, sent.reasonForUpdate],
    [m.snapshot!.id, ''],
    'published; nothing published before to compare with and no reason in the spec: none sent',
  );
  first = m;
  assert.ok(m.sbom, 'the manifest carries the SBOM summary');
  assert.equal(m.sbom.packages, Object.keys(m.packages ?? {}).length);
  assert.equal(m.sbom.files, 4);
  assert.ok(m.sbom.licensed > 0, 'some copyright files are machine-readable');
  // Named by the snapshot and the build's run (builds started in the same second share a snapshot name).
  assert.match(m.sbom.keys.cyclonedx, new RegExp(`^sbom/${m.snapshot!.name}\\.[0-9a-f]{12}\\.cdx\\.json$`));
  assert.ok(m.steps.findIndex((s) => s.name === 'sbom') > m.steps.findIndex((s) => s.name === 'inventory'));

  const meta = (await stack.temporal.client.workflow.getHandle('bom-first').query('__temporal_workflow_metadata')) as {
    currentDetails?: string;
  };
  assert.match(meta.currentDetails ?? '', new RegExp(`\\*\\*Bill of materials\\*\\*: ${m.sbom.packages} packages`));
  const status = await stack.client(['status', 'bom-first']);
  assert.match(status.stdout, new RegExp(`sbom: ${m.sbom.packages} packages .*client sbom bom-first`));

  const printed = await stack.client(['sbom', 'bom-first']);
  assert.equal(printed.code, 0, printed.stderr);
  const errors = await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(printed.stdout);
  assert.equal(errors, null, JSON.stringify(errors));
  assert.ok(!printed.stdout.includes(SECRET), 'no env value in the SBOM');
  const doc = JSON.parse(printed.stdout) as {
    components: CdxComponent[];
    metadata: { component: { version: string } };
  };
  assert.equal(doc.metadata.component.version, m.snapshot!.name);

  // The packages are exactly what dpkg-query lists on a fresh droplet made from the image (the verify step's test).
  const logs = await stack.client(['logs', 'bom-first', '--step', 'verify']);
  assert.equal(logs.code, 0, logs.stderr);
  const onImage = logs.stdout
    .split('\n')
    .map((l) => /DPKG ii\S*\s+(\S+) (\S+) (\S+)$/.exec(l))
    .filter((x): x is RegExpExecArray => x !== null)
    .map(([, name, version, arch]) => `pkg:deb/debian/${name}@${version}?arch=${arch}&distro=debian-12`)
    .sort();
  assert.ok(onImage.length > 50, `dpkg-query listed ${onImage.length} packages`);
  const libs = doc.components.filter((c) => c.type === 'library');
  assert.deepEqual(libs.map((c) => c.purl!.replace(/%2B/g, '+')).sort(), onImage);
  const ssh = libs.find((c) => c.name === 'openssh-server')!;
  assert.equal(ssh.properties?.find((p) => p.name === 'image-forge:deb:source')?.value.split(' ')[0], 'openssh');

  const files = Object.fromEntries(
    doc.components
      .filter((c) => c.type === 'file')
      .map((c) => [
        c.name,
        `${c.properties?.find((p) => p.name === 'image-forge:file:mode')?.value} ${c.hashes?.[0]?.content}`,
      ]),
  );
  assert.deepEqual(files, {
    '/etc/bom/bom.conf': `644 ${await sha256(path.join(FIXTURE, 'files/etc/bom/bom.conf'))}`,
    '/etc/bom-motd': `600 ${await sha256(path.join(FIXTURE, 'files/motd.txt'))}`,
    '/var/lib/cloud/scripts/per-instance/001_onboot': `755 ${await sha256(path.join(FIXTURE, 'scripts/onboot.sh'))}`,
    '/opt/forge/first-login.sh': `755 ${await sha256(path.join(FIXTURE, 'scripts/welcome.sh'))}`,
  });

  const out = path.join(stack.dir, 'bom.spdx.json');
  const spdx = await stack.client(['sbom', 'bom-first', '--format', 'spdx', '-o', out]);
  assert.equal(spdx.code, 0, spdx.stderr);
  const s = JSON.parse(await fs.readFile(out, 'utf8')) as {
    spdxVersion: string;
    packages: { name: string; versionInfo: string; licenseDeclared: string }[];
    files: unknown[];
  };
  assert.equal(spdxValidator()(s), null, 'valid against the official SPDX 2.3 schema');
  assert.equal(s.spdxVersion, 'SPDX-2.3');
  assert.equal(s.packages.length, libs.length + 1);
  assert.equal(s.files.length, 4, 'the uploaded .deb a script removed is not on the image');
  const pin = s.packages.find((p) => p.name === 'forge-pin');
  assert.deepEqual(
    pin && [pin.versionInfo, pin.licenseDeclared],
    ['1.0-1', 'MIT'],
    'its DEP-5 copyright file names an SPDX id',
  );
});

test('a scheduled rebuild with a package removed, a file changed and a package pinned to a newer version: client diff, and the reason it publishes with', async () => {
  assert.ok(first, 'the first build ran');
  const dir = await withPin('bom-second', '1.0-2');
  await fs.writeFile(path.join(dir, 'files/etc/bom/bom.conf'), 'bom = yes, again\n');
  const spec = (await fs.readFile(path.join(dir, 'build.yaml'), 'utf8')).replace(
    'scripts:\n',
    'scripts:\n  - run: DEBIAN_FRONTEND=noninteractive apt-get purge -y gnupg\n    name: remove gnupg\n',
  );
  await fs.writeFile(path.join(dir, 'build.yaml'), spec);
  const created = await stack.client(
    [
      'schedule',
      'create',
      path.join(dir, 'build.yaml'),
      '--every',
      '30d',
      '--publish',
      '--no-verify',
      '--paused',
    ].concat(FAST),
  );
  assert.equal(created.code, 0, created.stderr);
  const trig = await stack.client(['schedule', 'trigger', 'rebuild-bomcheck']);
  assert.equal(trig.code, 0, trig.stderr);
  let id = '';
  for (let i = 0; i < 60 && !id; i++) {
    const l = JSON.parse((await stack.client(['schedule', 'list', '--json'])).stdout) as {
      scheduleId: string;
      recent: { buildId: string }[];
    }[];
    id = l.find((x) => x.scheduleId === 'rebuild-bomcheck')?.recent[0]?.buildId ?? '';
    if (!id) await sleep(500);
  }
  assert.match(id, /^build-bomcheck-scheduled-/);
  const second = await approveAndEnd(id);
  const deleted = await stack.client(['schedule', 'delete', 'rebuild-bomcheck']);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.equal(second.packages?.gnupg, undefined);
  assert.equal(second.packages?.['forge-pin'], '1.0-2');

  const json = await stack.client(['diff', 'bom-first', id, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const d = JSON.parse(json.stdout) as BuildDiff;
  // Cleanup's autoremove takes gnupg's dependencies with it: every package gone is listed, gnupg among them.
  const gone = Object.keys(first.packages!)
    .filter((name) => second.packages?.[name] === undefined)
    .sort()
    .map((name) => ({ name, version: first!.packages![name]! }));
  assert.ok(gone.some((p) => p.name === 'gnupg'));
  assert.deepEqual(d.removed, gone);
  assert.deepEqual(d.added, []);
  assert.deepEqual(d.upgraded, [{ name: 'forge-pin', from: '1.0-1', to: '1.0-2' }]);
  assert.deepEqual(d.downgraded, []);
  assert.deepEqual(d.files, { added: [], removed: [], changed: ['/etc/bom/bom.conf'] });

  const text = await stack.client(['diff', 'bom-first', id]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`removed \\(${gone.length}\\):\\n(  \\S+ \\S+\\n)*  gnupg \\S+\\n`));
  assert.match(text.stdout, /\nupgraded \(1\):\n {2}forge-pin 1\.0-1 → 1\.0-2\n/);
  assert.match(text.stdout, /files changed \(1\):\n {2}\/etc\/bom\/bom\.conf/);

  // The upgrade and every removed package fit in the reason (about 210 characters): all named, none
  // left out. It is what the Vendor API received.
  const reason = `Package updates: forge-pin 1.0-1 → 1.0-2, ${gone.map((p) => `-${p.name}`).join(', ')}`;
  const sent = (await listing()).customData;
  assert.deepEqual([sent.imageId, sent.reasonForUpdate], [second.snapshot!.id, reason]);
  assert.equal(reasonForUpdate(STOCK_REASON_FOR_UPDATE, first.packages, second.packages ?? {}), reason);
  assert.equal(reasonForUpdate('Monthly rebuild', first.packages, second.packages ?? {}), 'Monthly rebuild');
});
