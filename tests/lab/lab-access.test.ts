/**
 * The lab's control endpoints need the token it wrote (0600) at start, and the lab answers only
 * requests addressed to itself: a page on another name that resolves to 127.0.0.1 (DNS
 * rebinding) is refused. No root needed: the droplets are in memory.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
function raw(
  path: string,
  headers: Record<string, string>,
  port = lab.port,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
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

test('a lab makes a random API token at each start, 0600 beside the control token; a fixed one is refused', async () => {
  const start = (prefix: string) =>
    createLabServer({
      runtime: memoryRuntime(),
      tokens: [],
      randomToken: {},
      stateDir: join(work, 'api'),
      machinePrefix: `t-access${process.pid}${prefix}-`,
      contractCheck: false,
    });
  const first = await start('c');
  const second = await start('d');
  try {
    const tokens: string[] = [];
    for (const l of [first, second]) {
      assert.ok(l.apiTokenFile, 'the lab says where its token is');
      assert.equal(dirname(l.apiTokenFile), dirname(l.controlTokenFile), 'beside the control token');
      assert.equal((await stat(l.apiTokenFile)).mode & 0o777, 0o600);
      tokens.push((await readFile(l.apiTokenFile, 'utf8')).trim());
    }
    assert.notEqual(tokens[0], tokens[1], 'a new token at each start');
    const get = (l: LabServer, token: string) =>
      fetch(`${l.endpoint}/regions`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    assert.equal(await get(first, tokens[0]!), 200);
    assert.equal(await get(second, tokens[1]!), 200);
    assert.equal(await get(second, tokens[0]!), 401, "an earlier start's token is refused");
    assert.equal(await get(first, 'lab-local-token'), 401, 'the former fixed token is refused');
  } finally {
    await first.close();
    await second.close();
  }
});

test('bound to 0.0.0.0, the lab needs the names it answers to, and answers only them and loopback', async () => {
  const wildcard = (allowHosts?: string[]) =>
    createLabServer({
      runtime: memoryRuntime(),
      tokens: [TOKEN],
      host: '0.0.0.0',
      ...(allowHosts ? { allowHosts } : {}),
      stateDir: join(work, 'api'),
      machinePrefix: `t-access${process.pid}w-`,
      contractCheck: false,
    });
  await assert.rejects(wildcard(), /answers only the host names it is given: .*--allow-host NAME/);
  await assert.rejects(wildcard(['evil.example/x']), /not a host name or IP address to allow/);
  const open = await wildcard(['Lab.Example.', '10.1.2.3']);
  try {
    const p = open.port;
    const get = (host: string) => raw('/v2/regions', { host, authorization: `Bearer ${TOKEN}` }, p);
    for (const host of [`lab.example:${p}`, `LAB.example.:${p}`, `10.1.2.3:${p}`, `127.0.0.1:${p}`, `localhost:${p}`]) {
      const r = await get(host);
      assert.equal(r.status, 200, `Host ${host}: ${r.body}`);
    }
    for (const host of [
      `other.example:${p}`,
      `10.1.2.4:${p}`,
      `192.168.1.1:${p}`,
      `lab.example.evil:${p}`,
      `lab.example:1`,
    ]) {
      const r = await get(host);
      assert.equal(r.status, 421, `Host ${host}: ${r.body}`);
      const body = JSON.parse(r.body) as { id: string; message: string };
      assert.equal(body.id, 'misdirected_request');
      assert.match(
        body.message,
        /answers only requests addressed to itself \(localhost, or lab\.example, 10\.1\.2\.3 as given with --allow-host/,
      );
    }
  } finally {
    await open.close();
  }
});
