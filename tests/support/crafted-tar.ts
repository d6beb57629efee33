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
