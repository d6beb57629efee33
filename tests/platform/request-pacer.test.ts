/**
 * One worker's DigitalOcean calls share a pacer: they go out one every 60/perMinute seconds across
 * all its builds, under the API's burst limit (250 a minute per token), and a 429's retry-after
 * holds back every call, not only the refused one. Against the lab's API.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLabServer, type LabServer } from '../../lab/api/server';
import { DoApi } from '../../platform/digitalocean';
import { RequestPacer } from '../../platform/request-pacer';
import { workerSettingsFrom } from '../../worker/config';
import { memoryRuntime } from '../support/memory-runtime';

const TOKEN = `dop_v1_pacer_${process.pid}`;
let work = '';
let lab: LabServer;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'pacer-'));
  lab = await createLabServer({
    runtime: memoryRuntime(),
    tokens: [TOKEN],
    stateDir: join(work, 'lab'),
    auditFile: join(work, 'audit.jsonl'),
    machinePrefix: `t-pacer${process.pid}-`,
    contractCheck: true,
  });
});
after(async () => {
  await lab.close();
  await rm(work, { recursive: true, force: true });
});

test('calls from many builds go out one at a time, spaced as the rate says', async () => {
  // 1,200 a minute: one every 50 ms. Eight callers at once.
  const api = new DoApi({ token: TOKEN, endpoint: lab.endpoint, pacer: new RequestPacer(1200) });
  const t0 = Date.now();
  const done = await Promise.all(
    Array.from({ length: 8 }, async () => {
      await api.call('list regions', (c) => c.region.listRegions({}));
      return Date.now() - t0;
    }),
  );
  done.sort((a, b) => a - b);
  // The eighth went out seven turns after the first (a few ms of slack for the clock).
  assert.ok(done[7]! >= 7 * 50 - 5, `the last call ended at ${done[7]} ms`);
  const unpaced = new DoApi({ token: TOKEN, endpoint: lab.endpoint });
  const t1 = Date.now();
  await Promise.all(Array.from({ length: 8 }, () => unpaced.call('list regions', (c) => c.region.listRegions({}))));
  assert.ok(Date.now() - t1 < 7 * 50, 'without a pacer the same calls are not spaced');
});

test("a 429's retry-after holds back every call of the worker, and the refused call is retried after it", async () => {
  const api = new DoApi({ token: TOKEN, endpoint: lab.endpoint, pacer: new RequestPacer(60_000) });
  lab.faults.add({ kind: 'rate-limit', path: '^/v2/regions$', times: 1, retryAfterSeconds: 2 });
  const t0 = Date.now();
  const refused = api.call('list regions', (c) => c.region.listRegions({})).then(() => Date.now() - t0);
  // Another build's call, made once the 429 is in.
  await sleep(300);
  const other = await api.call('list sizes', (c) => c.size.listSizes({})).then(() => Date.now() - t0);
  assert.ok(other >= 1900, `the other call waited out the retry-after too (${other} ms)`);
  assert.ok((await refused) >= 1900, 'the refused call went again after it');
  const events = (await readFile(join(work, 'audit.jsonl'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; path?: string; status?: number });
  const regions = events.filter((e) => e.type === 'request' && e.path === '/v2/regions');
  assert.deepEqual(
    regions.slice(-2).map((e) => e.status),
    [429, 200],
  );
});

test("listing SSH keys has a limit of its own (10 a minute): its 429 does not hold back the worker's other calls", async () => {
  const api = new DoApi({ token: TOKEN, endpoint: lab.endpoint, pacer: new RequestPacer(60_000) });
  const list = (opts: { ownLimit?: boolean; retry?: boolean }) =>
    api.call('list SSH keys', (c) => c.sshKey.listSshKeys({}), opts);
  for (let i = 0; i < 10; i++) await list({ ownLimit: true });
  await assert.rejects(list({ ownLimit: true, retry: false }), /HTTP 429/);
  const t0 = Date.now();
  await api.call('list regions', (c) => c.region.listRegions({}));
  assert.ok(Date.now() - t0 < 1000, `the next call went out at once (${Date.now() - t0} ms)`);
  // Without ownLimit the same 429 would hold back every call, as the test before shows for the token's limits.
});

test('IMAGE_FORGE_API_PER_MINUTE: 240 unless set; a bad value is named', () => {
  const base = { DIGITALOCEAN_TOKEN: 't', IMAGE_FORGE_SSH_KEY: '/k' };
  assert.equal(workerSettingsFrom(base).apiPerMinute, 240);
  assert.equal(workerSettingsFrom({ ...base, IMAGE_FORGE_API_PER_MINUTE: '60' }).apiPerMinute, 60);
  assert.throws(
    () => workerSettingsFrom({ ...base, IMAGE_FORGE_API_PER_MINUTE: '0' }),
    /IMAGE_FORGE_API_PER_MINUTE must be a whole number of at least 1, not "0"/,
  );
});
