/**
 * Records the histories the replay test checks: real lab builds of the tiny spec — one that
 * completes, one that fails a step, waits for an operator and is retried, one that is aborted.
 * Run (as root) with `node dist/tests/support/record-fixtures.js [prefix]` after a deliberate
 * workflow change that is guarded by a patch, to add histories of the new code beside the old.
 * `record-fixtures.js <prefix> release` records the release steps instead: a build waiting for
 * approval, one published through a busy app and a review, and a matrix build.
 * `record-fixtures.js <prefix> rebuild` records scheduled runs that decide before provision: one
 * that skips because nothing changed since the last build (`rebuild-skipped`), and one that builds
 * because the lab published a new base image under the spec's slug (`rebuild-built`).
 * `record-fixtures.js <prefix> ansible` records a build whose ansible step fails until its playbook
 * is edited, then is retried (`ansible-retried`).
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { BuildManifest } from '../../contract/build';
import { labControl } from './lab-control';
import { startStack } from './stack';
import type { Stack } from './stack';
import { REPO } from './temporal';

async function main(): Promise<void> {
  const stack = await startStack({
    lab: { timing: { transferDelayMs: 200, maxDiskGiB: 1 } },
  });
  const out = path.join(REPO, 'tests/replay/histories');
  // A prefix keeps histories of older workflow code next to the new ones (e.g. `v2`).
  const prefix = process.argv[2] ? `${process.argv[2]}-` : '';
  const save = async (id: string, name: string) => {
    const h = await stack.temporal.client.workflow.getHandle(id).fetchHistory();
    await fs.writeFile(path.join(out, `${prefix}${name}.json`), historyToJSON(h));
    console.log(`recorded ${name}`);
  };
  const waitFor = async (id: string, status: string) => {
    for (;;) {
      const r = await stack.client(['status', id, '--json']);
      if (r.code === 0 && (JSON.parse(r.stdout) as { status: string }).status === status) return;
      await new Promise((res) => setTimeout(res, 1000));
    }
  };
  if (process.argv[3] === 'release') {
    try {
      await recordRelease(stack, save, waitFor);
    } finally {
      await stack.stop();
    }
    return;
  }
  if (process.argv[3] === 'ansible') {
    try {
      await recordAnsible(stack, save, waitFor);
    } finally {
      await stack.stop();
    }
    return;
  }
  if (process.argv[3] === 'rebuild') {
    try {
      await recordRebuild(stack, save);
    } finally {
      await stack.client(['schedule', 'delete', 'rebuild-replay']).catch(() => undefined);
      await stack.stop();
    }
    return;
  }
  try {
    await stack.stopWorker();
    await stack.startWorker({ extraEnv: { FORGE_TEST_SECRET: 'not-a-real-secret' } });
    const tiny = path.join(REPO, 'tests/build/fixtures/tiny/build.yaml');
    const ok = await stack.client(['start-build', tiny, '--wait', '--id', 'replay-succeeded']);
    if (ok.code !== 0) throw new Error(ok.stderr);
    await save('replay-succeeded', 'tiny-succeeded');

    // A step that fails until its script is edited: waits, then is retried with the new context.
    const dir = path.join(stack.dir, 'flaky');
    await fs.cp(path.dirname(tiny), dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'scripts/01-hello.sh'), '#!/bin/bash\nexit 4\n', { mode: 0o755 });
    await stack.client(['start-build', path.join(dir, 'build.yaml'), '--id', 'replay-retried']);
    await waitFor('replay-retried', 'waiting-for-operator');
    await save('replay-retried', 'tiny-waiting-for-operator');
    await fs.writeFile(path.join(dir, 'scripts/01-hello.sh'), '#!/bin/bash\necho fixed\n', { mode: 0o755 });
    await stack.client(['retry', 'replay-retried']);
    await waitFor('replay-retried', 'succeeded');
    await save('replay-retried', 'tiny-retried');

    await fs.writeFile(path.join(dir, 'scripts/01-hello.sh'), '#!/bin/bash\nexit 5\n', { mode: 0o755 });
    await stack.client(['start-build', path.join(dir, 'build.yaml'), '--id', 'replay-aborted']);
    await waitFor('replay-aborted', 'waiting-for-operator');
    await stack.client(['abort', 'replay-aborted']);
    await waitFor('replay-aborted', 'failed');
    await save('replay-aborted', 'tiny-aborted');
  } finally {
    await stack.stop();
  }
}

async function recordRelease(
  stack: Stack,
  save: (id: string, name: string) => Promise<void>,
  waitFor: (id: string, status: string) => Promise<void>,
): Promise<void> {
  const web = path.join(REPO, 'tests/release/fixtures/web/build.yaml');
  await labControl(stack.lab, '/_lab/vendor-apps', {
    method: 'POST',
    body: {
      id: 'lab-webcheck',
      name: 'Webcheck',
      status: 'inReview',
      review: { pendingMs: 500, inReviewMs: 500 },
    },
  });
  const fast = ['--review-poll', '0.015', '--busy-retry', '0.03'];
  await stack.client(['start-build', web, '--publish', '--id', 'replay-published', ...fast]);
  await waitFor('replay-published', 'waiting-for-approval');
  await save('replay-published', 'web-waiting-for-approval');
  await stack.client(['approve', 'replay-published']);
  await waitFor('replay-published', 'waiting-for-review');
  await labControl(stack.lab, '/_lab/vendor-apps/lab-webcheck', { method: 'POST', body: { status: 'approved' } });
  await waitFor('replay-published', 'succeeded');
  await save('replay-published', 'web-published');

  const dir = path.join(stack.dir, 'matrix');
  await fs.cp(path.dirname(web), dir, { recursive: true });
  const yaml = (await fs.readFile(path.join(dir, 'build.yaml'), 'utf8'))
    .replace('name: webcheck', 'name: webmatrix')
    .replace(/snapshot:[\s\S]*$/, 'matrix:\n  image: [debian-12-x64, debian-13-x64]\n');
  await fs.writeFile(path.join(dir, 'build.yaml'), yaml);
  const m = await stack.client([
    'start-build',
    path.join(dir, 'build.yaml'),
    '--wait',
    '--no-verify',
    '--id',
    'replay-matrix',
  ]);
  if (m.code !== 0) throw new Error(m.stderr);
  await save('replay-matrix', 'web-matrix');
}

/** As tests/build/ansible.test.ts: a playbook whose task fails until it is edited, then a retry. */
async function recordAnsible(
  stack: Stack,
  save: (id: string, name: string) => Promise<void>,
  waitFor: (id: string, status: string) => Promise<void>,
): Promise<void> {
  const dir = path.join(stack.dir, 'ansible');
  await fs.cp(path.join(REPO, 'tests/build/fixtures/ansible'), dir, { recursive: true });
  execFileSync('tar', ['-C', dir, '-czf', path.join(dir, 'ansible/vendor/greeter.tar.gz'), 'greeter']);
  const site = path.join(dir, 'ansible/site.yml');
  const fixed = await fs.readFile(site, 'utf8');
  await fs.appendFile(site, '    - name: not ready yet\n      fail: { msg: edit the playbook }\n');
  await fs.writeFile(
    path.join(dir, 'build.yaml'),
    'name: replay-ansible\nvendor: forge\ndroplet: { image: debian-12-x64 }\napt: { upgrade: false }\nsteps:\n' +
      '  - ansible:\n      playbook: ansible/site.yml\n      galaxy: ansible/requirements.yml\n' +
      '      extraVars: { db_password: plain, motto: replayed }\n      skipTags: [broken]\n',
  );
  await stack.client(['start-build', path.join(dir, 'build.yaml'), '--no-verify', '--id', 'replay-ansible']);
  await waitFor('replay-ansible', 'waiting-for-operator');
  await fs.writeFile(site, fixed);
  await stack.client(['retry', 'replay-ansible']);
  await waitFor('replay-ansible', 'succeeded');
  await save('replay-ansible', 'ansible-retried');
}

/** As tests/release/rebuild-triggers.test.ts: a paused schedule, triggered by hand. */
async function recordRebuild(stack: Stack, save: (id: string, name: string) => Promise<void>): Promise<void> {
  const slug = 'debian-12-x64';
  const dir = path.join(stack.dir, 'replay');
  await fs.mkdir(dir, { recursive: true });
  const spec = path.join(dir, 'build.yaml');
  await fs.writeFile(
    spec,
    `name: replay\nvendor: forge\ndroplet: { image: ${slug} }\napt: { upgrade: false }\nscripts:\n  - run: echo built > /etc/replay\n`,
  );
  const c = await stack.client([
    'schedule',
    'create',
    spec,
    '--id',
    'rebuild-replay',
    '--every',
    '30d',
    '--rebuild-after',
    '30d',
    '--paused',
    '--no-verify',
  ]);
  if (c.code !== 0) throw new Error(c.stderr);

  const recent = async (): Promise<{ buildId: string }[]> => {
    const r = await stack.client(['schedule', 'list', '--json']);
    if (r.code !== 0) throw new Error(r.stderr);
    const listed = JSON.parse(r.stdout) as { scheduleId: string; recent: { buildId: string }[] }[];
    return listed.find((s) => s.scheduleId === 'rebuild-replay')?.recent ?? [];
  };
  /** Triggers the schedule, waits for the new run to close and returns its id and manifest. */
  const run = async (): Promise<{ id: string; manifest: BuildManifest }> => {
    const before = (await recent()).length;
    const t = await stack.client(['schedule', 'trigger', 'rebuild-replay']);
    if (t.code !== 0) throw new Error(t.stderr);
    for (let i = 0; i < 120; i++) {
      const now = await recent();
      if (now.length > before) {
        const id = now.at(-1)!.buildId;
        const manifest = (await stack.temporal.client.workflow.getHandle(id).result()) as BuildManifest;
        return { id, manifest };
      }
      await sleep(500);
    }
    throw new Error('the schedule started no run');
  };

  const first = await run();
  if (first.manifest.status !== 'succeeded' || first.manifest.rebuild?.build !== true) {
    throw new Error(`the first scheduled run did not build: ${JSON.stringify(first.manifest.rebuild)}`);
  }
  const skipped = await run();
  if (skipped.manifest.rebuild?.build !== false) {
    throw new Error(`the second scheduled run did not skip: ${JSON.stringify(skipped.manifest.rebuild)}`);
  }
  await save(skipped.id, 'rebuild-skipped');

  // The lab publishes a new base image under the same slug: the next run builds from it.
  const published = await labControl(stack.lab, `/_lab/distributions/${slug}`, {
    method: 'POST',
    body: { description: 'Debian 12 x64 (refreshed)' },
  });
  if (published.status !== 201) throw new Error(`publishing a base image: ${published.status}`);
  const built = await run();
  if (
    built.manifest.status !== 'succeeded' ||
    built.manifest.rebuild?.build !== true ||
    !built.manifest.rebuild.triggers?.includes('base-image')
  ) {
    throw new Error(`the third scheduled run did not build for the base image: ${JSON.stringify(built.manifest)}`);
  }
  await save(built.id, 'rebuild-built');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
