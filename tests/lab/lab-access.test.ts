/**
 * The lab's control endpoints need the token it wrote (0600) at start, and the lab answers only
 * requests addressed to itself: a page on another name that resolves to 127.0.0.1 (DNS
 * rebinding) is refused. No root needed: the droplets are in memory.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLabServer, type LabServer } from '../../lab/api/server';
import { controlHeaders } from '../support/lab-control';
import { memoryRuntime } from '../support/memory-runtime';

const TOKEN = 'dop_v1_access_test';
let work = '';
let lab: LabServer;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'lab-access-'));
  lab = await createLabServer({
    runtime: memoryRuntime(),
    tokens: [TOKEN],
    stateDir: join(work, 'api'),
    machinePrefix: `t-access${process.pid}-`,
    contractCheck: false,
  });
});

after(async () => {
  await lab?.close();
  await rm(work, { recursive: true, force: true });
});

/** A raw request, so the test sets the Host header itself (fetch does not let it). */
function raw(path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: lab.port, path, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the control token is in a 0600 file in the lab state dir, new at each start', async () => {
  assert.ok(lab.controlTokenFile.startsWith(join(work, 'api')), lab.controlTokenFile);
  assert.equal((await stat(lab.controlTokenFile)).mode & 0o777, 0o600);
  const other = await createLabServer({
    runtime: memoryRuntime(),
    tokens: [TOKEN],
    stateDir: join(work, 'api'),
    machinePrefix: `t-access${process.pid}b-`,
    contractCheck: false,
  });
  try {
    assert.notDeepEqual(controlHeaders(other), controlHeaders(lab));
  } finally {
    await other.close();
  }
});

test('/_lab/… answers 401 without the control token, with a wrong one, and with a /v2 token', async () => {
  const host = `127.0.0.1:${lab.port}`;
  for (const [what, auth] of [
    ['no token', undefined],
    ['a wrong token', 'Bearer lab_0000'],
    ['the /v2 token', `Bearer ${TOKEN}`],
  ] as const) {
    for (const path of ['/_lab/state', '/_lab/faults', '/_lab/vendor-apps']) {
      const r = await raw(path, { host, ...(auth ? { authorization: auth } : {}) });
      assert.equal(r.status, 401, `${what} on ${path}`);
      const body = JSON.parse(r.body) as { id: string; message: string };
      assert.equal(body.id, 'unauthorized');
      assert.match(body.message, /control token/);
      assert.ok(body.message.includes(lab.controlTokenFile), 'the message says where the token is');
    }
  }
  const ok = await raw('/_lab/state', { host, ...controlHeaders(lab) });
  assert.equal(ok.status, 200, ok.body);
});

test('a foreign Host is refused (421), on /_lab and /v2 alike; loopback names and IPs are served', async () => {
  const p = lab.port;
  for (const host of [`evil.example:${p}`, `127.0.0.1.nip.io:${p}`, `localhost.evil.example:${p}`, '127.0.0.1:1']) {
    for (const [path, headers] of [
      ['/_lab/state', controlHeaders(lab)],
      ['/v2/regions', { authorization: `Bearer ${TOKEN}` }],
    ] as const) {
      const r = await raw(path, { ...headers, host });
      assert.equal(r.status, 421, `Host ${host} on ${path}: ${r.body}`);
      const body = JSON.parse(r.body) as { id: string; message: string };
      assert.equal(body.id, 'misdirected_request');
      assert.match(body.message, /answers only requests addressed to itself/);
    }
  }
  for (const host of [`127.0.0.1:${p}`, `localhost:${p}`, `[::1]:${p}`]) {
    const r = await raw('/v2/regions', { host, authorization: `Bearer ${TOKEN}` });
    assert.equal(r.status, 200, `Host ${host}: ${r.body}`);
  }
});
