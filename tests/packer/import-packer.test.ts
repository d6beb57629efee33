/**
 * `client import-packer`: one fixture per Packer construct (tests/packer/fixtures/<construct>/),
 * each converted in a temporary copy, its spec content checked, and the written spec loaded with
 * loadSpec (schema and files) — the same check as `client validate`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { importPacker } from '../../client/commands/import-packer';
import type { ImportOptions } from '../../client/commands/import-packer';
import { UserError } from '../../contract/user-error';
import { loadSpec } from '../../spec/load';
import { convertTemplate, placeSecrets, renderSpec } from '../../packer/convert';
import type { SpecObject } from '../../packer/convert';
import { evaluate } from '../../packer/template-functions';
import type { TemplateContext } from '../../packer/template-functions';
import { planUpload } from '../../activities/upload';

const REPO = path.resolve(__dirname, '..', '..', '..');
const FIXTURES = path.join(REPO, 'tests', 'packer', 'fixtures');
const NODE = process.execPath;
const CLIENT = path.join(REPO, 'dist', 'client', 'main.js');

async function fixture(name: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `packer-${name}-`));
  await fs.cp(path.join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

/** Converts a fixture in a temporary copy; the written spec must load (schema + files). */
async function convert(name: string, opts: Partial<ImportOptions> = {}) {
  const dir = await fixture(name);
  const result = await importPacker({ template: 'template.json', cwd: dir, vendor: 'acme', env: {}, ...opts });
  const file = result.out;
  const text = await fs.readFile(file, 'utf8');
  const loaded = await loadSpec(file);
  return { dir, result, text, spec: parse(text) as SpecObject, loaded };
}

/** The UserError a conversion fails with, and proof that nothing was written. */
async function failure(name: string, opts: Partial<ImportOptions> = {}): Promise<string> {
  const dir = await fixture(name);
  try {
    await importPacker({ template: 'template.json', cwd: dir, vendor: 'acme', env: {}, ...opts });
  } catch (err) {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    assert.equal(existsSync(path.join(dir, opts.out ?? 'build.yaml')), false, 'nothing may be written');
    return err.message;
  }
  assert.fail('the conversion succeeded');
}

function runBash(script: string, env: Record<string, string> = {}): { code: number | null; out: string } {
  const r = spawnSync('bash', ['-c', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
  });
  return { code: r.status, out: r.stdout };
}

test('builder: image, region, size, tags, snapshot name, tags and regions', async () => {
  const { spec, loaded, result } = await convert('builder');
  assert.deepEqual(spec.droplet, {
    image: 'ubuntu-24-04-x64',
    region: 'sfo3',
    size: 's-2vcpu-2gb',
    tags: ['acme', 'build', 'acme:builder'],
  });
  assert.deepEqual(spec.snapshot, { name: 'acme-app-v1.2', tags: ['acme-app'], regions: ['nyc3', 'ams3'] });
  assert.equal(spec.name, 'acme-app-v1-2', 'the name comes from the snapshot name');
  assert.equal(spec.vendor, 'acme');
  assert.equal(spec.env, undefined, 'the builder-only api token is not an env entry');
  assert.equal(loaded.plan.snapshot.name, 'acme-app-v1.2');
  assert.ok(result.notes.some((n) => /api_token \(the worker uses its own DigitalOcean token\)/.test(n)));
  assert.ok(result.notes.some((n) => /monitoring/.test(n)));
});

test('builder: without --vendor the vendor is a placeholder, with a note', async () => {
  const { spec, result } = await convert('builder', { vendor: undefined });
  assert.equal(spec.vendor, spec.name);
  assert.ok(result.notes.some((n) => /^vendor: ".*" is a placeholder/.test(n)));
});

test('file provisioners: trailing-slash semantics are kept, and files land where Packer puts them', async () => {
  const { spec, dir, loaded } = await convert('files');
  assert.deepEqual(spec.steps, [
    { upload: { src: 'files/etc/', dest: '/etc/' } },
    { upload: { src: 'files/app', dest: '/opt/' } },
    { upload: { src: 'files/motd.txt', dest: '/etc/motd' } },
    { upload: { src: 'files/motd.txt', dest: '/root/' } },
    { upload: { src: 'files/app/', dest: '/srv/www' } },
    { upload: { src: 'files/motd.txt', dest: '/var/backup/' } },
    { upload: { src: 'files/app/index.html', dest: '/var/backup/' } },
  ]);
  // Where each upload lands on the droplet, by the upload activity's own planner.
  const landed: string[][] = [];
  for (const s of loaded.plan.steps) {
    assert.equal(s.kind, 'upload');
    if (s.kind !== 'upload') continue;
    const { base, entries } = await planUpload(dir, s.src, s.dest);
    landed.push(entries.filter((e) => e.type === 'file').map((e) => path.posix.join(base, e.name)));
  }
  assert.deepEqual(landed, [
    ['/etc/app/app.conf'], // folder with "/": its contents into /etc/
    ['/opt/app/index.html'], // folder without "/": the folder itself into /opt/
    ['/etc/motd'], // file to an exact path
    ['/root/motd.txt'], // file into a folder
    ['/srv/www/index.html'], // {{template_dir}}/files/app/: contents into /srv/www
    ['/var/backup/motd.txt'],
    ['/var/backup/index.html'],
  ]);
});

test('shell: inline (one step, set -e), script, scripts and environment_vars', async () => {
  const { spec, loaded, result } = await convert('shell');
  assert.deepEqual(spec.steps, [
    { run: 'set -e\necho one\ncd /tmp\necho two > two.txt' },
    { script: 'scripts/setup.sh' },
    { script: 'scripts/a.sh' },
    { script: 'scripts/b.sh' },
    { run: 'export MODE=first\nset -e\necho $MODE' },
    { run: "export MODE='second value'\nset -e\necho $MODE" },
  ]);
  assert.deepEqual(spec.env, {
    APP_PORT: '8080',
    GREETING: 'hello world',
    EMPTY: '',
    DEBIAN_FRONTEND: 'noninteractive',
  });
  assert.deepEqual(loaded.plan.env.APP_PORT, { value: '8080' });
  assert.ok(result.notes.some((n) => /env MODE: set to different values/.test(n)));
  assert.ok(result.notes.some((n) => /applies to every step/.test(n)));
});

test('shell: inline runs as one script with "sh -e" semantics; valid_exit_codes and inline_shebang', async () => {
  const { spec, result } = await convert('shell-options');
  const [first, second] = spec.steps as { run: string }[];
  assert.match(first!.run, /case \$rc in 0\|1\) exit 0 ;; esac/);
  assert.equal(second!.run, 'set -x\nfalse\necho still here', '"/bin/bash -x" has no -e');
  assert.ok(result.notes.some((n) => /execute_command dropped/.test(n)));
  assert.ok(result.notes.some((n) => /dropped pause_before/.test(n)));

  // What the generated commands do, run with bash as the tool runs them.
  const inline = (lines: string[], extra: Record<string, unknown> = {}) => {
    const c = convertTemplate(
      { builders: [{ type: 'digitalocean', image: 'x' }], provisioners: [{ type: 'shell', inline: lines, ...extra }] },
      { templateFile: '/t/template.json', root: '/t', outDir: '/t' },
    );
    assert.deepEqual(c.problems, []);
    return (c.spec.steps[0] as { run: string }).run;
  };
  const stops = runBash(inline(['false', 'echo after']));
  assert.equal(stops.code, 1);
  assert.equal(stops.out, '', 'set -e stops at the first failing command, as /bin/sh -e does');
  assert.equal(runBash(inline(['export X=1', 'echo "x=$X"'])).out, 'x=1\n', 'the commands share one shell');
  assert.equal(runBash(inline(['echo ok', 'exit 1'], { valid_exit_codes: [0, 1] })).code, 0);
  assert.equal(runBash(inline(['exit 3'], { valid_exit_codes: [0, 1] })).code, 3);
  assert.equal(runBash(inline(['true'], { valid_exit_codes: [2] })).code, 1, '0 is a failure when it is not listed');
  assert.equal(
    runBash(inline(['read -r line || echo "stdin is empty"'], { valid_exit_codes: [0, 2] }), {}).out,
    'stdin is empty\n',
  );
});

test('variables: defaults, --var, {{env}}, {{timestamp}} in the snapshot name, undeclared → ""', async () => {
  const env = { FORGE_TEST_REGION: 'ams3', FORGE_TEST_DATA: '/srv/data' };
  const { spec, result } = await convert('variables', { env, vars: { app_version: '2.0.0' } });
  assert.equal(spec.droplet.region, 'ams3', 'a variable whose default reads the environment');
  assert.equal(spec.name, 'myapp-2-0-0', 'from the snapshot name, with the --var value');
  assert.equal(spec.snapshot, undefined, 'a snapshot name with {{timestamp}} is left to the tool');
  assert.deepEqual(spec.steps, [{ run: 'set -e\necho installing 2.0.0-stable\necho built by digitalocean for ACME' }]);
  assert.deepEqual(spec.env, { VERSION: '2.0.0', DATA_DIR: '/srv/data', UNDECLARED: '' });
  assert.ok(
    result.notes.some((n) =>
      /snapshot_name "myapp-2\.0\.0-\{\{timestamp\}\}" → name: myapp-2-0-0: the tool names each snapshot <name>-<UTC timestamp> \(YYYYMMDDThhmmssZ, e\.g\. myapp-2-0-0-20250131T235959Z\) in place of \{\{timestamp\}\}/.test(
        n,
      ),
    ),
  );
  assert.ok(result.notes.some((n) => /"not_declared" is not declared/.test(n)));
});

test('variables: a missing environment variable is a problem naming it (or --var fixes it)', async () => {
  const msg = await failure('variables', { env: { FORGE_TEST_DATA: '/d' } });
  assert.match(
    msg,
    /template\.json:\d+:\d+: builders\[0\]\.region: variables\.region: .*FORGE_TEST_REGION is not set.*--var region=VALUE/,
  );
  assert.equal(msg.split('\n').filter((l) => l.startsWith('  ')).length, 1, 'one problem');
  const { spec } = await convert('variables', { env: { FORGE_TEST_DATA: '/d' }, vars: { region: 'lon1' } });
  assert.equal(spec.droplet.region, 'lon1');
});

test('sensitive variables: worker-side env entries, $NAME references, never their values', async () => {
  const { spec, text, loaded, result } = await convert('sensitive');
  assert.deepEqual(spec.env, {
    LICENSE_KEY: { fromWorker: 'LICENSE_KEY' },
    DB_PASSWORD: { fromWorker: 'DB_PASSWORD' },
    DB_USER: 'app',
  });
  assert.deepEqual(spec.steps, [
    { run: 'set -e\n/usr/local/bin/activate --key="${LICENSE_KEY}"\necho "pw=${DB_PASSWORD}" > /root/.pw' },
    { script: 'scripts/db.sh' },
  ]);
  assert.doesNotMatch(text, /LICENSE-DEFAULT-123|hunter2|DIGITALOCEAN_TOKEN|DO_TOKEN/);
  assert.deepEqual(loaded.plan.env.DB_PASSWORD, { fromWorker: 'DB_PASSWORD' });
  assert.ok(result.notes.some((n) => /"do_token": no provisioner uses it/.test(n)));
  // The reference expands to the worker's value, spaces and quotes intact.
  const run = (spec.steps[0] as { run: string }).run
    .replace('/usr/local/bin/activate', 'echo')
    .replace(' > /root/.pw', '');
  assert.equal(runBash(run, { LICENSE_KEY: "a b'c", DB_PASSWORD: 'p w' }).out, "--key=a b'c\npw=p w\n");
});

test('sensitive variables: where a reference cannot be expressed safely, it is a problem; --var cannot set one', async () => {
  const msg = await failure('sensitive-unsafe');
  assert.match(msg, /provisioners\[0\]\.inline: the sensitive variable "license_key" is used inside single quotes/);
  assert.match(msg, /provisioners\[1\]\.environment_vars\[0\]: LICENSE_URL mixes the sensitive variable "license_key"/);
  assert.doesNotMatch(msg, /LICENSE-DEFAULT-123/);
  const viaVar = await failure('sensitive', { vars: { license_key: 'x' } });
  assert.match(viaVar, /--var license_key=…: "license_key" is sensitive/);
});

test('order: uploads and commands stay interleaved as in the template', async () => {
  const { spec, loaded } = await convert('order');
  assert.deepEqual(spec.steps, [
    { upload: { src: 'files/first.conf', dest: '/etc/first.conf' } },
    { run: 'set -e\ncat /etc/first.conf' },
    { upload: { src: 'files/second.conf', dest: '/etc/second.conf' } },
    { script: 'scripts/use-second.sh' },
    { upload: { src: 'files/', dest: '/opt/order/' } },
    { run: 'set -e\nls /opt/order' },
  ]);
  assert.deepEqual(
    loaded.plan.steps.map((s) => s.kind),
    ['upload', 'script', 'upload', 'script', 'upload', 'script'],
  );
});

test('built-in steps: cloud-init waits, cleanup, image check and leading apt installs are recognised, with notes', async () => {
  const { spec, result, loaded } = await convert('builtins');
  assert.deepEqual(spec.apt, { packages: ['nginx', 'ufw'] }, 'apt lines before any other step map to the install step');
  assert.deepEqual(spec.steps, [
    { run: 'set -e\nufw allow http' },
    { upload: { src: 'files/site.conf', dest: '/etc/nginx/conf.d/site.conf' } },
    { run: 'set -e\napt-get -y install redis-server' }, // after an upload: order matters, kept as a command
    { script: 'scripts/app.sh' },
  ]);
  assert.equal(spec.env, undefined, "the apt provisioner's DEBIAN_FRONTEND went with it");
  const notes = result.notes.join('\n');
  assert.match(notes, /provisioners\[0\] waits for cloud-init: dropped, the tool waits for cloud-init itself/);
  assert.match(notes, /provisioners\[2\]: its cloud-init wait dropped .* the other commands kept/);
  assert.match(notes, /provisioners\[5\]\.scripts\[0\] \(wait-boot\.sh\) waits for cloud-init/);
  assert.match(notes, /\(90-cleanup\.sh\) is DigitalOcean's cleanup: dropped/);
  assert.match(notes, /\(99-img-check\.sh\) is DigitalOcean's image check: dropped/);
  assert.match(notes, /apt-get update\/upgrade\/install mapped to the built-in install step/);
  assert.deepEqual(loaded.plan.apt, { upgrade: true, packages: ['nginx', 'ufw'] });
});

test('unconvertible: one message naming each problem with line:column and JSON path; nothing written', async () => {
  const msg = await failure('unconvertible');
  const lines = msg.split('\n');
  assert.match(
    lines[0]!,
    /^cannot convert template\.json: 4 things have no equivalent in a build spec \(nothing written\):$/,
  );
  assert.deepEqual(
    lines.slice(1, 5).map((l) => /^ {2}(template\.json:\d+:\d+: [^:]+):/.exec(l)?.[1]),
    [
      'template.json:4:5: builders[1]',
      'template.json:8:5: provisioners[1]',
      'template.json:13:5: provisioners[3]',
      'template.json:14:35: provisioners[4].inline[0]',
    ],
  );
  assert.match(msg, /builder type "amazon-ebs" cannot be converted/);
  assert.match(msg, /provisioner type "puppet-masterless" cannot be converted/);
  assert.match(msg, /provisioner type "breakpoint" cannot be converted/);
  assert.match(msg, /unknown template function "split"/);
  assert.match(lines[lines.length - 1]!, /--partial/);
});

test('--partial: the rest is written, with a comment at each gap, and validates', async () => {
  const { text, spec, result, loaded } = await convert('unconvertible', { partial: true });
  assert.deepEqual(spec.steps, [
    { run: 'set -e\necho first' },
    { script: 'scripts/app.sh' },
    { run: 'set -e\necho last' },
  ]);
  assert.equal(result.gaps.length, 4);
  assert.equal(loaded.plan.steps.length, 3);
  const lines = text.split('\n');
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  assert.ok(at(/^# NOT CONVERTED: template\.json:4:5: builders\[1\]/) < at(/^name:/), 'builder gaps head the file');
  const puppet = at(
    /^ {2}# NOT CONVERTED: template\.json:8:5: provisioners\[1\]: provisioner type "puppet-masterless"/,
  );
  assert.ok(
    at(/echo first/) < puppet && puppet < at(/script: scripts\/app\.sh/),
    'the gap sits where the provisioner was',
  );
  const split = at(/# NOT CONVERTED: .*provisioners\[4\]\.inline\[0\]/);
  assert.ok(at(/script: scripts\/app\.sh/) < split && split < at(/echo last/));
  assert.ok(result.notes.some((n) => /provisioners\[5\] skipped: its "only" \(amazon-ebs\)/.test(n)));
});

test('--partial: a gap after the last step is a trailing comment', async () => {
  const c = convertTemplate(
    {
      builders: [{ type: 'digitalocean', image: 'x' }],
      provisioners: [{ type: 'shell', inline: ['true'] }, { type: 'puppet-server' }],
    },
    { templateFile: '/t/template.json', root: '/t', outDir: '/t' },
  );
  assert.equal(c.problems.length, 1);
  assert.equal(c.problems[0]!.step, 1);
  const yaml = renderSpec(c.spec, { gaps: c.problems.map((p) => ({ problem: p, where: 'provisioners[1]' })) });
  assert.match(
    yaml,
    /- run: \|-\n\s+set -e\n\s+true\n\s*# NOT CONVERTED: provisioners\[1\]: provisioner type "puppet-server"/,
  );
  assert.deepEqual((parse(yaml) as SpecObject).steps, [{ run: 'set -e\ntrue' }]);
});

test('paths: a source outside the output folder is a problem telling where to put --out', async () => {
  const dir = await fixture('order');
  await fs.mkdir(path.join(dir, 'specs'));
  await assert.rejects(
    importPacker({ template: 'template.json', cwd: dir, out: 'specs/build.yaml', vendor: 'acme', env: {} }),
    (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.match(err.message, /provisioners\[0\]\.source: files\/first\.conf lies outside the output spec's folder/);
      assert.match(
        err.message,
        /write --out into a folder that contains the template's files \(e\.g\. --out .*build\.yaml\)/,
      );
      return true;
    },
  );
  assert.equal(existsSync(path.join(dir, 'specs', 'build.yaml')), false);
});

test('paths: --root is where Packer ran, and paths are written relative to the spec', async () => {
  const dir = await fixture('order');
  await fs.mkdir(path.join(dir, 'templates'));
  await fs.rename(path.join(dir, 'template.json'), path.join(dir, 'templates', 'order.json'));
  const r = await importPacker({
    template: 'templates/order.json',
    cwd: dir,
    root: '.',
    out: 'build.yaml',
    vendor: 'acme',
    env: {},
  });
  const spec = parse(await fs.readFile(r.out, 'utf8')) as SpecObject;
  assert.deepEqual(spec.steps[0], { upload: { src: 'files/first.conf', dest: '/etc/first.conf' } });
  assert.equal(spec.name, 'order');
  await loadSpec(r.out);
});

test('an existing --out is refused unless --force', async () => {
  const { dir } = await convert('order');
  await assert.rejects(
    importPacker({ template: 'template.json', cwd: dir, vendor: 'acme', env: {} }),
    /build\.yaml already exists: pass --force/,
  );
  await importPacker({ template: 'template.json', cwd: dir, vendor: 'acme', env: {}, force: true });
});

test('a template that is not JSON names the line and column', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'packer-bad-'));
  await fs.writeFile(path.join(dir, 'template.json'), '{\n  "builders": [\n    { "type": "digitalocean", }\n  ]\n}\n');
  await assert.rejects(
    importPacker({ template: 'template.json', cwd: dir, env: {} }),
    /template\.json:3:\d+: .*not a Packer JSON template/,
  );
});

test('the CLI: client import-packer writes, prints notes and refuses to overwrite; problems exit non-zero', async () => {
  assert.ok(existsSync(CLIENT), `${CLIENT} is built by tsc`);
  const dir = await fixture('builtins');
  const run = (...args: string[]) =>
    spawnSync(NODE, [CLIENT, 'import-packer', ...args], { cwd: dir, encoding: 'utf8' });
  const ok = run('template.json', '--vendor', 'acme');
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^note: .*waits for cloud-init/m);
  assert.match(ok.stdout, /^wrote build\.yaml \(4 steps\)$/m);
  const valid = spawnSync(NODE, [CLIENT, 'validate', 'build.yaml'], { cwd: dir, encoding: 'utf8' });
  assert.equal(valid.status, 0, valid.stderr);
  const again = run('template.json', '--vendor', 'acme');
  assert.equal(again.status, 1);
  assert.match(again.stderr, /already exists: pass --force/);

  const bad = await fixture('unconvertible');
  const fail = spawnSync(NODE, [CLIENT, 'import-packer', 'template.json', '--out', 'out.yaml'], {
    cwd: bad,
    encoding: 'utf8',
  });
  assert.equal(fail.status, 1);
  assert.match(fail.stderr, /^client: cannot convert template\.json: 4 things/);
  assert.equal(existsSync(path.join(bad, 'out.yaml')), false);
  const partial = spawnSync(
    NODE,
    [CLIENT, 'import-packer', 'template.json', '--out', 'out.yaml', '--partial', '--var', 'x=1'],
    { cwd: bad, encoding: 'utf8' },
  );
  assert.equal(partial.status, 0, partial.stderr);
  assert.match(partial.stdout, /wrote out\.yaml \(3 steps, 4 gaps marked NOT CONVERTED\)/);
});

// ---- the pieces ---------------------------------------------------------------------------

const CTX: TemplateContext = {
  variables: { a: 'A', b: '{{user `a`}}-b', loop: '{{user `loop`}}', req: null },
  sensitive: new Set(['s']),
  overrides: {},
  env: { HOME_X: '/home/x' },
  pwd: '/work',
  templateDir: '/work/t',
  buildName: 'do',
  buildType: 'digitalocean',
};

test('template functions: user, env, literals, trimming, pipelines and errors', () => {
  const text = (s: string) => {
    const r = evaluate(s, CTX);
    assert.deepEqual(r.problems, []);
    return r.segments
      .map((x) => (x.kind === 'text' ? x.text : `<${x.kind === 'secret' ? x.variable : x.fn}>`))
      .join('');
  };
  assert.equal(text('{{user `b`}} {{ user "a" }}'), 'A-b A');
  assert.equal(text('{{env `HOME_X`}}|{{pwd}}|{{template_dir}}|{{build_name}}'), '/home/x|/work|/work/t|do');
  assert.equal(text('x {{- " y " -}} z'), 'x y z');
  assert.equal(text('{{"{{"}}not an action}}'), '{{not an action}}');
  assert.equal(text('{{user `a` | lower}}{{upper `q`}}'), 'aQ');
  assert.equal(text('v-{{user `s`}}-{{timestamp}}-{{isotime `2006`}}'), 'v-<s>-<timestamp>-<isotime>');
  const problems = (s: string) => evaluate(s, CTX).problems.join('\n');
  assert.match(problems('{{user `loop`}}'), /refers to itself/);
  assert.match(problems('{{user `req`}}'), /has no default: pass --var req=VALUE/);
  assert.match(problems('{{env `NOPE`}}'), /NOPE is not set/);
  assert.match(problems('{{vault `a` `b`}}'), /unknown template function "vault"/);
  assert.match(problems('{{ .Path }}'), /\.Path is not available here/);
  assert.match(problems('{{user `a`'), /without a matching/);
});

test('secret references: quoting contexts', () => {
  const secret = (before: string, after = '') =>
    placeSecrets([
      { kind: 'text', text: before },
      { kind: 'secret', variable: 'db-pass' },
      { kind: 'text', text: after },
    ]);
  assert.deepEqual(secret('echo ', ' done'), { text: 'echo "${DB_PASS}" done', secrets: ['db-pass'] });
  assert.deepEqual(secret("echo \"$(printf '%s' x) ", '"'), {
    text: 'echo "$(printf \'%s\' x) ${DB_PASS}"',
    secrets: ['db-pass'],
  });
  assert.deepEqual(secret('echo "it\'s ', '"'), { text: 'echo "it\'s ${DB_PASS}"', secrets: ['db-pass'] });
  assert.match((secret("echo 'x ", "'") as { error: string }).error, /single quotes/);
  assert.match((secret('true # note ') as { error: string }).error, /a comment/);
  assert.match((secret('cat <<EOF\n') as { error: string }).error, /heredoc/);
  assert.match((secret('echo `cat ', '`') as { error: string }).error, /backticks/);
  assert.deepEqual(secret('echo a#b ', ''), { text: 'echo a#b "${DB_PASS}"', secrets: ['db-pass'] });
});
