/**
 * Sends a file or a folder tree from the build context to the droplet as one tar stream over one
 * SSH channel (not one request per file), and checks it landed: the droplet hashes each file where
 * tar put it, and each must match the file's digest in the context the client sent (taken when the
 * worker unpacked it, so checked end to end, the worker's disk included). Trailing-slash rules as
 * in Packer/rsync (image/upload-plan.ts). The upload step sends the spec's files; the ansible step
 * its playbook's folder.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream';
import { pack } from 'tar-stream';
import type { ActivityDeps } from '../runtime/deps';
import { contextFiles } from '../runtime/context-files';
import { planUpload } from './upload-plan';
import { feedTar } from './upload-feed';
import { runOnDroplet } from '../remote/run-on-droplet';
import { coalesce } from '../remote/coalesce';
import { expectedDigest, fileListPreamble, uploadCommand } from '../remote/upload-command';
import type { DropletRef, UploadResult } from '../../contract/steps';

export interface Tree {
  contextDigest: string;
  src: string;
  dest: string;
  mode?: string | undefined;
}

/**
 * `title` heads the step log; `before` is a shell line run on the droplet first (a step clearing
 * the folder a retried attempt left, say).
 */
export async function sendTree(
  deps: ActivityDeps,
  ref: DropletRef,
  step: string,
  tree: Tree,
  opts: { title?: string; before?: string } = {},
): Promise<UploadResult> {
  const { src, dest, mode } = tree;
  const ctx = await contextFiles(deps, tree.contextDigest);
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
  const command = [...(opts.before ? [opts.before] : []), uploadCommand(base)].join('\n');
  const r = await runOnDroplet(deps, ref, step, opts.title ?? `upload ${src} to ${dest}`, command, {
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
}
