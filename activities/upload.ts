/**
 * upload: a file or a folder tree from the build context to the droplet, as one tar stream over
 * one SSH channel (not one request per file).
 * Trailing-slash rules as in Packer/rsync: `src/` copies a folder's contents into dest, `src`
 * copies the folder itself into dest; a file goes to dest, or into dest when it ends in "/".
 * What landed is verified: the droplet hashes each file where tar put it, and each must match the
 * file's digest in the context the client sent (taken when the worker unpacked it, so checked end to
 * end, the worker's disk included): a missing, short or altered file fails the step.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream';
import { pack } from 'tar-stream';
import type { ActivityDeps } from './runtime/deps';
import { contextFiles } from './runtime/context-files';
import { runOnDroplet } from './remote/run-on-droplet';
import { expectedDigest, fileListPreamble, uploadCommand } from './remote/upload-command';
import type { UploadInput, UploadResult } from '../contract/steps';
import { planUpload } from './image/upload-plan';
import { feedTar } from './image/upload-feed';
import { coalesce } from './remote/coalesce';

export { planUpload };

export function upload(deps: ActivityDeps) {
  return async (input: UploadInput): Promise<UploadResult> => {
    const ctx = await contextFiles(deps, input.contextDigest);
    const { src, dest, mode } = input.upload;
    const { base, entries } = await planUpload(ctx.root, src, dest, mode);
    // planUpload gives real paths (symlinks resolved); the index names files from the context's root.
    const realRoot = await fs.realpath(ctx.root);
    const known = (abs: string) => ctx.files.get(path.relative(realRoot, abs).split(path.sep).join('/'));
    const files = entries.filter((e) => e.type === 'file');
    const tar = pack();
    // The channel's input: the file list, then the tar (small pieces joined, big reads as they are).
    const wire = coalesce();
    wire.write(fileListPreamble(files.map((f) => f.name)));
    // pipeline, not pipe: a failed read destroys the whole chain, so the droplet's side ends too.
    pipeline(tar, wire, () => undefined);
    const feeding = feedTar(tar, entries, known);
    // A failed read ends the stream early: tar on the droplet then fails too, and the read's error is the one reported.
    feeding.catch(() => undefined);
    const r = await runOnDroplet(deps, input.droplet, input.step, `upload ${src} to ${dest}`, uploadCommand(base), {
      stdin: wire,
      capture: true,
    }).catch(async (err: unknown) => {
      await feeding;
      throw err;
    });
    const expected = expectedDigest(await feeding);
    const received = /^([0-9a-f]{64})/m.exec(r.output)?.[1];
    if (received !== expected)
      throw new Error(
        `upload of ${src} did not land as sent (file digests ${received ?? 'missing'} on the droplet, ${expected} sent)`,
      );
    return { files: files.length, bytes: files.reduce((n, f) => n + f.size, 0), verified: files.length };
  };
}
