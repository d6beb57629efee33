/**
 * Links in a build context (issue #28): packing keeps a symlink as a symlink and refuses one that
 * leads out of the spec's folder; unpacking follows every link through the tree the archive
 * builds, refuses a chain that leads out — whatever uses it — with its refusal (not the
 * cleanup's error), as a final failure, and leaves nothing of it in the worker's cache.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Parser } from 'tar';
import type { ReadEntry } from 'tar';
import { contextKey, digestOf, packContext, publishContext } from '../../context/pack';
import { LinkOutsideError } from '../../context/pack-walk';
import { ContextError, fetchContext } from '../../context/unpack';
import { LocalDirStore } from '../../context/store';
import { toFailure } from '../../activities/runtime/failures';
import { planUpload } from '../../activities/image/upload-plan';
import { craftedTar, linkChain } from '../support/crafted-tar';
import type { TarHeaders } from '../support/crafted-tar';
import { tempDirs } from '../support/temp-dirs';

const tmpDir = tempDirs();

/** Each entry's type and link target, by name, as node-tar reads the archive. */
async function listArchive(bytes: Buffer): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const parser = new Parser({
    onReadEntry: (e: ReadEntry) => {
      out.set(e.path, e.linkpath ? `${e.type} ${e.linkpath}` : e.type);
      e.resume();
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('end', () => resolve());
    parser.on('error', reject);
    parser.end(bytes);
  });
  return out;
}

/** Stores a crafted archive under its digest; returns the store and the digest. */
async function stored(entries: [TarHeaders, string?][]): Promise<{ store: LocalDirStore; digest: string }> {
  const bytes = await craftedTar(entries);
  const store = new LocalDirStore(await tmpDir('links-store-'));
  const digest = digestOf(bytes);
  await store.put(contextKey(digest), bytes);
  return { store, digest };
}

test('packing keeps a link inside the folder as a link, and what it leads to; uploads land its content', async () => {
  const dir = await tmpDir('links-spec-');
  await fs.mkdir(path.join(dir, 'shared'));
  await fs.mkdir(path.join(dir, 'files'));
  await fs.writeFile(path.join(dir, 'shared/app.conf'), 'port = 80\n');
  await fs.symlink('../shared/app.conf', path.join(dir, 'files/app.conf'));
  await fs.symlink('../shared', path.join(dir, 'files/more'));
  // A link to a link, and an absolute one into the folder: packed pointing at the real place.
  await fs.symlink('more/app.conf', path.join(dir, 'files/latest'));
  await fs.symlink(path.join(dir, 'shared'), path.join(dir, 'files/abs'));
  await fs.writeFile(path.join(dir, 'build.yaml'), 'name: x\n');

  const ctx = await packContext(dir, ['files/', 'build.yaml']);
  const listed = await listArchive(ctx.bytes);
  assert.equal(listed.get('files/app.conf'), 'SymbolicLink ../shared/app.conf', 'a link, not the file');
  assert.equal(listed.get('files/more'), 'SymbolicLink ../shared');
  assert.equal(listed.get('files/latest'), 'SymbolicLink ../shared/app.conf');
  assert.equal(listed.get('files/abs'), 'SymbolicLink ../shared');
  assert.equal(listed.get('shared/app.conf'), 'File', 'what the link leads to travels too');
  assert.equal(ctx.files, 2);

  // The worker accepts it, and an upload of the folder lands the link's content (as before).
  const store = new LocalDirStore(await tmpDir('links-store-'));
  await publishContext(store, ctx);
  const unpacked = await fetchContext(store, ctx.digest, await tmpDir('links-cache-'));
  assert.equal(await fs.readlink(path.join(unpacked.root, 'files/app.conf')), '../shared/app.conf');
  const { entries } = await planUpload(unpacked.root, 'files/', '/etc/app/');
  const conf = entries.find((e) => e.name === 'app.conf');
  assert.equal(conf?.type, 'file');
  assert.equal(await fs.readFile(conf.abs, 'utf8'), 'port = 80\n');
  assert.ok(entries.some((e) => e.name === 'more/app.conf' && e.type === 'file'));
});

test('packing refuses a link that leads out of the folder, naming it and its target', async () => {
  const outside = await tmpDir('links-home-');
  await fs.writeFile(path.join(outside, 'credentials'), 'aws_secret_access_key = not-for-droplets\n');
  const dir = await tmpDir('links-spec-');
  await fs.mkdir(path.join(dir, 'files'));
  await fs.symlink(path.join(outside, 'credentials'), path.join(dir, 'files/app.conf'));
  await fs.symlink('../..', path.join(dir, 'up'));
  for (const [paths, link, target] of [
    [['files/app.conf'], 'files/app.conf', path.join(outside, 'credentials')],
    [['files/'], 'files/app.conf', path.join(outside, 'credentials')],
    [['up/etc/passwd'], 'up', '../..'],
  ] as const) {
    await assert.rejects(packContext(dir, [...paths]), (err: unknown) => {
      assert.ok(err instanceof LinkOutsideError, String(err));
      assert.equal(
        err.message,
        `${link} links to ${target}, outside the spec's folder ${dir}: copy the file into the folder instead of linking to it`,
      );
      return true;
    });
  }
});

const chainRefusal = /build context refused: l1 links to l0\/\.\., which leads outside the build context/;
const hostileChains: [string, [TarHeaders, string?][], RegExp][] = [
  ['the chain alone', linkChain(), chainRefusal],
  [
    'the chain with a file written through it',
    [...linkChain(), [{ name: 'l12/tmp/forge-escaped', mode: 0o644 }, 'x']],
    /l12\/tmp\/forge-escaped is written through the symlink l12/,
  ],
  [
    'the chain with a hard link through it',
    [...linkChain(), [{ name: 'passwd', type: 'link', linkname: 'l12/etc/passwd' }]],
    /passwd is a hard link through the symlink l12/,
  ],
];

test('unpacking refuses a chain of links that leads out: its refusal, final, nothing left in the cache', async () => {
  for (const [what, entries, refusal] of hostileChains) {
    const { store, digest } = await stored([[{ name: 'build.yaml', mode: 0o644 }, 'name: x\n'], ...entries]);
    const cache = await tmpDir('links-cache-');
    const err = await fetchContext(store, digest, cache).then(
      () => assert.fail(`${what}: accepted`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ContextError, `${what}: ${String(err)}`);
    assert.match(err.message, refusal, what);
    assert.doesNotMatch(err.message, /ENOTEMPTY/, what);
    assert.equal(toFailure(err).nonRetryable, true, `${what}: not retried`);
    assert.deepEqual(await fs.readdir(cache), [], `${what}: no folder of it (.tmp-*) is left`);
  }
  await assert.rejects(fs.stat('/tmp/forge-escaped'), 'nothing was written outside');
});

test('unpacking accepts links that stay inside, however they get there', async () => {
  const { store, digest } = await stored([
    [{ name: 'sub/', type: 'directory', mode: 0o755 }],
    [{ name: 'sub/a.conf', mode: 0o644 }, 'a\n'],
    [{ name: 'l0', type: 'symlink', linkname: '.' }],
    [{ name: 'sub/up', type: 'symlink', linkname: '../sub/..' }],
    [{ name: 'sub/deep/', type: 'directory', mode: 0o755 }],
    [{ name: 'sub/later', type: 'symlink', linkname: 'deep' }],
    // Through a link to a folder, then up from where that link leads.
    [{ name: 'sub/early', type: 'symlink', linkname: 'later/../a.conf' }],
  ]);
  const ctx = await fetchContext(store, digest, await tmpDir('links-cache-'));
  assert.equal(await fs.readFile(path.join(ctx.root, 'sub/early'), 'utf8'), 'a\n');
  assert.equal(await fs.readlink(path.join(ctx.root, 'sub/up')), '../sub/..');
  assert.deepEqual([...ctx.files.keys()], ['sub/a.conf']);
});

test('an extraction node-tar stops is cleaned up after it stops writing: its error, no .tmp-* left', async () => {
  // Deeper than node-tar's limit (the scan lets it through): node-tar fails it and goes on writing the rest.
  const deep = Array.from({ length: 70 }, (_, i) => `d${i}`).join('/');
  const rest: [TarHeaders, string][] = Array.from({ length: 400 }, (_, i) => [
    { name: `many/f${i}`, mode: 0o644 },
    'x'.repeat(2048),
  ]);
  const { store, digest } = await stored([[{ name: `${deep}/f`, mode: 0o644 }, 'x'], ...rest]);
  const cache = await tmpDir('links-cache-');
  const err = await fetchContext(store, digest, cache).then(
    () => assert.fail('accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ContextError, String(err));
  assert.match(err.message, /could not be unpacked: .*excessively deep/);
  assert.equal(toFailure(err).nonRetryable, true);
  assert.deepEqual(await fs.readdir(cache), [], 'no .tmp-* folder is left');
});
