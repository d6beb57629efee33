/**
 * P7: fixing a failed last script costs one step, not a rebuild. The LAMP spec with one more
 * script at the end: once with the script passing (a full build), once failing, then fixed and
 * `client retry` — the time from the retry to the snapshot, over the full build's time from its
 * first step to the snapshot. Fabric and Packer rebuild from scratch: 1.0 by construction.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseDocument } from 'yaml';
import type { StepRecord } from '../../contract/build';
import type { Stack } from '../../tests/support/stack';
import { waitForBuild } from '../../tests/support/build-state';
import { REPO } from '../../tests/support/temporal';
import { add, RUNS } from '../common';

const end = (s: StepRecord | undefined) => Date.parse(s!.startedAt!) + s!.seconds! * 1000;

export async function fixAndRetry(stack: Stack): Promise<void> {
  const dir = await fs.mkdtemp(path.join(stack.dir, 'p7-'));
  await fs.cp(path.join(REPO, 'examples/lamp'), dir, { recursive: true });
  const file = path.join(dir, 'build.yaml');
  const doc = parseDocument(await fs.readFile(file, 'utf8'));
  doc.addIn(['scripts'], 'scripts/99-last.sh');
  await fs.writeFile(file, doc.toString());
  const last = path.join(dir, 'scripts/99-last.sh');
  const setLast = (rc: number) =>
    fs.writeFile(last, `#!/bin/bash\necho "the last script"\nexit ${rc}\n`, { mode: 0o755 });
  const ratios: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await setLast(0);
    const full = await stack.client(['start-build', file, '--wait', '--json', '--no-verify']);
    if (full.code !== 0) throw new Error(`P7 full build failed: ${full.stderr}`);
    const steps = (JSON.parse(full.stdout) as { manifest: { steps: StepRecord[] } }).manifest.steps;
    const fullSecs = (end(steps.find((s) => s.name === 'snapshot')) - Date.parse(steps[0]!.startedAt!)) / 1000;

    await setLast(1);
    const id = `bench-p7-${i}-${Date.now()}`;
    const started = await stack.client(['start-build', file, '--json', '--no-verify', '--id', id]);
    if (started.code !== 0) throw new Error(`P7 failing build did not start: ${started.stderr}`);
    await waitForBuild(stack, id, (s) => s.waiting !== undefined, 'the last script to fail', 600_000);
    await setLast(0);
    const t0 = Date.now();
    const retry = await stack.client(['retry', id]);
    if (retry.code !== 0) throw new Error(`P7 retry failed: ${retry.stderr}`);
    const done = await waitForBuild(stack, id, (s) => s.status === 'succeeded', 'the retried build', 600_000);
    const retrySecs = (end(done.steps.find((s) => s.name === 'snapshot')) - t0) / 1000;
    console.error(`  P7 run ${i + 1}: retry → snapshot ${retrySecs.toFixed(1)} s, full build ${fullSecs.toFixed(1)} s`);
    ratios.push(retrySecs / fullSecs);
  }
  add({
    id: 'P7',
    what: 'fix-and-retry of the last script → snapshot, ÷ a full build',
    how: 'project (client retry)',
    unit: '×',
    samples: ratios,
    goal: '≤ 0.3 (Fabric, Packer: 1.0)',
  });
}
