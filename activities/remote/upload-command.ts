/**
 * The droplet's side of an upload: a NUL-separated list of the files (its byte length on the first
 * line), then the tar stream. tar extracts; then each listed file is hashed where it landed, and
 * the hashes, one a line in list order, are hashed once more: one digest for the worker to compare.
 */
import { createHash } from 'node:crypto';
import { shq } from './shell-quote';

/** What goes on stdin before the tar stream: the list's length, a newline, the list. */
export function fileListPreamble(names: string[]): Buffer {
  // './' first: a name that starts with '-' is never read as an option.
  const list = Buffer.from(names.map((n) => `./${n}\0`).join(''));
  return Buffer.concat([Buffer.from(`${list.length}\n`), list]);
}

export function uploadCommand(base: string): string {
  const b = shq(base);
  return [
    'set -o pipefail',
    'list=$(mktemp) || exit',
    `trap 'rm -f "$list"' EXIT`,
    // bash reads a pipe byte by byte and head -c reads no further than asked: tar gets the rest.
    'IFS= read -r n && head -c "$n" > "$list" || exit',
    // --no-same-owner: files belong to root on the droplet, whoever owned them here.
    // -b 2048 -B: 1 MiB reads, not tar's default 10 KiB (a 256 MiB file lands in 0.3 s, not 0.6–0.9 s).
    `mkdir -p ${b} && tar -x --no-same-owner -b 2048 -B -C ${b} -f - || exit`,
    // openssl uses the CPU's SHA instructions where there are some; coreutils' sha256sum never does.
    // Both print '[\\]<hash> <name>': only the hash is kept.
    `cd ${b} && if command -v openssl >/dev/null; then xargs -0r openssl dgst -sha256 -r < "$list"; else xargs -0r sha256sum < "$list"; fi | sed 's/^\\\\//; s/ .*//' | sha256sum`,
  ].join('\n');
}

/** The digest uploadCommand prints when every file landed as the worker read it. */
export function expectedDigest(fileDigests: string[]): string {
  return createHash('sha256')
    .update(fileDigests.map((d) => `${d}\n`).join(''))
    .digest('hex');
}
