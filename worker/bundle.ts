#!/usr/bin/env node
/** Part of `npm run build`: bundles the workflow code once for every worker (see workflow-bundle.ts). */
import { writeWorkflowBundle } from './workflow-bundle';

writeWorkflowBundle().then(
  (bytes) => console.log(`workflow bundle: ${(bytes / 2 ** 20).toFixed(1)} MiB`),
  (err: unknown) => {
    console.error(`cannot bundle the workflow code: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
