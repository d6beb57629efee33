/**
 * upload: a file or a folder tree from the build context to the droplet, as one tar stream over
 * one SSH channel (not one request per file).
 * Trailing-slash rules as in Packer/rsync: `src/` copies a folder's contents into dest, `src`
 * copies the folder itself into dest; a file goes to dest, or into dest when it ends in "/".
 * What landed is verified by a SHA-256 of the stream computed on both ends.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { pack } from 'tar-stream';
import type { Pack } from 'tar-stream';
import { PassThrough } from 'node:stream';
import type { ActivityDeps } from './runtime/deps';
import { contextRoot } from './runtime/context-files';
import { runOnDroplet } from './remote/run-on-droplet';
import { shq } from './remote/shell-quote';
import { WORK_DIR } from './remote/script';
import type { UploadInput, UploadResult } from '../contract/steps';
import { planUpload } from './image/upload-plan';
import type { Entry } from './image/upload-plan';

export { planUpload };

export function upload(deps: ActivityDeps) {
  return async (input: UploadInput): Promise<UploadResult> => {
    const root = await contextRoot(deps, input.contextDigest);
    const { src, dest, mode } = input.upload;
    const { base, entries } = await planUpload(root, src, dest, mode);
    const files = entries.filter((e) => e.type === 'file');
    const tar = pack();
    // Hash the stream as it leaves; the droplet hashes what it receives, in the same pass as tar
    // extracts it: equal digests and tar's exit 0 mean every byte landed, with no second read.
    const sent = createHash('sha256');
    const wire = new PassThrough();
    tar.on('data', (c: unknown) => sent.update(c as Buffer));
    tar.pipe(wire);
    const feeding = feed(tar, entries);
    const sumFile = `${WORK_DIR}/upload-${input.step}.sha256`;
    const r = await runOnDroplet(
      deps,
      input.droplet,
      input.step,
      `upload ${src} to ${dest}`,
      // --no-same-owner: files belong to root on the droplet, whoever owned them here.
      [
        'set -o pipefail',
        `mkdir -p ${WORK_DIR} ${shq(base)} && rm -f ${sumFile}`,
        `tee >(sha256sum > ${sumFile}) | tar -x --no-same-owner -C ${shq(base)} -f -`,
        'rc=$?',
        `for i in $(seq 200); do [ -s ${sumFile} ] && break; sleep 0.05; done`,
        `cat ${sumFile}; exit $rc`,
      ].join('\n'),
      { stdin: wire, capture: true },
    );
    await feeding;
    const received = /^([0-9a-f]{64})/m.exec(r.output)?.[1];
    const expected = sent.digest('hex');
    if (received !== expected)
      throw new Error(
        `upload of ${src} arrived corrupted (sha256 ${received ?? 'missing'} on the droplet, ${expected} sent)`,
      );
    return { files: files.length, bytes: files.reduce((n, f) => n + f.size, 0), verified: files.length };
  };
}

const SMALL = 4 << 20;

/** Streams the entries into the tar: small files read ahead in parallel, big ones streamed. */
async function feed(tar: Pack, entries: Entry[]): Promise<void> {
  const reads = new Map<number, Promise<Buffer>>();
  const prefetch = (from: number) => {
    for (let j = from; j < entries.length && reads.size < 32; j++) {
      const e = entries[j]!;
      if (e.type === 'file' && e.size <= SMALL && !reads.has(j)) reads.set(j, fs.readFile(e.abs));
    }
  };
  try {
    for (const [i, e] of entries.entries()) {
      const header = { name: e.name, mode: e.mode, mtime: new Date(), uid: 0, gid: 0 };
      if (e.type === 'directory') {
        tar.entry({ ...header, type: 'directory' });
        continue;
      }
      prefetch(i);
      const pending = reads.get(i);
      if (pending) {
        const body = await pending;
        reads.delete(i);
        await new Promise<void>((resolve, reject) =>
          tar.entry({ ...header, type: 'file', size: body.length }, body, (err) => (err ? reject(err) : resolve())),
        );
        continue;
      }
      await new Promise<void>((resolve, reject) => {
        const sink = tar.entry({ ...header, type: 'file', size: e.size }, (err) => (err ? reject(err) : resolve()));
        const rs = createReadStream(e.abs, { highWaterMark: 1 << 20 });
        rs.on('error', reject);
        rs.pipe(sink);
      });
    }
    tar.finalize();
  } catch (err) {
    tar.destroy(err as Error);
    throw err;
  }
}
