/**
 * Worker side: fetch a build context by digest, verify it, and extract it once into a local cache.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { contextKey, digestOf } from './pack';
import type { BlobStore } from './store';

export class ContextError extends Error {
  override name = 'ContextError';
}

export async function fetchContext(store: BlobStore, digest: string, cacheDir: string): Promise<string> {
  const target = path.join(cacheDir, digest);
  if (
    await fs.stat(path.join(target, '.complete')).then(
      () => true,
      () => false,
    )
  )
    return target;
  const bytes = await store.get(contextKey(digest));
  if (!bytes)
    throw new ContextError(
      `build context ${digest} is not in the ${store.description}: start the build again from the client`,
    );
  const actual = digestOf(bytes);
  if (actual !== digest) {
    throw new ContextError(
      `build context ${digest} in the ${store.description} is corrupted (its content hashes to ${actual}): start the build again from the client`,
    );
  }
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  await fs.mkdir(tmp, { recursive: true });
  await extractTar(bytes, tmp);
  await fs.writeFile(path.join(tmp, '.complete'), digest);
  await fs.rename(tmp, target).catch(async (e: NodeJS.ErrnoException) => {
    // Another activity extracted the same digest meanwhile: theirs is identical.
    await fs.rm(tmp, { recursive: true, force: true });
    if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
  });
  return target;
}

async function extractTar(bytes: Buffer, into: string): Promise<void> {
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.on('entry', (header, stream, next) => {
    const dest = path.join(into, header.name);
    if (!dest.startsWith(into + path.sep)) {
      stream.resume();
      next(new ContextError(`build context has an entry outside its root: ${header.name}`));
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      const write =
        header.type === 'directory'
          ? fs.mkdir(dest, { recursive: true, mode: header.mode ?? 0o755 })
          : fs
              .mkdir(path.dirname(dest), { recursive: true })
              .then(() => fs.writeFile(dest, Buffer.concat(chunks), { mode: header.mode ?? 0o644 }));
      write.then(() => next(), next);
    });
  });
  Readable.from([bytes]).pipe(ex);
  await done;
}
