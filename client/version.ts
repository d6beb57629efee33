/** `client --version`: this package's version and the Temporal SDK's it runs workflows with. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

function versionOf(packageJson: string): string {
  return (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
}

export function versionText(): string {
  // dist/client/ → the package's root.
  const own = versionOf(path.resolve(__dirname, '..', '..', 'package.json'));
  const sdk = versionOf(require.resolve('@temporalio/worker/package.json'));
  return `image-forge ${own} (Temporal TypeScript SDK ${sdk}, Node ${process.versions.node})`;
}
