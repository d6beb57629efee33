/**
 * A script step is one SSH round trip (issue #20 P2): its env file and the script go over stdin
 * of one exec, each read to its exact byte length, then the script runs — on a real lab droplet.
 * The secret never appears in the command (which `ps` on the droplet shows), the script runs with
 * the usual umask (the 077 is only for the files written), and multi-byte text arrives whole.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runScriptOn } from '../../activities/remote/script';
import type { DropletShells } from '../../activities/remote/droplet-shells';
import type { DropletRef } from '../../contract/steps';
import type { TestDroplet } from '../support/droplet';
import { pinnedDroplet } from '../support/pinned-droplet';
import { startTestLab, type TestLab } from '../support/lab-api';
import { labActivityDeps } from '../support/lab-deps';

const SECRET = `s3cr3t-${randomBytes(6).toString('hex')} it's "quoted" — ünïcode`;
let lab: TestLab;
let droplet: TestDroplet;
let ref: DropletRef;
let shells: DropletShells;
const commands: string[] = [];

before(async () => {
  lab = await startTestLab('script-step');
  ({ droplet, ref, shells } = await pinnedDroplet(lab, `script-step-${process.pid}`));
  const run = shells.run.bind(shells);
  // Count the round trips and keep the commands the droplet was sent.
  shells.run = (r, command, opts) => {
    commands.push(command);
    return run(r, command, opts);
  };
});

after(async () => {
  shells?.closeAll();
  await droplet?.destroy();
  await lab?.dispose();
});

test('one exec per script step; env and script arrive whole; the script keeps the usual umask', async () => {
  await mkdir(join(lab.work, 'w'), { recursive: true });
  const { deps } = labActivityDeps(lab.server, lab.token, join(lab.work, 'w'), {
    workerEnv: { FORGE_STEP_SECRET: SECRET },
    workerSecrets: ['FORGE_STEP_SECRET'],
  });
  deps.shells = shells;
  const script = {
    kind: 'script' as const,
    label: 'checks its env',
    run: [
      'printf "%s" "$TOKEN" | sha256sum | cut -c1-64 > /root/token.sha',
      'echo "umask $(umask) greeting $GREETING step $IMAGE_FORGE_STEP"',
      '# a comment with multi-byte text: ✓ ünïcode',
    ].join('\n'),
  };
  const before = commands.length;
  const r = await runScriptOn(deps, ref, '07-script', 'sha256-none', script, {
    TOKEN: { fromWorker: 'FORGE_STEP_SECRET' },
    GREETING: { value: 'grüß dich' },
  });
  assert.equal(r.exitCode, 0);
  assert.equal(commands.length - before, 1, 'one SSH exec for the step');
  assert.ok(!commands.at(-1)!.includes('s3cr3t'), 'the secret is not on the command line');
  assert.ok(
    r.tail.some((l) => l.includes('umask 0022 greeting grüß dich step 07-script')),
    r.tail.join('\n'),
  );
  const want = createHash('sha256').update(SECRET).digest('hex');
  assert.equal((await droplet.run('cat /root/token.sha')).out.trim(), want, 'the secret arrived byte for byte');
  const modes = await droplet.run('stat -c "%a %n" /run/image-forge/env /run/image-forge/scripts/07-script');
  assert.equal(modes.out, '600 /run/image-forge/env\n700 /run/image-forge/scripts/07-script\n');
});

test('a failing script is the step failing, with its exit code, after the same one exec', async () => {
  const { deps } = labActivityDeps(lab.server, lab.token, join(lab.work, 'w2'));
  deps.shells = shells;
  const before = commands.length;
  await assert.rejects(
    runScriptOn(deps, ref, '08-script', 'sha256-none', { kind: 'script', label: 'fails', run: 'exit 3' }, {}),
    /exited with code 3/,
  );
  assert.equal(commands.length - before, 1);
});
