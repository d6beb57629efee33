/**
 * checkInput: the build's first step, before anything is created. The whole workflow input is
 * checked on the worker (activities/runtime/input-checks.ts): shapes and DigitalOcean formats,
 * every `fromWorker` against the operator's allow-list, and every context path inside the
 * unpacked build context. Quick, no side effects.
 */
import type { ActivityDeps } from './runtime/deps';
import { contextRoot } from './runtime/context-files';
import { check, checkBuildInput, checked } from './runtime/input-checks';
import { ownBuild } from './runtime/run-identity';
import type { BuildInput } from '../contract/build';

export function checkInput(deps: ActivityDeps) {
  return async (input: BuildInput): Promise<{ checked: true }> => {
    // A build is the workflow it runs in: an input naming another build is refused here, before anything exists
    // (a malformed id is refused as such first).
    checked(check.buildId, input.buildId, 'buildId');
    ownBuild(input.buildId);
    await checkBuildInput(input, deps.workerSecrets, (digest) => contextRoot(deps, digest));
    return { checked: true };
  };
}
