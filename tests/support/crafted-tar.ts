/** Tar archives as a hostile or unusual client could send them (any name, link or mode), for context tests. */
import { pack } from 'tar-stream';
import type { Header } from 'tar-stream';

export type TarHeaders = Partial<Header> & { name: string };

export async function craftedTar(entries: [TarHeaders, string?][]): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve) => tar.on('end', () => resolve()));
  for (const [header, body] of entries) tar.entry(header as Header, body ?? '');
  tar.finalize();
  await done;
  return Buffer.concat(chunks);
}

/**
 * Thirteen symlinks, each inside the context by its text: l0 -> ., l1 -> l0/.., l2 -> l1/.., …
 * Followed one after the other, l1 is the context's parent and l12 is / on any worker.
 */
export function linkChain(): [TarHeaders][] {
  const chain: [TarHeaders][] = [[{ name: 'l0', type: 'symlink', linkname: '.' }]];
  for (let i = 1; i <= 12; i++) chain.push([{ name: `l${i}`, type: 'symlink', linkname: `l${i - 1}/..` }]);
  return chain;
}
