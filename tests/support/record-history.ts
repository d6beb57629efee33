/** Saves a build's event history for the replay tests: record-history <build-id> <file-name>. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { temporalClient, temporalSettings } from '../../client/settings';
import { REPO } from './temporal';

export async function recordHistory(buildId: string, name: string, address?: string): Promise<string> {
  const client = await temporalClient(temporalSettings(address ? { address } : {}));
  const history = await client.workflow.getHandle(buildId).fetchHistory();
  const file = path.join(REPO, 'tests/replay/histories', `${name}.json`);
  await fs.writeFile(file, historyToJSON(history));
  await client.connection.close();
  return file;
}

if (require.main === module) {
  const [buildId, name] = process.argv.slice(2);
  if (!buildId || !name) {
    console.error('usage: record-history <build-id> <name>');
    process.exit(2);
  }
  recordHistory(buildId, name).then((f) => console.log(`wrote ${f}`));
}
