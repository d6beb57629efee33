/**
 * `client import-packer` maps "ansible" and "ansible-local" provisioners onto the `ansible:` step
 * (tests/packer/fixtures/ansible*): the playbook, its folder, the Galaxy file, extra variables
 * (a sensitive one read on the worker), tags, skipped tags, the user and ansible_env_vars; what
 * only concerns Packer's SSH connection is dropped with a note, and every other option is a gap
 * at its file:line. Each written spec loads (schema, plan rules, files) as `client validate` would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { importPacker } from '../../client/commands/import-packer';
import type { ImportOptions } from '../../client/commands/import-packer';
import { UserError } from '../../contract/user-error';
import { loadSpec } from '../../spec/load';
import type { SpecObject } from '../../packer/convert';
import { shellWords, splitKv } from '../../packer/map/ansible';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'tests', 'packer', 'fixtures');

async function fixture(name: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `packer-${name}-`));
  await fs.cp(path.join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

async function convert(name: string, template: string, opts: Partial<ImportOptions> = {}) {
  const dir = await fixture(name);
  const result = await importPacker({ template, cwd: dir, vendor: 'acme', env: {}, ...opts });
  const text = await fs.readFile(result.out, 'utf8');
  return { text, result, spec: parse(text) as SpecObject, loaded: await loadSpec(result.out) };
}

test('ansible: playbook, galaxy file, extra vars (a secret read on the worker), tags, user, env', async () => {
  const { spec, text, result, loaded } = await convert('ansible', 'template.json');
  assert.deepEqual(spec.steps.slice(1), [
    {
      ansible: {
        playbook: 'ansible/site.yml',
        galaxy: 'ansible/requirements.yml',
        extraVars: { app_version: '2.1', motto: 'hello world', db_password: { fromWorker: 'DB_PASSWORD' } },
        tags: ['config', 'web'],
        skipTags: ['slow'],
        // -vv is ansible's verbosity 2; root, the step's default user, is left out.
        env: { ANSIBLE_HOST_KEY_CHECKING: 'False', ANSIBLE_NOCOLOR: 'True', ANSIBLE_VERBOSITY: '2' },
      },
    },
    // JSON extra vars keep their types; --become is ansible's own setting.
    {
      ansible: {
        playbook: 'ansible/site.yml',
        user: 'deploy',
        extraVars: { port: 8080, tls: true },
        env: { ANSIBLE_BECOME: 'True' },
      },
    },
  ]);
  assert.doesNotMatch(text, /hunter2/, 'a sensitive value is never written');
  assert.match(text, /tags: \[ config, web \]/);
  const notes = result.notes.join('\n');
  assert.match(notes, /provisioners\[1\]\.ansible_env_vars\[2\]: ANSIBLE_HOME dropped \(the step sets it/);
  assert.match(notes, /provisioners\[1\]: dropped use_proxy \(the playbook runs on the droplet itself/);
  assert.match(
    notes,
    /provisioners\[2\]: ansible\/requirements\.yml is beside the playbook but the template names no galaxy_file/,
  );
  assert.match(notes, /sensitive variable "db_password": read on the worker from DB_PASSWORD/);
  // The plan the worker runs: the playbook's folder is what goes to the droplet.
  assert.deepEqual(
    loaded.plan.steps.map((s) => (s.kind === 'ansible' ? `${s.kind} ${s.dir} ${s.playbook}` : s.kind)),
    ['script', 'ansible ansible ansible/site.yml', 'ansible ansible ansible/site.yml'],
  );
});

test('ansible-local (HCL2): playbook_dir, galaxy file, what is already beside the playbook, command, shell quoting', async () => {
  const { spec, result } = await convert('ansible-local', '.');
  assert.deepEqual(spec.steps, [
    {
      ansible: {
        playbook: 'play/site.yml',
        dir: 'play',
        galaxy: 'play/requirements.yml',
        // --extra-vars "motto='${var.motto}'" as the droplet's shell, then ansible, read it.
        extraVars: { motto: 'local run' },
        tags: ['web'],
        env: { PYTHONUNBUFFERED: '1' },
      },
    },
  ]);
  const notes = result.notes.join('\n');
  assert.match(notes, /build\.provisioner\[0\]\.group_vars: dropped, already beside the playbook/);
  assert.match(notes, /build\.provisioner\[0\]\.role_paths: dropped, already beside the playbook/);
  assert.match(notes, /build\.provisioner\[0\]: dropped staging_directory/);
});

test('what the ansible step cannot do is refused at its file:line, naming the option; nothing is written', async () => {
  const dir = await fixture('ansible-refused');
  let msg = '';
  try {
    await importPacker({ template: 'template.json', cwd: dir, vendor: 'acme', env: {} });
    assert.fail('the conversion succeeded');
  } catch (err) {
    assert.ok(err instanceof UserError, String(err));
    msg = err.message;
  }
  assert.equal(existsSync(path.join(dir, 'build.yaml')), false, 'nothing may be written');
  const want = [
    /template\.json:6:\d+: provisioners\[0\]\.extra_arguments\[0\]: extra argument "--check" cannot be converted/,
    /template\.json:7:\d+: provisioners\[1\]\.extra_arguments\[1\]: extra vars from a file \(@vars\.yml\) cannot be converted/,
    /template\.json:8:\d+: provisioners\[2\]\.groups: ansible provisioner option "groups" cannot be converted/,
    /template\.json:9:\d+: provisioners\[3\]\.host_alias: host_alias "web1" cannot be converted/,
    /template\.json:10:\d+: provisioners\[4\]\.inventory_groups: ansible-local provisioner option "inventory_groups" cannot be converted/,
    /template\.json:11:\d+: provisioners\[5\]\.role_paths\[0\]: role_paths roles\/db cannot be converted: .*put it there \(ansible\/roles\/\)/,
    /template\.json:12:\d+: provisioners\[6\]\.playbook_file: the playbook must be in a folder below the spec's folder/,
    /template\.json:13:\d+: provisioners\[7\]\.extra_arguments\[1\]: "a b" is not a tag/,
    /template\.json:14:\d+: provisioners\[8\]\.user: ansible-local provisioner option "user" cannot be converted/,
    /template\.json:15:\d+: provisioners\[9\]\.command: command "ansible-playbook --check" cannot be converted/,
    /template\.json:16:\d+: provisioners\[10\]\.extra_arguments\[1\]: \{\{timestamp\}\} is only known when the image is built/,
  ];
  for (const re of want) assert.match(msg, re);
  assert.match(msg, /11 things have no equivalent/);

  // --partial writes the rest, each gap a comment where its provisioner was.
  const partial = await importPacker({ template: 'template.json', cwd: dir, vendor: 'acme', env: {}, partial: true });
  const text = await fs.readFile(partial.out, 'utf8');
  assert.match(text, /# NOT CONVERTED: template\.json:6:\d+: provisioners\[0\]\.extra_arguments\[0\]/);
  assert.deepEqual((parse(text) as SpecObject).steps, [{ run: 'set -e\necho still converted' }]);
});

test('extra vars and arguments are split as ansible and the shell split them', () => {
  assert.deepEqual(splitKv(`a=1 b='two words' c="x y" d=`), [
    ['a', '1'],
    ['b', 'two words'],
    ['c', 'x y'],
    ['d', ''],
  ]);
  assert.equal(splitKv('novalue'), undefined);
  assert.equal(splitKv(`a='open`), undefined);
  assert.deepEqual(shellWords(`--extra-vars "motto='a b' x=\\"q\\"" -t web\\ site 'it''s'`), [
    '--extra-vars',
    `motto='a b' x="q"`,
    '-t',
    'web site',
    'its',
  ]);
  assert.equal(shellWords(`"open`), undefined);
});
