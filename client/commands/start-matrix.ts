/**
 * `client start-build` of a matrix: a spec's `matrix:` (base images, sizes, regions) or several
 * spec files. One parent build (buildMatrix) builds every variant as a child build.
 */
import type { Connection } from '@temporalio/client';
import { matrixVariants } from '../../spec/plan';
import type { BuildInput, MatrixInput, MatrixResult } from '../../contract/build';
import { ensureSearchAttributes } from '../../platform/search-attributes';
import { followBuild } from '../follow';
import { ensureLocalStack } from '../local-stack';
import { buildUrl, taskQueue, temporalClient, temporalSettings } from '../settings';
import { UserError } from '../../contract/user-error';
import { matrixProblems } from '../../contract/plan-checks';
import {
  buildMemo,
  buildOptions,
  packForWorkers,
  refuseDuplicateId,
  startingAttributes,
  utcStamp,
} from '../build-input';
import type { LoadedSpec, StartFlags } from '../build-input';

export async function startMatrix(specs: LoadedSpec[], flags: StartFlags, say: (msg: string) => void): Promise<void> {
  if (flags.publish)
    throw new UserError(
      '--publish does not go with a matrix build: variants would replace each other in the listing; publish one spec at a time',
      2,
    );
  const concurrency =
    flags.concurrency !== undefined
      ? Number(flags.concurrency)
      : Math.max(2, ...specs.map((s) => s.spec.matrix?.concurrency ?? 0));
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new UserError(`--concurrency must be a whole number of at least 1, not "${flags.concurrency}"`, 2);
  // The matrix workflow refuses the same (plan-checks.ts): said here, before anything is packed or started.
  const variantCount = specs.reduce((n, s) => n + Math.max(1, matrixVariants(s.spec).length), 0);
  const problems = matrixProblems(concurrency, variantCount);
  if (problems.length > 0) throw new UserError(problems.join('\n'), 2);
  const names = specs.map((s) => s.plan.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup)
    throw new UserError(
      `two specs are both named ${dup}: a matrix needs distinct names (their snapshots would mix)`,
      2,
    );

  const settings = flags.local ? (await ensureLocalStack(say)).temporal : temporalSettings(flags);
  const client = await temporalClient(settings);
  await ensureSearchAttributes(client.connection as Connection, settings.namespace).catch(() => undefined);

  const stamp = utcStamp();
  const family = specs.length === 1 ? specs[0]!.plan.name : 'matrix';
  const buildId = flags.id ?? `build-${family}-${stamp}`;
  const children: MatrixInput['children'] = [];
  for (const loaded of specs) {
    const options = buildOptions(loaded.plan, flags);
    const { ctx, packed } = await packForWorkers(loaded);
    const variants = matrixVariants(loaded.spec);
    for (const v of variants.length > 0 ? variants : [{ key: '', droplet: loaded.plan.droplet }]) {
      const key = [specs.length > 1 ? loaded.plan.name : '', v.key].filter(Boolean).join('-');
      // Each variant is its own image family: retention and snapshot names do not mix them.
      const name = v.key ? `${loaded.plan.name}-${v.key}`.slice(0, 63).replace(/-+$/, '') : loaded.plan.name;
      const input: BuildInput = {
        buildId: `${buildId}.${key}`,
        plan: { ...loaded.plan, name, droplet: v.droplet },
        contextDigest: ctx.digest,
        snapshotName: loaded.plan.snapshot.name
          ? `${loaded.plan.snapshot.name}-${v.key || loaded.plan.name}`
          : `${name}-${stamp}`,
        ...options,
      };
      children.push({
        key,
        input,
        memo: buildMemo(loaded, packed),
      });
    }
  }
  const input: MatrixInput = { buildId, name: family, concurrency, children };
  const handle = await client.workflow
    .start('buildMatrix', {
      taskQueue: taskQueue(flags),
      workflowId: buildId,
      args: [input],
      staticSummary: `${family}: matrix of ${children.length} variants (${concurrency} at a time)`,
      staticDetails: children
        .map(
          (c) =>
            `- \`${c.key}\`: ${c.input.plan.droplet.image}, ${c.input.plan.droplet.size}, ${c.input.plan.droplet.region}`,
        )
        .join('\n'),
      typedSearchAttributes: startingAttributes(family),
    })
    .catch(refuseDuplicateId(buildId));
  const url = buildUrl(settings, buildId);
  say(
    `started matrix ${buildId} with ${children.length} variants: ${children.map((c) => c.key).join(', ')}${url ? `\n  Web UI: ${url}` : ''}`,
  );
  if (!flags.wait) {
    if (flags.json)
      console.log(
        JSON.stringify(
          {
            buildId,
            status: 'running',
            url,
            variants: children.map((c) => ({ key: c.key, buildId: c.input.buildId })),
          },
          null,
          2,
        ),
      );
    return;
  }
  await followBuild(handle, { json: !!flags.json });
  const result = (await handle.result()) as MatrixResult;
  if (flags.json) console.log(JSON.stringify({ ...result, url }, null, 2));
  else
    for (const v of result.variants)
      console.log(
        `${v.key.padEnd(32)} ${v.status.padEnd(10)} ${v.snapshot ? `${v.snapshot.name} (${v.snapshot.id})` : (v.error ?? '')}`,
      );
  if (result.status !== 'succeeded') process.exitCode = 1;
}
