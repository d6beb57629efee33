/**
 * The lab `--local` starts (a real `client lab api` process): a random API token at each start,
 * in a 0600 file of the local stack's folder that the client (and the worker it starts) reads; the
 * former fixed token is refused. And `client lab api` on every address needs its host names.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureLocalLab, LAB_TOKEN_FILE, stopDaemon } from '../../client/local-stack';
import { stateDir } from '../../lab/droplets/paths';
import { requireLabRoot } from '../support/teardown';
import { REPO } from '../support/temporal';

let dir = '';
const ports: number[] = [];

before(async () => {
  requireLabRoot();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'forge-local-lab-'));
});

after(async () => {
  await stopDaemon(dir, 'lab');
  await fs.rm(dir, { recursive: true, force: true });
  // `client lab api` keeps its account in a data dir per port: these ports' are the test's.
  for (const p of ports) await fs.rm(path.join(stateDir(), 'api', `data-${p}`), { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  ports.push(port);
  return port;
}

async function status(labUrl: string, token: string): Promise<number> {
  const r = await fetch(`${labUrl}/regions`, { headers: { authorization: `Bearer ${token}` } });
  return r.status;
}

test("--local's lab makes a random token at each start, 0600, which the client reads; old tokens are refused", async () => {
  const port = await freePort();
  const quiet = () => undefined;
  const tokenFile = path.join(dir, LAB_TOKEN_FILE);

  const first = await ensureLocalLab({ dir, port, aptCache: false }, quiet);
  assert.equal(first.started, true);
  assert.equal((await fs.stat(tokenFile)).mode & 0o777, 0o600);
  assert.equal((await fs.readFile(tokenFile, 'utf8')).trim(), first.token, 'the client reads the file');
  assert.equal(await status(first.labUrl, first.token), 200);
  assert.equal(await status(first.labUrl, 'lab-local-token'), 401, 'the former fixed token is refused');

  const again = await ensureLocalLab({ dir, port, aptCache: false }, quiet);
  assert.deepEqual(again, { ...first, started: false }, 'a running lab is used with its token');

  assert.equal(await stopDaemon(dir, 'lab'), true);
  const second = await ensureLocalLab({ dir, port, aptCache: false }, quiet);
  assert.equal(second.started, true);
  assert.notEqual(second.token, first.token, 'a new token at each start');
  assert.equal((await fs.stat(tokenFile)).mode & 0o777, 0o600);
  assert.equal(await status(second.labUrl, second.token), 200);
  assert.equal(await status(second.labUrl, first.token), 401, "the earlier start's token is refused");
  assert.equal(await status(second.labUrl, 'lab-local-token'), 401);
});

test('client lab api --host 0.0.0.0 without --allow-host refuses to start, saying what to add', async () => {
  const port = await freePort();
  const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      [path.join(REPO, 'dist/client/main.js'), 'lab', 'api', '--host', '0.0.0.0', '--port', String(port)],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /--host 0\.0\.0\.0 listens on every address.*--allow-host NAME/);
  await assert.rejects(fetch(`http://127.0.0.1:${port}/v2/regions`), 'nothing listens');
});
