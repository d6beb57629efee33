/**
 * A build's identity comes from its workflow run, never from its input (issue #28 §1). Driven as
 * an attacker who can start workflows on the task queue would: through the Temporal client, with
 * droplets counted in the lab's audit log; and as an edited history would, by handing the wired
 * activities a DropletRef that names another build's droplet.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { packContext, publishContext } from '../../context/pack';
import { LocalDirStore } from '../../context/store';
import { loadSpec } from '../../spec/load';
import { contextPaths } from '../../spec/plan';
import { createActivities } from '../../activities';
import { sbom } from '../../activities/sbom';
import { sbomKeys } from '../../contract/bill-of-materials';
import { runTag } from '../../contract/tags';
import type { BuildInput, BuildManifest } from '../../contract/build';
import { startStack } from '../support/stack';
import type { Stack } from '../support/stack';
import { REPO } from '../support/temporal';

const TINY = path.join(REPO, 'tests/build/fixtures/tiny/build.yaml');
let stack: Stack;
let good: BuildInput;

before(async () => {
  stack = await startStack({ worker: false });
  await stack.startWorker({ extraEnv: { FORGE_TEST_SECRET: 'identity-test-secret' } });
  const loaded = await loadSpec(TINY);
  const ctx = await packContext(loaded.dir, contextPaths(loaded.plan));
  await publishContext(new LocalDirStore(stack.storeDir), ctx);
  good = { buildId: '', plan: loaded.plan, contextDigest: ctx.digest, mode: 'image', snapshotName: '', verify: false };
});

after(async () => {
  await stack?.stop();
});

type Audit = Record<string, unknown>;
const created = (a: Audit[]) => a.filter((e) => e.type === 'droplet.created').map((e) => e.dropletId as number);
const deleted = (a: Audit[]) => a.filter((e) => e.type === 'droplet.deleted').map((e) => e.dropletId as number);

/**
 * The build's result, or a failure after `ms`: a build that got further than it should waits for
 * an operator at its failed step, and the test says so instead of hanging (the build is ended).
 */
async function ended(handle: Awaited<ReturnType<typeof start>>, ms = 240_000): Promise<BuildManifest> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void handle.terminate('the test gave up waiting').catch(() => undefined);
      reject(new Error(`build ${handle.workflowId} did not end within ${ms / 1000} s`));
    }, ms);
  });
  try {
    return (await Promise.race([handle.result(), late])) as BuildManifest;
  } finally {
    clearTimeout(timer);
  }
}

function start(workflowId: string, input: Partial<BuildInput>) {
  return stack.temporal.client.workflow.start('buildImage', {
    args: [{ ...good, buildId: workflowId, snapshotName: `tiny-${workflowId}`, ...input }],
    taskQueue: 'image-forge',
    workflowId,
  });
}

test("an input naming another build, or wearing the builder's own tags, is refused at check-input, before any droplet exists", async () => {
  const before = created(await stack.audit()).length;
  const hostile: [string, Partial<BuildInput>, RegExp][] = [
    [
      'identity-intruder',
      { buildId: 'identity-victim' },
      /buildId "identity-victim" is not this build \(workflow "identity-intruder"\)/,
    ],
    [
      'identity-forged-tag',
      { plan: { ...good.plan, droplet: { ...good.plan.droplet, tags: ['image-forge-run-0123456789abcdef01234567'] } } },
      /droplet\.tags\.0: is one of the builder's own tags/,
    ],
  ];
  for (const [workflowId, input, why] of hostile) {
    const handle = await start(workflowId, input);
    const err = await ended(handle, 120_000).then(
      () => assert.fail('the build ran'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
    assert.equal(err.cause.nonRetryable, true);
    assert.match(err.cause.message, why);
  }
  assert.equal(created(await stack.audit()).length, before, 'no droplet was created');
});

test("a new run reusing a finished --base build's workflow id makes its own droplet and never touches the kept one", async () => {
  const id = 'identity-base';
  const base = await ended(await start(id, { mode: 'base' }));
  const kept = base.droplet!.id;
  const mark = (await stack.audit()).length;

  // The same workflow id, a new run: provision must not reuse the kept droplet, its undo must not delete it.
  const again = await ended(await start(id, { mode: 'image' }));
  assert.equal(again.status, 'succeeded');
  const during = (await stack.audit()).slice(mark);
  const made = created(during);
  assert.equal(made.length, 1, 'the second run made a droplet of its own');
  assert.notEqual(made[0], kept);
  assert.deepEqual(deleted(during), made, "the second run's undo deleted its own droplet and nothing else");
  const { droplets } = await stack.lab.state();
  assert.ok(
    droplets.list.some((d) => d.id === kept),
    'the kept base droplet is still there',
  );

  // An edited history: the wired activities, run as another run of the same id, or as another build.
  const deps = stack.worker!.deps;
  const acts = createActivities(deps);
  const keptRef = droplets.list.find((d) => d.id === kept)!;
  const ref = { buildId: id, dropletId: kept, ipv4: keptRef.ipv4 ?? '' };
  const asRun = (workflowId: string) =>
    new MockActivityEnvironment({ workflowExecution: { workflowId, runId: randomUUID() } });
  const script = { kind: 'script' as const, label: 'x', run: 'touch /root/intruded' };
  for (const [who, claimed, why] of [
    [id, id, /droplet: droplet \d+ was not made by this build's run/],
    ['identity-other', id, /droplet\.buildId "identity-base" is not this build/],
  ] as const) {
    await assert.rejects(
      asRun(who).run(acts.runScript, {
        droplet: { ...ref, buildId: claimed },
        step: '01-script',
        contextDigest: good.contextDigest,
        script,
        env: {},
      }),
      (e: Error) => why.test(e.message),
    );
    await assert.rejects(asRun(who).run(acts.shutdown, { ...ref, buildId: claimed }), (e: Error) =>
      why.test(e.message),
    );
  }
  // The undo of a run with the same workflow id deletes nothing of another run.
  const undo = (await asRun(id).run(acts.destroy, { buildId: id })) as { destroyed: number[] };
  assert.deepEqual(undo.destroyed, []);
  assert.ok(
    (await stack.lab.state()).droplets.list.some((d) => d.id === kept),
    'still there after the other run undid',
  );

  // Its image and its records: another run, of this id or another, neither deletes nor claims them.
  const image = again.snapshot!.id;
  for (const who of [id, 'identity-other']) {
    await assert.rejects(
      asRun(who).run(acts.deleteSnapshot, { imageId: image }),
      /image \d+ was not made by this build's run/,
    );
    await assert.rejects(
      asRun(who).run(acts.recordBuild, {
        family: 'tiny',
        buildId: who,
        image: 'debian-12-x64',
        contextDigest: good.contextDigest,
        plan: good.plan,
        snapshotId: image,
        startedAt: new Date().toISOString(),
      }),
      /snapshotId: image \d+ was not made by this build's run/,
    );
  }
  assert.ok(
    (await stack.lab.state()).archives.some((a) => a.id === image),
    'the image is still there',
  );
  // Its bill of materials is named by its snapshot name and its run: two builds started in the same
  // second (one snapshot name) keep theirs apart, and a document already there that another build
  // wrote is never written over.
  const copycat = { workflowId: 'identity-copycat', runId: randomUUID() };
  const runPart = runTag(copycat.workflowId, copycat.runId).slice(-12);
  assert.notDeepEqual(sbomKeys(`tiny-${id}`, runPart), again.sbom!.keys, 'its own documents');
  await deps.store.put(
    sbomKeys(`tiny-${id}`, runPart).inventory,
    Buffer.from(JSON.stringify({ buildId: id, snapshotName: `tiny-${id}`, packages: [], files: [] })),
  );
  await assert.rejects(
    new MockActivityEnvironment({ workflowExecution: copycat }).run(sbom(deps), {
      droplet: { ...ref, buildId: 'identity-copycat' },
      step: 'sbom',
      contextDigest: good.contextDigest,
      name: 'tiny',
      buildId: 'identity-copycat',
      snapshotName: `tiny-${id}`,
      vendor: 'forge',
      uploads: [],
      firstBoot: [],
    }),
    /already holds the bill of materials of another build/,
  );

  await deps.api.call('delete the kept droplet', (c) => c.droplet.deleteDroplet({ droplet_id: kept }));
});
