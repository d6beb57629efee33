/**
 * The workflow code a worker runs, bundled once by `npm run build` rather than by webpack inside
 * every worker at start: bundling in the worker costs ~100 MB of peak memory for its whole life
 * (measured here: 281 MB vs 176 MB for an idle worker) and a second of start-up. A bundle whose
 * sources changed since it was made is not used: the worker bundles at start then, as before.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import type { WorkerOptions } from '@temporalio/worker';

/** dist/, where tsc put this file's folder. */
const DIST = path.resolve(__dirname, '..');
/** Workflow code imports only these rooms (the layout rules check it), and the SDK's workflow library. */
const SOURCES = ['workflows', 'contract'];

function jsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? jsFiles(path.join(dir, e.name)) : e.name.endsWith('.js') ? [path.join(dir, e.name)] : [],
    )
    .sort();
}

/** A digest of everything the bundle is made from. */
export function sourcesDigest(dist = DIST): string {
  const h = createHash('sha256');
  const sdk = JSON.parse(readFileSync(require.resolve('@temporalio/workflow/package.json'), 'utf8')) as {
    version: string;
  };
  h.update(`@temporalio/workflow ${sdk.version}\n`);
  for (const file of SOURCES.flatMap((d) => jsFiles(path.join(dist, d)))) {
    h.update(`${path.relative(dist, file)}\0`).update(readFileSync(file));
  }
  return h.digest('hex');
}

/** Workflow interceptor modules bundled with the workflows (builds counted for the metrics). */
export const workflowInterceptorModules = (dist = DIST): string[] => [
  require.resolve(path.join(dist, 'workflows/metrics-interceptor')),
];

const bundlePath = (dist: string) => path.join(dist, 'workflows.bundle.js');
const digestPath = (dist: string) => path.join(dist, 'workflows.bundle.sources');

export async function writeWorkflowBundle(dist = DIST): Promise<number> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve(path.join(dist, 'workflows')),
    workflowInterceptorModules: workflowInterceptorModules(dist),
    logger: new DefaultLogger('WARN'),
  });
  writeFileSync(bundlePath(dist), code);
  writeFileSync(digestPath(dist), `${sourcesDigest(dist)}\n`);
  return code.length;
}

/** The prebuilt bundle when it matches the sources, else the sources (bundled at start), with why. */
export function workflowCode(dist = DIST): {
  options: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'>;
  prebuilt: boolean;
  why?: string;
} {
  const recorded = existsSync(digestPath(dist)) ? readFileSync(digestPath(dist), 'utf8').trim() : undefined;
  if (recorded !== undefined && existsSync(bundlePath(dist)) && recorded === sourcesDigest(dist))
    return { options: { workflowBundle: { codePath: bundlePath(dist) } }, prebuilt: true };
  return {
    options: { workflowsPath: require.resolve(path.join(dist, 'workflows')) },
    prebuilt: false,
    why:
      recorded === undefined
        ? 'no prebuilt workflow bundle (npm run build makes one)'
        : 'the prebuilt workflow bundle is older than the workflow code (npm run build makes a new one)',
  };
}
