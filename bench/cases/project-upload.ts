/**
 * The project's upload step, run directly against a droplet (without Temporal around it). The
 * context is packed, stored and unpacked into the worker's cache once, untimed and flushed to disk,
 * as in a build (the client sends it before the build starts): the timed upload does not share the
 * disk with its own context's 256 MiB still being written back (that cost the project ~0.13 s of P3).
 */
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
import { run, secs } from '../common';

export interface PreparedContext {
  digest: string;
  deps: Pick<ActivityDeps, 'store' | 'contextCacheDir'>;
}

/** Packs `src` of `dir` as a build context, stores it and unpacks it into a worker cache; then syncs. */
export async function prepareContext(stack: Stack, dir: string, src: string): Promise<PreparedContext> {
  const store = new LocalDirStore(path.join(stack.dir, 'bench-store'));
  const ctx = await packContext(dir, [src]);
  await publishContext(store, ctx);
  const deps = { store, contextCacheDir: path.join(stack.dir, 'bench-ctx') };
  await fetchContext(store, ctx.digest, deps.contextCacheDir);
  await run('sync', []);
  return { digest: ctx.digest, deps };
}

/** How the worker's code names a bench droplet (the build id its host key is derived from). */
export const benchRef = (d: TestDroplet, buildId: string) => ({ buildId, dropletId: d.id, ipv4: d.ip });

/** The worker's SSH connections to one bench droplet; `open` connects once, untimed (a build's earlier steps did). */
export async function benchShells(d: TestDroplet, key: string, buildId: string, open: boolean): Promise<DropletShells> {
  const priv = await fs.readFile(key);
  const shells = new DropletShells(priv, hostKeySecretFrom(priv));
  if (open) await shells.run(benchRef(d, buildId), 'true');
  return shells;
}

/**
 * Seconds the upload step takes. With `shells` it runs over their (open) connection, as in a build;
 * without, over a new one, as scp does.
 */
export async function projectUpload(
  prepared: PreparedContext,
  d: TestDroplet,
  key: string,
  buildId: string,
  src: string,
  dest: string,
  shells?: DropletShells,
): Promise<number> {
  const own = shells ?? (await benchShells(d, key, buildId, false));
  const deps = { ...prepared.deps, shells: own } as unknown as ActivityDeps;
  try {
    return await secs(() =>
      upload(deps)({
        droplet: benchRef(d, buildId),
        step: 'bench',
        contextDigest: prepared.digest,
        upload: { kind: 'upload', src, dest },
      }),
    );
  } finally {
    if (!shells) own.closeAll();
  }
}
