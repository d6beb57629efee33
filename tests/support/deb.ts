/**
 * A tiny Debian package made on the spot (dpkg-deb), for tests that need one package in versions
 * the lab's mirror does not have: it installs one file and a machine-readable (DEP-5) copyright
 * file stating `license`.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

export async function makeDeb(dir: string, pkg: { name: string; version: string; license: string }): Promise<string> {
  const root = path.join(dir, `${pkg.name}_${pkg.version}`);
  const doc = path.join(root, 'usr/share/doc', pkg.name);
  await fs.mkdir(path.join(root, 'DEBIAN'), { recursive: true });
  await fs.mkdir(doc, { recursive: true });
  await fs.writeFile(
    path.join(root, 'DEBIAN/control'),
    [
      `Package: ${pkg.name}`,
      `Version: ${pkg.version}`,
      'Architecture: all',
      'Maintainer: image-forge tests <tests@image-forge.invalid>',
      `Description: ${pkg.name}, made by a test`,
      '',
    ].join('\n'),
  );
  await fs.writeFile(
    path.join(doc, 'copyright'),
    [
      'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
      `Upstream-Name: ${pkg.name}`,
      '',
      'Files: *',
      'Copyright: 2026 image-forge tests',
      `License: ${pkg.license}`,
      '',
    ].join('\n'),
  );
  await fs.writeFile(path.join(doc, 'VERSION'), `${pkg.version}\n`);
  const deb = `${root}.deb`;
  await promisify(execFile)('dpkg-deb', ['--build', '--root-owner-group', root, deb]);
  await fs.rm(root, { recursive: true });
  return deb;
}
