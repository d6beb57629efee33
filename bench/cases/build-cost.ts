/**
 * What a build costs (P6 and droplet-minutes): the LAMP build as a vendor runs it — verify on —
 * counting every DigitalOcean API call (the test droplet's too) and the droplet-minutes paid for.
 * Next to it, the classic Fabric recipe's droplet: created, provisioned by the fabfile, shut down
 * and snapshotted through the API, destroyed — its whole lifetime, measured in the same run (the
 * snapshot is deleted after).
 * Packer-style keeps the build droplet until the snapshot has reached every region
 * (wait_snapshot_transfer): the project's build droplet plus its transfer, derived from the manifest.
 */
import * as path from 'node:path';
import type { BuildManifest } from '../../contract/build';
import type { Stack } from '../../tests/support/stack';
import { REPO } from '../../tests/support/temporal';
import { add, fab, freshDroplet, RUNS, secs, snapshotThroughApi, writeLampWork } from '../common';

export async function buildCost(stack: Stack): Promise<void> {
  const spec = path.join(REPO, 'examples/lamp');
  const work = await writeLampWork(stack, 'p6-');
  const calls: number[] = [];
  const build: number[] = [];
  const test: number[] = [];
  const packer: number[] = [];
  const fabric: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const before = (await stack.audit()).filter((e) => e.type === 'request').length;
    const r = await stack.client(['start-build', path.join(spec, 'build.yaml'), '--wait', '--json']);
    if (r.code !== 0) throw new Error(`P6 build failed: ${r.stderr}`);
    calls.push((await stack.audit()).filter((e) => e.type === 'request').length - before);
    const m = (JSON.parse(r.stdout) as { manifest: BuildManifest }).manifest;
    build.push(m.cost!.buildDropletMinutes);
    test.push(m.cost!.testDropletMinutes);
    const transfer = m.steps.filter((s) => s.name.startsWith('transfer-')).reduce((n, s) => n + (s.seconds ?? 0), 0);
    packer.push(m.cost!.buildDropletMinutes + transfer / 60);
    fabric.push((await fabricLifetime(stack, spec, work)) / 60);
  }
  add({
    id: 'P6',
    what: 'DigitalOcean API calls per LAMP build, verify included',
    how: 'project',
    unit: 'calls',
    samples: calls,
    goal: '≤ 40',
  });
  const what = 'droplet-minutes per LAMP build';
  add({ id: 'cost', what, how: 'project: build droplet', unit: 'min', samples: build });
  add({ id: 'cost', what, how: 'project: test droplet (verify)', unit: 'min', samples: test });
  add({ id: 'cost', what, how: 'Packer-style (droplet kept through transfer)', unit: 'min', samples: packer });
  add({ id: 'cost', what, how: 'Fabric recipe (create → fab → snapshot → destroy)', unit: 'min', samples: fabric });
}

/** Seconds a droplet lives through the classic Fabric recipe, its snapshot and destroy included. */
async function fabricLifetime(stack: Stack, spec: string, work: string): Promise<number> {
  return secs(async () => {
    const a = await freshDroplet(stack);
    try {
      await fab(a.key, a.d.ip, ['lamp', '--spec', spec, '--work', work], spec);
      await snapshotThroughApi(stack, a.d.id);
    } finally {
      await a.d.destroy();
    }
  });
}
