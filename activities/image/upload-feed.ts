/**
 * Streams an upload's entries into a tar stream and returns each file's SHA-256: the digests the
 * droplet's copies are checked against. Most come from the context's index (taken when the worker
 * unpacked it); a file the index does not know is hashed here — a small one from the bytes read for
 * the tar, a big one on a thread of its own (a second read, from the page cache) while it streams.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import type { Pack } from 'tar-stream';
import type { Entry } from './upload-plan';
import { sha256OfFile } from './hash-thread';

/** Files up to this size are read whole, several ahead; bigger ones are streamed. */
const SMALL = 4 << 20;
/** How many small files are read ahead of the one being packed. */
const AHEAD = 64;
/** Big files are read in 4 MiB chunks: fewer trips through the streams (ssh2 cuts packets itself). */
const CHUNK = 4 << 20;

/** A file's SHA-256 (hex) known beforehand, by its path on the worker; undefined when not known. */
export type KnownDigest = (abs: string) => string | undefined;

/** Packs the entries, finalizes the tar, and returns the SHA-256 (hex) of each file, in entry order. */
export async function feedTar(tar: Pack, entries: Entry[], known: KnownDigest = () => undefined): Promise<string[]> {
  const reads = new Map<number, Promise<Buffer>>();
  let ahead = 0;
  const prefetch = (from: number) => {
    for (ahead = Math.max(ahead, from); ahead < entries.length && reads.size < AHEAD; ahead++) {
      const e = entries[ahead]!;
      if (e.type === 'file' && e.size <= SMALL) reads.set(ahead, fs.readFile(e.abs));
    }
  };
  const digests: (string | Promise<string>)[] = [];
  try {
    for (const [i, e] of entries.entries()) {
      const header = { name: e.name, mode: e.mode, mtime: new Date(), uid: 0, gid: 0 };
      if (e.type === 'directory') {
        tar.entry({ ...header, type: 'directory' });
        continue;
      }
      prefetch(i);
      const sha = known(e.abs);
      const pending = reads.get(i);
      if (pending) {
        const body = await pending;
        reads.delete(i);
        digests.push(sha ?? createHash('sha256').update(body).digest('hex'));
        await new Promise<void>((resolve, reject) =>
          tar.entry({ ...header, type: 'file', size: body.length }, body, (err) => (err ? reject(err) : resolve())),
        );
        continue;
      }
      const digest = sha !== undefined ? Promise.resolve(sha) : sha256OfFile(e.abs);
      const streamed = streamFile(tar, { ...header, type: 'file', size: e.size }, e.abs);
      // Both are awaited together; a failure of either is the one reported, never an unhandled one.
      digest.catch(() => undefined);
      streamed.catch(() => undefined);
      digests.push(digest);
      await Promise.all([streamed, digest]);
    }
    tar.finalize();
    return await Promise.all(digests);
  } catch (err) {
    tar.destroy(err as Error);
    throw err;
  } finally {
    // Reads still in flight after a failure: their results are not wanted.
    for (const r of reads.values()) r.catch(() => undefined);
  }
}

function streamFile(tar: Pack, header: Parameters<Pack['entry']>[0], abs: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const sink = tar.entry(header, (err) => (err ? reject(err) : resolve()));
    const rs = createReadStream(abs, { highWaterMark: CHUNK });
    rs.on('error', reject);
    rs.pipe(sink);
  });
}
