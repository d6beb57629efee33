/** P5: concurrent builds on one worker: all succeed, peak RSS, makespan. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Stack } from '../../tests/support/stack';
import { REPO } from '../../tests/support/temporal';
import { BUILDS, add, secs } from '../common';
export async function concurrentBuilds(stack: Stack): Promise<void> {
  await stack.stopWorker();
  const worker = stack.spawnWorker({ FORGE_TEST_SECRET: 'bench' });
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      const status = readFileSync(`/proc/${worker.child.pid}/status`, 'utf8');
      const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
      peak = Math.max(peak, hwm);
    } catch {
      // gone
    }
  }, 500);
  const tiny = path.join(REPO, 'tests/build/fixtures/tiny/build.yaml');
  const one = await secs(async () => {
    const r = await stack.client(['start-build', tiny, '--wait', '--json', '--no-verify']);
    if (r.code !== 0) throw new Error(r.stderr);
  });
  const results: number[] = [];
  const many = await secs(async () => {
    const all = await Promise.all(
      Array.from({ length: BUILDS }, (_, i) =>
        stack.client(['start-build', tiny, '--wait', '--json', '--no-verify', '--id', `bench-many-${i}-${Date.now()}`]),
      ),
    );
    for (const r of all) results.push(r.code);
  });
  clearInterval(sampler);
  await worker.kill('SIGTERM');
  const ok = results.filter((c) => c === 0).length;
  add({
    id: 'P5',
    what: `${BUILDS} concurrent builds, one worker: succeeded`,
    how: 'project',
    unit: 'builds',
    samples: [ok],
    goal: `${BUILDS}`,
  });
  add({
    id: 'P5',
    what: `${BUILDS} concurrent builds: worker peak RSS`,
    how: 'project',
    unit: 'MB',
    samples: [peak],
    goal: '≤ 300 MB',
  });
  add({
    id: 'P5',
    what: `${BUILDS} concurrent builds: makespan ÷ one build`,
    how: 'project',
    unit: '×',
    samples: [many / one],
    goal: '≤ 2×',
  });
}
