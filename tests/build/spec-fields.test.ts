/**
 * One lab build with the DigitalOcean builder options a Packer import brings: a VPC, private
 * networking, IPv6, monitoring, connecting on the private address, the vendor's own user data,
 * an SSH bastion (a real OpenSSH sshd on 127.0.0.1) and a snapshot transfer not waited for. Each
 * is checked where it shows: the lab's audit log, the droplet's own view of the connection, the
 * bastion's log, the manifest.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { BuildManifest } from '../../contract/build';
import { REPO } from '../support/temporal';
import { startStack } from '../support/stack';
import type { Stack } from '../support/stack';
import { startBastion } from '../support/bastion';
import type { Bastion } from '../support/bastion';

const VPC = '5a4981aa-9653-4bd1-bef5-d6bff52042e4';
/** The droplet's end of $SSH_CONNECTION must be its private address (lab: 10.250.x.y). */
const ON_PRIVATE =
  'set -- $SSH_CONNECTION; echo "connected to $3"; case "$3" in 10.250.*) ;; *) echo "not the private address"; exit 1;; esac';

let stack: Stack;
let bastion: Bastion;
let specDir: string;

before(async () => {
  stack = await startStack({ lab: { timing: { transferDelayMs: 15_000, maxDiskGiB: 1 } } });
  const workerPublicKey = execFileSync('ssh-keygen', ['-y', '-f', stack.keyFile]).toString().trim();
  bastion = await startBastion(path.join(stack.dir, 'bastion'), [workerPublicKey]);
  specDir = path.join(stack.dir, 'spec');
  await fs.mkdir(specDir, { recursive: true });
  await fs.writeFile(
    path.join(specDir, 'user-data.sh'),
    '#!/bin/sh\n# the vendor\'s own user data: a script cloud-init runs once\necho "vendor user data" > /var/lib/vendor-marker\n',
  );
  const spec = [
    'name: wired',
    'vendor: forge',
    'droplet:',
    '  image: debian-12-x64',
    `  vpcUuid: ${VPC}`,
    '  privateNetworking: true',
    '  ipv6: true',
    '  monitoring: true',
    '  connectWithPrivateIp: true',
    '  userDataFile: user-data.sh',
    'apt: { upgrade: false }',
    'ssh:',
    `  bastion: { host: 127.0.0.1, port: ${bastion.port}, user: root, hostKey: "${bastion.hostKey}" }`,
    'scripts:',
    '  - run: grep -qx "vendor user data" /var/lib/vendor-marker',
    '    name: the vendor user data ran',
    `  - run: '${ON_PRIVATE}'`,
    '    name: connected on the private address',
    'tests:',
    `  - run: '${ON_PRIVATE}'`,
    '    name: test droplet on the private address',
    'snapshot: { regions: [sfo3], waitForTransfer: false }',
    '',
  ].join('\n');
  await fs.writeFile(path.join(specDir, 'build.yaml'), spec);
});

after(async () => {
  await stack?.stop();
  await bastion?.stop();
});

test('network options, private address, vendor user data, bastion and transfer-without-waiting, in one lab build', async () => {
  const run = await stack.client([
    'start-build',
    path.join(specDir, 'build.yaml'),
    '--operator-timeout',
    '0.02',
    '--wait',
    '--json',
  ]);
  const out = JSON.parse(run.stdout || '{}') as { manifest?: BuildManifest };
  const m = out.manifest;
  assert.ok(m, `${run.stderr}\n${run.stdout}`);
  assert.equal(
    m.status,
    'succeeded',
    JSON.stringify(
      m.steps.filter((s) => s.state !== 'succeeded'),
      null,
      1,
    ),
  );
  assert.equal(run.code, 0, run.stderr);

  // Transfer started, not waited for: the manifest says sfo3 is still transferring.
  assert.deepEqual(m.snapshot?.regions, ['nyc3']);
  assert.deepEqual(m.snapshot?.transferring, ['sfo3']);
  assert.equal(m.verify?.state, 'verified');

  // The create requests carried the network options; the build droplet also the combined user data.
  const audit = await stack.audit();
  const created = audit.filter((r) => r.type === 'droplet.created');
  assert.equal(created.length, 2, 'the build droplet and the test droplet');
  const [build, verify] = created as Record<string, unknown>[];
  assert.deepEqual(
    { vpc: build!.vpcUuid, priv: build!.privateNetworking, ipv6: build!.ipv6, monitoring: build!.monitoring },
    { vpc: VPC, priv: true, ipv6: true, monitoring: true },
  );
  assert.deepEqual({ vpc: verify!.vpcUuid, priv: verify!.privateNetworking }, { vpc: VPC, priv: true });
  assert.ok((build!.userDataBytes as number) > (verify!.userDataBytes as number), 'the vendor part was added');
  const privateIps = audit.filter((r) => r.type === 'droplet.active').map((r) => r.privateIpv4 as string);
  assert.equal(privateIps.filter(Boolean).length, 2, 'both droplets listed a private address');

  // The transfers not waited for are behind their patch; RECORD_HISTORY=1 keeps the history for the replay test.
  const history = await stack.temporal.client.workflow.getHandle(m.buildId).fetchHistory();
  const recorded = historyToJSON(history);
  type Marker = { markerName?: string; details?: Record<string, { payloads?: { data?: string }[] }> };
  const patches = (JSON.parse(recorded) as { events: { markerRecordedEventAttributes?: Marker }[] }).events
    .map((e) => e.markerRecordedEventAttributes)
    .filter((a) => a?.markerName === 'core_patch')
    .map((a) => {
      const data = a?.details?.['patch-data']?.payloads?.[0]?.data ?? '';
      return (JSON.parse(Buffer.from(data, 'base64').toString() || '{}') as { id?: string }).id;
    });
  assert.ok(patches.includes('transfer-no-wait'), `patches: ${patches.join(', ')}`);
  if (process.env.RECORD_HISTORY === '1')
    await fs.writeFile(path.join(REPO, 'tests/replay/histories/v4-builder-options.json'), recorded);

  // Every SSH connection went through the bastion, to the droplets' private addresses: one
  // channel for the build droplet, at least one for the test droplet (the lab may reuse an address).
  const log = await bastion.log();
  assert.match(log, /Accepted publickey for root from 127\.0\.0\.1/);
  const channels = log
    .split('\n')
    .filter((l) => /server_request_direct_tcpip: .* target 10\.250\.\d+\.\d+ port 22/.test(l));
  assert.ok(channels.length >= 2, `channels to private addresses through the bastion:\n${channels.join('\n')}`);
  for (const ip of privateIps)
    assert.ok(
      channels.some((l) => l.includes(`target ${ip} port 22`)),
      ip,
    );
  assert.ok(!/target 169\.254\./.test(log), 'never to a public address');
});
