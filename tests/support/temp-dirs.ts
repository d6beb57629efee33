/** Temporary folders a test file makes, all removed after its tests (call once, at the top level). */
import { after } from 'node:test';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function tempDirs(): (prefix: string) => Promise<string> {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  });
  return async (prefix) => {
    const d = await fs.mkdtemp(path.join(os.tmpdir(), `forge-${prefix}`));
    dirs.push(d);
    return d;
  };
}
