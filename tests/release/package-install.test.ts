/**
 * The package installs as a package: `npm pack` (whose prepack builds the code and the workflow
 * bundle) gives a tarball that, installed into an empty folder, provides `client` and its
 * `image-forge` alias, which run there from the installed code alone (not this checkout): --help,
 * --version, validate of an example spec shipped in the package, and the worker's prebuilt
 * workflow bundle. The install pulls the dependencies from the npm registry (a minute or so).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO } from '../support/temporal';

const packDir = mkdtempSync(path.join(os.tmpdir(), 'pack-'));
const installDir = mkdtempSync(path.join(os.tmpdir(), 'install-'));
const installed = path.join(installDir, 'node_modules', 'image-forge');
const version = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

function npm(args: string[], cwd: string) {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, `npm ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Runs a command installed in installDir's node_modules/.bin, from a folder outside the checkout. */
function bin(name: string, args: string[]) {
  return spawnSync(path.join(installDir, 'node_modules', '.bin', name), args, {
    cwd: installDir,
    encoding: 'utf8',
    // Nothing of the checkout's toolchain on the way: the installed package finds its own Node.
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: installDir },
    timeout: 120_000,
  });
}

before(() => {
  npm(['pack', '--pack-destination', packDir, '--no-audit', '--no-fund'], REPO);
  const started = Date.now();
  npm(['install', '--no-audit', '--no-fund', path.join(packDir, `image-forge-${version}.tgz`)], installDir);
  console.log(`# npm install of the tarball took ${Math.round((Date.now() - started) / 1000)} s`);
});

after(() => {
  rmSync(packDir, { recursive: true, force: true });
  rmSync(installDir, { recursive: true, force: true });
});

test('the tarball carries the compiled code and the workflow bundle, not the tests', () => {
  for (const f of ['bin/client', 'dist/client/main.js', 'dist/worker/main.js', 'dist/workflows.bundle.js'])
    assert.ok(existsSync(path.join(installed, f)), `${f} is not in the package`);
  assert.ok(existsSync(path.join(installed, 'dist/workflows.bundle.sources')));
  assert.ok(existsSync(path.join(installed, 'activities/image/check.sh')), "the image check's script");
  assert.ok(!existsSync(path.join(installed, 'dist/tests')), 'no compiled tests');
  assert.ok(!existsSync(path.join(installed, 'workflows/build.ts')), 'no sources');
});

test('client and image-forge run from the installed package: --help, --version, validate', () => {
  for (const name of ['client', 'image-forge']) {
    const help = bin(name, ['--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /start-build/);
    assert.match(help.stdout, /worker/);
    const v = bin(name, ['--version']);
    assert.equal(v.status, 0, v.stderr);
    // The project's Node 24 (the `node` dependency, hoisted), not the machine's.
    assert.match(
      v.stdout,
      new RegExp(`^image-forge ${version.replace(/\./g, '\\.')} \\(Temporal TypeScript SDK \\S+, Node 24\\.`),
    );
  }
  const spec = path.join(installed, 'examples/lamp/build.yaml');
  const r = bin('client', ['validate', spec]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /build\.yaml: valid \(\d+ steps/);
});

test('the installed worker uses the prebuilt workflow bundle (it matches the installed code)', () => {
  const r = spawnSync(
    path.join(installDir, 'node_modules', '.bin', 'node'),
    [
      '-e',
      `console.log(JSON.stringify(require(${JSON.stringify(path.join(installed, 'dist/worker/workflow-bundle.js'))}).workflowCode().prebuilt))`,
    ],
    { cwd: installDir, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'true');
});
