/** The project's upload step, run directly against a droplet (without Temporal around it). */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DropletShells } from '../../activities/remote/droplet-shells';
import { upload } from '../../activities/upload';
import type { ActivityDeps } from '../../activities/runtime/deps';
import { hostKeySecretFrom } from '../../platform/host-key';
import { LocalDirStore } from '../../context/store';
import { packContext, publishContext } from '../../context/pack';
import { fetchContext } from '../../context/unpack';
import type { TestDroplet } from '../../tests/support/droplet';
import type { Stack } from '../../tests/support/stack';
import { secs } from '../common';
/** The project's upload step, run directly against a droplet (without Temporal around it). */
export async function projectUpload(
  stack: Stack,
  d: TestDroplet,
  key: string,
  buildId: string,
  dir: string,
  src: string,
  dest: string,
): Promise<number> {
  const store = new LocalDirStore(path.join(stack.dir, 'bench-store'));
  const ctx = await packContext(dir, [src]);
  await publishContext(store, ctx);
  const priv = await fs.readFile(key);
  const deps = {
    store,
    contextCacheDir: path.join(stack.dir, 'bench-ctx'),
    shells: new DropletShells(priv, hostKeySecretFrom(priv)),
  } as unknown as ActivityDeps;
  const ref = { buildId, dropletId: d.id, ipv4: d.ip };
  await fetchOnce(deps, ctx.digest);
  const t = await secs(() =>
    upload(deps)({ droplet: ref, step: 'bench', contextDigest: ctx.digest, upload: { kind: 'upload', src, dest } }),
  );
  deps.shells.closeAll();
  return t;
}

async function fetchOnce(deps: ActivityDeps, digest: string): Promise<void> {
  // The worker's context cache is warm in a real build by the time a step uploads.
  await fetchContext(deps.store, digest, deps.contextCacheDir);
}
