/**
 * Imported first by worker/main.ts, before the SDKs load: on a Node older than package.json's
 * engines the worker stops with one message and exit code 1 rather than starting half-supported
 * (without its lean heap, with the AWS SDK's warnings).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** package.json's `engines.node` (">=24") as a major version; the package's root is dist/'s parent. */
function requiredMajor(): number {
  const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    engines?: { node?: string };
  };
  const m = /^>=\s*(\d+)/.exec(pkg.engines?.node ?? '');
  return m ? Number(m[1]) : 0;
}

const need = requiredMajor();
const have = Number(process.versions.node.split('.')[0]);
if (have < need) {
  process.stderr.write(
    `worker: needs Node ${need} or newer, this is Node ${process.versions.node} (${process.execPath}): start it with \`client worker\`, which runs the project's own Node, or with node_modules/.bin/node\n`,
  );
  process.exit(1);
}
