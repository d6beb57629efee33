/**
 * A script step is one SSH round trip (issue #20 P2): its env and the script go over stdin of one
 * exec, each read to its exact byte length, then the script runs — on a real lab droplet.
 * The secret never appears in the command (which `ps` on the droplet shows) nor on the droplet's
 * disk, the script runs with the usual umask, and multi-byte text arrives whole, whatever the
 * droplet's locale.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { runScriptOn } from '../../activities/remote/script';
import type { ActivityDeps } from '../../activities/runtime/deps';
import { packContext, publishContext } from '../../context/pack';
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
  // Placed by bash (umask 022, which the script keeps) in a folder only root can enter.
  const modes = await droplet.run('stat -c "%a %U %n" /run/image-forge/scripts /run/image-forge/scripts/07-script');
  assert.equal(modes.out, '700 root /run/image-forge/scripts\n644 root /run/image-forge/scripts/07-script\n');
  const secretFiles = await droplet.run(`grep -rlF ${JSON.stringify(SECRET.slice(0, 14))} /run /root /tmp || true`);
  assert.equal(secretFiles.out, '', 'the env is never written to the droplet');
});

test('under a UTF-8 locale, multi-byte and multi-line values still arrive byte for byte', async () => {
  const { deps } = labActivityDeps(lab.server, lab.token, join(lab.work, 'w3'));
  await mkdir(join(lab.work, 'w3'), { recursive: true });
  deps.shells = Object.assign(Object.create(shells) as DropletShells, {
    run: (r: DropletRef, command: string, opts?: Parameters<DropletShells['run']>[2]) =>
      shells.run(r, `export LC_ALL=C.UTF-8\n${command}`, opts),
  });
  const value = 'zwei\nZeilen: ünïcode ✓ $HOME `x` \\ end';
  const r = await runScriptOn(
    deps,
    ref,
    '09-script',
    'sha256-none',
    { kind: 'script', label: 'utf-8', run: 'printf %s "$V" | sha256sum | cut -c1-64; printf "tail ✓\\n"' },
    { V: { value } },
  );
  assert.ok(r.tail.includes(createHash('sha256').update(value).digest('hex')), r.tail.join('\n'));
  assert.ok(r.tail.includes('tail ✓'), r.tail.join('\n'));
});

for (const [how, run] of [
  ['placed by bash', 'touch /root/ran'],
  ['placed by head (over 4 KiB)', `touch /root/ran\n${'# padding\n'.repeat(500)}`],
] as const)
  test(`input cut short on the way is a retryable placing failure, and the script does not run (${how})`, async () => {
    const { deps } = labActivityDeps(lab.server, lab.token, join(lab.work, 'w4'));
    await mkdir(join(lab.work, 'w4'), { recursive: true });
    deps.shells = Object.assign(Object.create(shells) as DropletShells, {
      run: (r: DropletRef, command: string, opts?: Parameters<DropletShells['run']>[2]) =>
        shells.run(r, command, { ...opts, stdin: (opts!.stdin as Buffer).subarray(0, -30) }),
    });
    await assert.rejects(
      runScriptOn(deps, ref, '10-script', 'sha256-none', { kind: 'script', label: 'cut', run }, {}),
      (e: unknown) => {
        assert.ok(!(e instanceof ApplicationFailure), 'a plain error: Temporal retries it');
        return /could not place script cut on the droplet/.test((e as Error).message);
      },
    );
    assert.equal((await droplet.run('test -e /root/ran && echo ran || echo no')).out, 'no\n');
  });

test('each way of placing a script lands it byte for byte and runs it as the kernel would', async () => {
  const dir = join(lab.work, 'w5');
  await mkdir(join(dir, 'ctx'), { recursive: true });
  const { deps } = labActivityDeps(lab.server, lab.token, dir);
  deps.shells = shells;
  const tricky = 'x\\n \\ %s %% $HOME `id` \r mid-line CR, ünïcode ✓\n\n';
  const cases: { name: string; body: Buffer; want: RegExp; mode: string }[] = [
    {
      // bash places it; /bin/sh gets -e and the file, as the kernel would pass them
      name: 'interpreter with an argument',
      body: Buffer.from(`#!/bin/sh -e\ncase $- in *e*) echo "errexit $0";; esac\n: '${tricky}'\n`),
      want: /^errexit \/run\/image-forge\/scripts\/21-script$/,
      mode: '644',
    },
    {
      name: 'a NUL byte after the last command',
      body: Buffer.concat([Buffer.from('#!/bin/bash\necho nul-ok\nexit 0\n'), Buffer.from([0, 1, 2, 0])]),
      want: /^nul-ok$/,
      mode: '644',
    },
    {
      name: 'over 4 KiB',
      body: Buffer.from(`#!/usr/bin/env bash\necho "big $BASH_VERSION"\n${'# padding ✓\n'.repeat(600)}`),
      want: /^big 5\./,
      mode: '644',
    },
    {
      // no interpreter line: the exec bit, and exec's own fallback to /bin/sh
      name: 'no interpreter line',
      body: Buffer.from(`echo "plain $0"\n: '${tricky}'\n`),
      want: /^plain \/run\/image-forge\/scripts\/24-script$/,
      mode: '700',
    },
  ];
  let n = 21;
  for (const c of cases) {
    const step = `${n++}-script`;
    const digest = await contextWith(deps, join(dir, 'ctx'), step, c.body);
    const r = await runScriptOn(deps, ref, step, digest, { kind: 'script', label: c.name, path: step }, {});
    assert.ok(
      r.tail.some((l) => c.want.test(l)),
      `${c.name}: ${r.tail.join('\n')}`,
    );
    const landed = await droplet.run(
      `sha256sum < /run/image-forge/scripts/${step} | cut -c1-64; stat -c %a /run/image-forge/scripts/${step}`,
    );
    assert.equal(
      landed.out,
      `${createHash('sha256').update(c.body).digest('hex')}\n${c.mode}\n`,
      `${c.name}: landed byte for byte`,
    );
  }
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

test('user: the script runs as that user in its login environment, with the env as for root; a missing user is a clear failure; a bad name never reaches the droplet', async () => {
  const dir = join(lab.work, 'w6');
  await mkdir(join(dir, 'ctx'), { recursive: true });
  const { deps } = labActivityDeps(lab.server, lab.token, dir, {
    workerEnv: { FORGE_STEP_SECRET: SECRET },
    workerSecrets: ['FORGE_STEP_SECRET'],
  });
  deps.shells = shells;
  await droplet.run(
    "useradd --create-home --shell /usr/sbin/nologin app && echo 'export FROM_PROFILE=yes' >> /home/app/.profile",
  );
  const env = { TOKEN: { fromWorker: 'FORGE_STEP_SECRET' }, GREETING: { value: 'grüß dich' } };
  const body = [
    'id -un > /home/app/whoami',
    'printf "%s" "$TOKEN" | sha256sum | cut -c1-64 > /home/app/token.sha',
    'echo "home=$HOME pwd=$(pwd) user=$USER profile=$FROM_PROFILE greeting=$GREETING step=$IMAGE_FORGE_STEP"',
  ].join('\n');
  const before = commands.length;
  const r = await runScriptOn(
    deps,
    ref,
    '31-script',
    'sha256-none',
    { kind: 'script', label: 'as app', run: body, user: 'app' },
    env,
  );
  assert.equal(r.exitCode, 0);
  assert.equal(commands.length - before, 1, 'still one SSH exec for the step');
  assert.ok(!commands.at(-1)!.includes('s3cr3t'), 'the secret is not on the command line');
  assert.ok(
    r.tail.includes('home=/home/app pwd=/home/app user=app profile=yes greeting=grüß dich step=31-script'),
    r.tail.join('\n'),
  );
  const want = createHash('sha256').update(SECRET).digest('hex');
  const owned = await droplet.run(
    'stat -c "%U %n" /home/app/whoami /home/app/token.sha; cat /home/app/whoami /home/app/token.sha',
  );
  assert.equal(owned.out, `app /home/app/whoami\napp /home/app/token.sha\napp\n${want}\n`);
  const secretFiles = await droplet.run(
    `grep -rlF ${JSON.stringify(SECRET.slice(0, 14))} /run /root /tmp /home || true`,
  );
  assert.equal(secretFiles.out, '', 'the env is never written to the droplet');

  // A script file without an interpreter line runs by the kernel, as the user; only it can read its copy.
  const digest = await contextWith(
    deps,
    join(dir, 'ctx'),
    'app.sh',
    Buffer.from('touch "$HOME/from-file"; echo "$0"\n'),
  );
  const f = await runScriptOn(
    deps,
    ref,
    '32-script',
    digest,
    { kind: 'script', label: 'app.sh', path: 'app.sh', user: 'app' },
    {},
  );
  assert.ok(f.tail.includes('/run/image-forge-user/32-script'), f.tail.join('\n'));
  const copy = await droplet.run(
    'stat -c "%a %U %n" /run/image-forge-user /run/image-forge-user/32-script /home/app/from-file',
  );
  assert.equal(
    copy.out,
    '711 root /run/image-forge-user\n500 app /run/image-forge-user/32-script\n644 app /home/app/from-file\n',
  );

  await assert.rejects(
    runScriptOn(
      deps,
      ref,
      '33-script',
      'sha256-none',
      { kind: 'script', label: 'as ghost', run: 'touch /tmp/ghost-ran', user: 'ghost' },
      {},
    ),
    (e: unknown) => {
      assert.ok(e instanceof ApplicationFailure && e.nonRetryable, String(e));
      assert.equal(e.type, 'ScriptFailed');
      assert.match(
        e.message,
        /^script as ghost runs as the user "ghost", who does not exist on the droplet: create the user in an earlier step/,
      );
      return true;
    },
  );
  assert.equal((await droplet.run('test -e /tmp/ghost-ran && echo ran || echo no')).out, 'no\n');

  const sent = commands.length;
  for (const bad of ['app; touch /tmp/x', '-c', 'App', 'a b', '']) {
    await assert.rejects(
      runScriptOn(deps, ref, '34-script', 'sha256-none', { kind: 'script', label: 'bad', run: 'true', user: bad }, {}),
      (e: unknown) =>
        e instanceof ApplicationFailure &&
        e.type === 'SpecError' &&
        /refused input: script\.user: must be a user name/.test(e.message),
    );
  }
  assert.equal(commands.length, sent, 'a bad user name never reaches the droplet');
});

/** A build context holding one script file, published to the deps' store: its digest. */
async function contextWith(deps: ActivityDeps, dir: string, name: string, body: Buffer): Promise<string> {
  await writeFile(join(dir, name), body);
  const ctx = await packContext(dir, [name]);
  await publishContext(deps.store, ctx);
  return ctx.digest;
}
