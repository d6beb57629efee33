/**
 * examples/systemd: the worker's unit passes `systemd-analyze verify` (with ExecStart at this
 * checkout's bin/client, since verify wants an executable there), carries the hardening and the
 * stop settings docs/running-a-fleet.md promises, and its example env file lists every setting, with no
 * values for secrets.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WORKER_ENVIRONMENT } from '../../contract/worker-environment';
import { SHUTDOWN_GRACE_SECONDS } from '../../worker/run';
import { REPO } from '../support/temporal';

const UNIT = path.join(REPO, 'examples/systemd/image-forge-worker.service');
const ENV_EXAMPLE = path.join(REPO, 'examples/systemd/image-forge-worker.env.example');
const dir = mkdtempSync(path.join(os.tmpdir(), 'systemd-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The unit's `Key=value` lines (comments dropped), last one wins as in systemd. */
function directives(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (kv) m.set(kv[1]!, kv[2]!);
  }
  return m;
}

test('systemd-analyze verify accepts the unit, with no warning', () => {
  const text = readFileSync(UNIT, 'utf8');
  assert.match(text, /^ExecStart=\S+\/client worker$/m);
  const unit = path.join(dir, 'image-forge-worker.service');
  writeFileSync(unit, text.replace(/^ExecStart=\S+/m, `ExecStart=${path.join(REPO, 'bin/client')}`));
  const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'no unknown key or other warning');
});

test('the unit is hardened, reads its secrets from a file and gives the worker time to drain', () => {
  const d = directives(readFileSync(UNIT, 'utf8'));
  for (const [key, value] of Object.entries({
    NoNewPrivileges: 'yes',
    ProtectSystem: 'strict',
    PrivateTmp: 'yes',
    Restart: 'on-failure',
    KillSignal: 'SIGTERM',
    ReadWritePaths: '/var/cache/image-forge',
    EnvironmentFile: '/etc/image-forge/worker.env',
  }))
    assert.equal(d.get(key), value, key);
  assert.match(d.get('Environment') ?? '', /^IMAGE_FORGE_CACHE=\/var\/cache\/image-forge$/);
  const stop = Number(d.get('TimeoutStopSec'));
  assert.ok(
    stop > SHUTDOWN_GRACE_SECONDS + 5,
    `TimeoutStopSec=${stop} leaves the ${SHUTDOWN_GRACE_SECONDS} s drain no room`,
  );
});

test('the example env file lists every setting and holds no secret value', () => {
  const text = readFileSync(ENV_EXAMPLE, 'utf8');
  for (const v of WORKER_ENVIRONMENT) {
    const line = new RegExp(`^#?${v.name}=(.*)$`, 'm').exec(text);
    assert.ok(line, `${v.name} is missing from the example env file`);
    if (v.secret) assert.equal(line[1], '', `${v.name} has a value`);
  }
});
