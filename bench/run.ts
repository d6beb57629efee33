/**
 * The benchmark: the project against Fabric, scp, raw ssh and Packer on lab droplets, each measured in
 * the same run, median of N runs with min and max. Prints a table and writes bench/results.md.
 *
 *   node dist/bench/run.js [--runs 3] [--p1-runs 5] [--p5-runs 1] [--only P1,P2,...] [--builds 20]
 *
 * P1 whole build (droplet ready → cleanup done), P2 per-step overhead, P3 one 256 MiB file,
 * P4 a 2,000-file tree, P5 concurrent builds on one worker (peak RSS, makespan), P6 API calls,
 * P7 fix-and-retry, P8 a warm rebuild (the lab's apt cache empty, then warm), P9 the LAMP build
 * against Packer's DigitalOcean builder (droplet active → snapshot done), dpkg what force-unsafe-io
 * saves the LAMP install, cleanup the cleanup step part by part. The lab runs its apt
 * cache and the worker uses it (IMAGE_FORGE_APT_PROXY); the baselines' droplets use it too.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startStack } from '../tests/support/stack';
import type { Stack } from '../tests/support/stack';
import { REPO } from '../tests/support/temporal';
import { ONLY, P1_RUNS, P5_RUNS, RUNS, median, rows } from './common';
import { buildCost } from './cases/build-cost';
import { cleanupProfile } from './cases/cleanup-profile';
import { concurrentBuilds } from './cases/concurrent-builds';
import { fileTree } from './cases/file-tree';
import { fixAndRetry } from './cases/fix-and-retry';
import { oneBigFile } from './cases/one-big-file';
import { packerBaseline } from './cases/packer';
import { perStep } from './cases/per-step';
import { unsafeIo } from './cases/unsafe-io';
import { warmRebuild } from './cases/warm-rebuild';
import { wholeBuild } from './cases/whole-build';

const failures: string[] = [];

async function main(): Promise<void> {
  const stack = await startStack({ lab: { timing: { transferDelayMs: 200, maxDiskGiB: 2 } } });
  await stack.stopWorker();
  await stack.startWorker({ extraEnv: { FORGE_TEST_SECRET: 'bench' } });
  try {
    // A part that fails is reported in the table, and the others still run.
    const part = async (id: string, fn: (s: Stack) => Promise<void>) => {
      try {
        await fn(stack);
      } catch (err) {
        failures.push(`${id}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      }
    };
    if (ONLY.has('P1')) await part('P1', wholeBuild);
    if (ONLY.has('P2')) await part('P2', perStep);
    if (ONLY.has('P3')) await part('P3', oneBigFile);
    if (ONLY.has('P4')) await part('P4', fileTree);
    if (ONLY.has('P5')) await part('P5', concurrentBuilds);
    if (ONLY.has('P7')) await part('P7', fixAndRetry);
    if (ONLY.has('P8')) await part('P8', warmRebuild);
    if (ONLY.has('P9')) await part('P9', packerBaseline);
    if (ONLY.has('dpkg')) await part('dpkg', unsafeIo);
    if (ONLY.has('cleanup')) await part('cleanup', cleanupProfile);
    if (ONLY.has('P6') || ONLY.has('cost')) await part('P6', buildCost);
  } finally {
    // A leak (a droplet or key a case left) is reported under the table, not lost with it.
    await stack.stop().catch((err: unknown) => failures.push(`teardown: ${String(err)}`));
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 16)}Z on ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, lab droplets (nspawn); median and min–max of n runs (--runs ${RUNS}, P1 ${P1_RUNS}, P5 ${P5_RUNS}).`,
    '',
    '| | what | how | n | median | min–max | goal |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const f = (x: number) =>
        r.unit === 's' && x < 1
          ? `${(x * 1000).toFixed(1)} ms`
          : `${x.toFixed(r.unit === 'calls' || r.unit === 'builds' ? 0 : 2)} ${r.unit === 's' ? 's' : r.unit}`;
      return `| ${r.id} | ${r.what} | ${r.how} | ${r.samples.length} | ${f(median(r.samples))} | ${f(Math.min(...r.samples))}–${f(Math.max(...r.samples))} | ${r.goal ?? ''} |`;
    }),
  ];
  if (failures.length > 0) lines.push('', ...failures.map((f) => `Failed: ${f}`));
  const table = lines.join('\n');
  console.log(table);
  await fs.writeFile(path.join(REPO, 'bench/results.md'), `${table}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
