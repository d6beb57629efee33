/**
 * The spec's DigitalOcean builder options at the activity level, against the lab (in-memory
 * droplets, requests checked against DigitalOcean's OpenAPI document): the network options in the
 * create request and the droplet, the private address to connect to, the spec's timeouts, API
 * retries, transfers not waited for, and the worker's second look at each of them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MockActivityEnvironment } from '@temporalio/testing';
import { runTag } from '../../contract/tags';
import type { ActivityDeps } from '../../activities/runtime/deps';
import { activity } from '../../activities/runtime/failures';
import { depsForInput } from '../../activities/runtime/deps';
import { connectAddress, findOrCreate, waitActive } from '../../activities/droplets/find-or-create';
import { provision } from '../../activities/provision';
import { transfer } from '../../activities/transfer';
import { deleteSnapshot, snapshot } from '../../activities/snapshot';
import { buildUserData } from '../../activities/image/cloud-config';
import { createLabServer, type LabServer } from '../../lab/api/server';
import type { ProvisionInput } from '../../contract/steps';
import { labSnapshot, memoryRuntime } from '../support/memory-runtime';
import { labActivityDeps } from '../support/lab-deps';

const TOKEN = `dop_v1_fields_${process.pid}`;
const VPC = '5a4981aa-9653-4bd1-bef5-d6bff52042e4';
let work = '';
let lab: LabServer;
let deps: ActivityDeps;

/** Droplets named slow-* take 5 s to boot. */
function slowBootRuntime() {
  const inner = memoryRuntime();
  return {
    ...inner,
    create: async (spec: Parameters<typeof inner.create>[0]) => {
      const m = await inner.create(spec);
      if (spec.hostname.startsWith('slow')) Object.defineProperty(m, 'booted', { get: () => sleep(5000) });
      return m;
    },
  };
}

/** The run MockActivityEnvironment gives an activity by default. */
const MOCK_RUN = { workflowId: 'test', runId: '00000000-0000-0000-0000-000000000000' };

/** An activity environment of a workflow run of this build id. */
function asBuild(workflowId: string): MockActivityEnvironment {
  return new MockActivityEnvironment({ workflowExecution: { workflowId, runId: `run-of-${workflowId}` } });
}

async function tagImage(id: number, tag: string): Promise<void> {
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  await fetch(`${lab.endpoint}/tags`, { method: 'POST', headers, body: JSON.stringify({ name: tag }) });
  const body = JSON.stringify({ resources: [{ resource_id: String(id), resource_type: 'image' }] });
  const r = await fetch(`${lab.endpoint}/tags/${tag}/resources`, { method: 'POST', headers, body });
  assert.equal(r.status, 204);
}

async function labGet<T>(path: string): Promise<T> {
  const r = await fetch(`${lab.endpoint}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return (await r.json()) as T;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'fields-'));
  lab = await createLabServer({
    runtime: slowBootRuntime(),
    tokens: [TOKEN],
    stateDir: join(work, 'lab'),
    auditFile: join(work, 'audit.jsonl'),
    machinePrefix: `t-fields${process.pid}-`,
    contractCheck: true,
    timing: { transferDelayMs: 3000, minActionMs: 1500 },
    // The activities here poll every 20 ms to keep the file quick: far past DigitalOcean's 250
    // requests a minute, whose 429s would stand in for the faults these tests inject.
    // The limit itself is tested in tests/lab/rate-limit.test.ts and tests/lab/api-contract.test.ts.
    rateLimitPerMinute: 1_000_000,
  });
  const made = labActivityDeps(lab, TOKEN, work, { timing: { pollMs: 20 } });
  deps = made.deps;
  const key = made.key;
  const r = await fetch(`${lab.endpoint}/account/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'worker', public_key: key.publicOpenSsh }),
  });
  assert.equal(r.status, 201);
});
after(async () => {
  await lab.close();
  await rm(work, { recursive: true, force: true });
});

test('vpcUuid, privateNetworking, ipv6 and monitoring reach the create request and the droplet; connectWithPrivateIp picks the private IPv4', async () => {
  const created = await findOrCreate(deps, {
    lookupTag: 'fields-net',
    name: 'net-1',
    region: 'nyc3',
    size: 's-1vcpu-1gb',
    image: 'debian-12-x64',
    tags: ['fields-net'],
    userData: '#cloud-config\n',
    vpcUuid: VPC,
    privateNetworking: true,
    ipv6: true,
    monitoring: true,
  });
  const active = await waitActive(deps, created, { needPrivate: true });
  const audit = (await readFile(join(work, 'audit.jsonl'), 'utf8')).split('\n').filter(Boolean);
  assert.ok(audit.length > 0);
  type View = {
    vpc_uuid: string;
    features: string[];
    networks: { v4: { ip_address: string; type: string }[]; v6: { type: string }[] };
  };
  const { droplet } = await labGet<{ droplet: View }>(`/droplets/${created.id}`);
  assert.equal(droplet.vpc_uuid, VPC);
  assert.ok(droplet.features.includes('ipv6') && droplet.features.includes('monitoring'), droplet.features.join());
  assert.deepEqual(droplet.networks.v4.map((n) => n.type).sort(), ['private', 'public']);
  assert.equal(droplet.networks.v6.length, 1);
  const priv = droplet.networks.v4.find((n) => n.type === 'private')!.ip_address;
  const pub = droplet.networks.v4.find((n) => n.type === 'public')!.ip_address;
  assert.match(priv, /^10\.250\./);
  assert.equal(connectAddress(active, true, 'droplet'), priv);
  assert.equal(connectAddress(active, false, 'droplet'), pub);
  // Every request the lab got (the create with its new fields included) is DigitalOcean's documented shape.
  assert.deepEqual(await lab.contractViolations(), []);

  // Without the options: no private address listed, the region's VPC, no ipv6 or monitoring.
  const plain = await findOrCreate(deps, {
    lookupTag: 'fields-plain',
    name: 'plain-1',
    region: 'nyc3',
    size: 's-1vcpu-1gb',
    image: 'debian-12-x64',
    tags: ['fields-plain'],
    userData: '#cloud-config\n',
  });
  await waitActive(deps, plain);
  const p = (await labGet<{ droplet: View }>(`/droplets/${plain.id}`)).droplet;
  assert.notEqual(p.vpc_uuid, VPC);
  assert.deepEqual(
    p.networks.v4.map((n) => n.type),
    ['public'],
  );
  assert.ok(!p.features.includes('ipv6') && !p.features.includes('monitoring'));
});

test("timeouts.state: provision gives up on a slow droplet after the spec's time, saying so", async () => {
  const input: ProvisionInput = {
    buildId: 'build-slow-1',
    name: 'slow',
    keep: false,
    droplet: { image: 'debian-12-x64', region: 'nyc3', size: 's-1vcpu-1gb', tags: [] },
    stateTimeoutMs: 400,
  };
  const t0 = Date.now();
  await assert.rejects(asBuild('build-slow-1').run(activity(provision(deps)), input), (err: Error) => {
    assert.match(err.message, /still new after 400 ms: the spec's timeouts\.state ran out/);
    return true;
  });
  assert.ok(Date.now() - t0 < 4000, 'did not wait for the default 10 minutes (nor the 5 s boot)');
});

test('timeouts.snapshot and timeouts.transfer bound the snapshot action and each transfer', async () => {
  const created = await findOrCreate(deps, {
    lookupTag: 'fields-snap',
    name: 'snap-1',
    region: 'nyc3',
    size: 's-1vcpu-1gb',
    image: 'debian-12-x64',
    tags: ['fields-snap'],
    userData: '#cloud-config\n',
  });
  await waitActive(deps, created);
  const ref = { buildId: 'b-snap', dropletId: created.id, ipv4: '169.254.100.1' };
  await assert.rejects(
    new MockActivityEnvironment().run(activity(snapshot(deps)), {
      droplet: ref,
      name: 'snap-x',
      tags: [],
      timeoutMs: 200,
    }),
    /snapshot action \d+ still in progress after 200 ms: the spec's timeouts\.snapshot ran out/,
  );

  const imageId = await labSnapshot(lab.origin, TOKEN, 'fields-transfer');
  await assert.rejects(
    new MockActivityEnvironment().run(activity(transfer(deps)), { imageId, region: 'sfo3', timeoutMs: 300 }),
    /transfer action \d+ still in progress after 300 ms: the spec's timeouts\.transfer ran out/,
  );
});

test('snapshot.waitForTransfer false: transfer starts the copy and returns at once; the copy completes later', async () => {
  const imageId = await labSnapshot(lab.origin, TOKEN, 'fields-nowait');
  const t0 = Date.now();
  const regions = await new MockActivityEnvironment().run(activity(transfer(deps)), {
    imageId,
    region: 'ams3',
    wait: false,
  });
  assert.ok(Date.now() - t0 < 2000, 'did not wait for the 3 s transfer');
  assert.deepEqual(regions, ['nyc3']);
  const image = async () => (await labGet<{ image: { regions: string[] } }>(`/images/${imageId}`)).image.regions;
  const deadline = Date.now() + 10_000;
  while (!(await image()).includes('ams3')) {
    assert.ok(Date.now() < deadline, 'the transfer that was started completes');
    await sleep(100);
  }
});

test('api: retryMax and the waits decide how DigitalOcean calls of the build retry', async () => {
  // Made by this run (its tag): deleteSnapshot deletes no other image.
  const one = async (name: string) => {
    const id = await labSnapshot(lab.origin, TOKEN, name);
    await tagImage(id, runTag(MOCK_RUN.workflowId, MOCK_RUN.runId));
    return id;
  };
  const run = (input: Parameters<ReturnType<typeof deleteSnapshot>>[0]) =>
    new MockActivityEnvironment().run(activity(deleteSnapshot(deps)), input);
  const fault = (times: number) =>
    lab.faults.add({ kind: 'server-error', status: 502, method: 'DELETE', path: '^/v2/images/\\d+$', times });

  // retryMax 0: the first 502 fails the call (the default retries 5 times and would succeed).
  const a = await one('fields-retry-a');
  fault(1);
  await assert.rejects(run({ imageId: a, api: { retryMax: 0 } }), /delete snapshot: HTTP 502/);

  // retryMax 2, waits 0.3 s then 0.6 s: two faults are retried through, and the waits were taken.
  const b = await one('fields-retry-b');
  fault(2);
  const t0 = Date.now();
  assert.deepEqual(await run({ imageId: b, api: { retryMax: 2, retryWaitMin: 0.3, retryWaitMax: 0.6 } }), {
    deleted: true,
  });
  assert.ok(Date.now() - t0 >= 850, `waited retryWaitMin then double it (${Date.now() - t0} ms)`);

  // The create, retried by hand (it looks for the droplet first), follows the same settings.
  lab.faults.add({ kind: 'server-error', status: 502, method: 'POST', path: '^/v2/droplets$', times: 1 });
  const noRetry = depsForInput(deps, { api: { retryMax: 0 } });
  const droplet = {
    lookupTag: 'fields-create',
    name: 'create-1',
    region: 'nyc3',
    size: 's-1vcpu-1gb',
    image: 'debian-12-x64',
    tags: ['fields-create'],
    userData: '#cloud-config\n',
  };
  await assert.rejects(findOrCreate(noRetry, droplet), /create droplet: HTTP 502/);
  lab.faults.add({ kind: 'server-error', status: 502, method: 'POST', path: '^/v2/droplets$', times: 1 });
  const oneRetry = depsForInput(deps, { api: { retryMax: 1, retryWaitMin: 0.05 } });
  assert.ok((await findOrCreate(oneRetry, droplet)).id > 0);

  // retryMax 1 against two faults: still failing after the one retry.
  const c = await one('fields-retry-c');
  fault(2);
  await assert.rejects(run({ imageId: c, api: { retryMax: 1, retryWaitMin: 0.05 } }), /HTTP 502/);
});

test('the worker refuses bad fields in a workflow input before calling DigitalOcean', async () => {
  const base: ProvisionInput = {
    buildId: 'build-bad',
    name: 'bad',
    keep: false,
    droplet: { image: 'debian-12-x64', region: 'nyc3', size: 's-1vcpu-1gb', tags: [] },
  };
  const env = () => asBuild('build-bad');
  const prov = activity(provision(deps));
  const bastion = { host: 'jump.example.com', port: 22, user: 'jump', hostKey: `ssh-ed25519 ${'A'.repeat(68)}` };
  const cases: [Partial<ProvisionInput>, RegExp][] = [
    [{ droplet: { ...base.droplet, vpcUuid: 'not-a-uuid', privateNetworking: true } }, /vpcUuid must be a VPC's UUID/],
    [{ droplet: { ...base.droplet, connectWithPrivateIp: true } }, /need privateNetworking: true/],
    [{ droplet: { ...base.droplet, userData: { text: `#!/bin/sh\n${'x'.repeat(70_000)}` } } }, /at most 64 KiB/],
    [{ droplet: { ...base.droplet, userData: { path: '../etc/passwd' } } }, /inside the build context/],
    [{ droplet: { ...base.droplet, userData: { text: 'hello' } } }, /must start with a line cloud-init knows/],
    [{ bastion: { ...bastion, host: 'evil;rm -rf /' } }, /bastion\.host must be a host name/],
    [{ bastion: { ...bastion, port: 70000 } }, /bastion\.port must be a port number/],
    [{ bastion: { ...bastion, user: '-oProxyCommand=x' } }, /bastion\.user must be a user name/],
    [{ bastion: { host: 'jump.example.com', port: 22, user: 'jump' } }, /bastion\.hostKey is needed/],
    [{ stateTimeoutMs: -5 }, /timeouts\.state must be a duration/],
    [{ api: { retryMax: 1000 } }, /api\.retryMax must be a whole number/],
  ];
  const before = (await lab.state()).droplets.list.length;
  for (const [change, message] of cases) {
    await assert.rejects(env().run(prov, { ...base, ...change }), (err: Error & { type?: string }) => {
      assert.match(err.message, message);
      assert.equal(err.type, 'SpecError');
      return true;
    });
  }
  assert.equal((await lab.state()).droplets.list.length, before, 'no droplet was created');
});

test("user data: the vendor's part first, the builder's cloud-config (host key) last, as MIME multi-part", () => {
  const builder = '#cloud-config\nssh_deletekeys: true\n';
  assert.equal(buildUserData(builder, undefined), builder, 'alone when the spec has none');
  const mime = buildUserData(builder, '#!/bin/sh\ntouch /marker\n');
  assert.match(mime, /^Content-Type: multipart\/mixed; boundary="([^"]+)"\nMIME-Version: 1\.0\n/);
  const boundary = /boundary="([^"]+)"/.exec(mime)![1]!;
  const parts = mime.split(`--${boundary}`).slice(1, -1);
  assert.equal(parts.length, 2);
  assert.match(parts[0]!, /Content-Type: text\/x-shellscript[^]*\n\n#!\/bin\/sh\ntouch \/marker\n/);
  assert.match(parts[1]!, /Content-Type: text\/cloud-config[^]*\n\n#cloud-config\nssh_deletekeys: true\n/);
  assert.ok(mime.endsWith(`--${boundary}--\n`));
  assert.match(
    buildUserData(builder, '#cloud-config\nwrite_files: []\n'),
    /Content-Type: text\/cloud-config[^]*write_files/,
  );
});
