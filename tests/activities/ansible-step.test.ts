/**
 * The ansible step on a real lab droplet, called as the worker calls it: a playbook with a role,
 * a template and its handler, group_vars, extra variables (one a worker secret), tags and skipped
 * tags, and a Galaxy requirements file whose role (a tarball) and collection (a folder) come from
 * the build context. ansible-core is there only for the step: afterwards the droplet has exactly
 * the packages it had plus what the playbook installed, and no file ansible left — after a failed
 * playbook too. A retry after a fix runs the playbook again; `keepAnsible` keeps ansible-core, a
 * user runs the playbook as that user, and an ansible-core the droplet already had stays.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { ansiblePlaybook } from '../../activities/ansible-playbook';
import type { ActivityDeps } from '../../activities/runtime/deps';
import { stepLogKey } from '../../activities/runtime/step-log';
import type { DropletShells } from '../../activities/remote/droplet-shells';
import { packContext, publishContext } from '../../context/pack';
import type { AnsibleStep, BuildPlan } from '../../contract/plan';
import type { DropletRef } from '../../contract/steps';
import type { TestDroplet } from '../support/droplet';
import { pinnedDroplet } from '../support/pinned-droplet';
import { startTestLab, type TestLab } from '../support/lab-api';
import { labActivityDeps } from '../support/lab-deps';

const SECRET = `db-${randomBytes(6).toString('hex')} "quoted" ünïcode`;
let lab: TestLab;
let droplet: TestDroplet;
let ref: DropletRef;
let shells: DropletShells;
let deps: ActivityDeps;
const commands: string[] = [];

/** What dpkg has installed, one name a line. */
const PACKAGES = "dpkg-query -W -f='${db:Status-Abbrev} ${binary:Package}\\n' | awk '$1 == \"ii\" { print $2 }' | sort";

/** The playbook folder: a role (template + handler), group_vars, Galaxy sources inside the context. */
const PLAY: Record<string, string> = {
  'ansible/site.yml': `- hosts: default
  become: true
  roles:
    - role: web
      tags: [web]
    - role: greeter
      tags: [web]
  tasks:
    - name: untagged, so --tags web leaves it out
      copy: { dest: /etc/forge-untagged, content: "ran\\n" }
    - name: shout with the vendored collection's filter
      copy: { dest: /etc/forge-web/shout, content: "{{ motto | forge.tools.shout }}\\n" }
      tags: [web]
    - name: a package the playbook wants (its dependency came with ansible-core)
      apt: { name: distro-info, state: present }
      tags: [web]
    - name: skipped by --skip-tags broken
      command: /bin/false
      tags: [web, broken]
`,
  'ansible/roles/web/defaults/main.yml': 'app_port: 80\n',
  'ansible/roles/web/tasks/main.yml': `- name: the app's folder
  file: { path: /etc/forge-web, state: directory, mode: "0755" }
- name: render the app config
  template: { src: app.conf.j2, dest: /etc/forge-web/app.conf, mode: "0640" }
  notify: app config changed
- name: the secret, hashed
  copy: { dest: /etc/forge-web/secret.sha, content: "{{ db_password | hash('sha256') }}\\n" }
- name: the secret in the log (masked there)
  debug: { msg: "password is {{ db_password }}" }
`,
  'ansible/roles/web/templates/app.conf.j2':
    '# {{ ansible_managed }}\nlisten {{ app_port }}\nmotto {{ motto }}\nuser {{ ansible_user_id }}\n',
  'ansible/roles/web/handlers/main.yml': `- name: app config changed
  shell: echo "reloaded" >> /var/lib/forge-web-reloads
`,
  'ansible/group_vars/all.yml': 'motto: from group_vars\n',
  'ansible/requirements.yml': `roles:
  - src: ./vendor/greeter.tar.gz
    name: greeter
collections:
  - name: ./vendor/forge/tools
    type: dir
`,
  'ansible/vendor/forge/tools/galaxy.yml':
    'namespace: forge\nname: tools\nversion: 1.0.0\nreadme: README.md\nauthors: [forge]\n',
  'ansible/vendor/forge/tools/README.md': 'A filter for the test.\n',
  'ansible/vendor/forge/tools/plugins/filter/shout.py':
    "class FilterModule(object):\n    def filters(self):\n        return {'shout': lambda s: str(s).upper() + '!'}\n",
};

const STEP: AnsibleStep = {
  kind: 'ansible',
  playbook: 'ansible/site.yml',
  dir: 'ansible',
  galaxy: 'ansible/requirements.yml',
  extraVars: { app_port: { value: 8080 }, db_password: { fromWorker: 'FORGE_DB_PASSWORD' } },
  env: { ANSIBLE_NOCOLOR: 'True' },
  tags: ['web'],
  skipTags: ['broken'],
  label: 'configure the web app',
};

before(async () => {
  lab = await startTestLab('ansible-step');
  ({ droplet, ref, shells } = await pinnedDroplet(lab, `ansible-step-${process.pid}`));
  const run = shells.run.bind(shells);
  shells.run = (r, command, opts) => {
    commands.push(command);
    return run(r, command, opts);
  };
  await mkdir(join(lab.work, 'w'), { recursive: true });
  ({ deps } = labActivityDeps(lab.server, lab.token, join(lab.work, 'w'), {
    workerEnv: { FORGE_DB_PASSWORD: SECRET },
    workerSecrets: ['FORGE_DB_PASSWORD'],
  }));
  deps.shells = shells;
});

after(async () => {
  shells?.closeAll();
  await droplet?.destroy();
  await lab?.dispose();
});

/** A build context holding the playbook folder (with `changes`), published to the store: its digest. */
async function context(changes: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(lab.work, 'ctx-'));
  for (const [rel, body] of Object.entries({ ...PLAY, ...changes })) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), body);
  }
  // The Galaxy role comes as a tarball, as `ansible-galaxy role install` takes a local one.
  await mkdir(join(dir, 'greeter/greeter/tasks'), { recursive: true });
  await mkdir(join(dir, 'greeter/greeter/meta'), { recursive: true });
  await writeFile(
    join(dir, 'greeter/greeter/tasks/main.yml'),
    '- name: greet\n  copy: { dest: /etc/forge-web/greeter, content: "greeted\\n" }\n',
  );
  await writeFile(
    join(dir, 'greeter/greeter/meta/main.yml'),
    'galaxy_info: { author: forge, description: greeter, license: MIT, min_ansible_version: "2.9", platforms: [] }\ndependencies: []\n',
  );
  execFileSync('tar', ['-C', join(dir, 'greeter'), '-czf', join(dir, 'ansible/vendor/greeter.tar.gz'), 'greeter']);
  await rm(join(dir, 'greeter'), { recursive: true });
  const ctx = await packContext(dir, ['ansible']);
  await publishContext(deps.store, ctx);
  return ctx.digest;
}

function playbook(step: string, digest: string, s: Partial<AnsibleStep> = {}, env: BuildPlan['env'] = {}) {
  return ansiblePlaybook(deps)({ droplet: ref, step, contextDigest: digest, ansible: { ...STEP, ...s }, env });
}

async function sh(cmd: string): Promise<string> {
  return (await droplet.run(cmd)).out;
}

test('the playbook runs with its role, template, handler, group_vars, extra vars, tags and Galaxy sources; ansible-core goes after it', async () => {
  const before = await sh(PACKAGES);
  assert.doesNotMatch(before, /^ansible-core$/m, 'the droplet starts without ansible');
  const digest = await context();
  const sent = commands.length;
  // The spec's env may choose a locale ansible cannot start with: the step still runs it (C.UTF-8).
  const r = await playbook('03-ansible', digest, {}, { LC_ALL: { value: 'C' }, GREETING: { value: 'hi' } });
  assert.equal(r.exitCode, 0);
  assert.equal(commands.length - sent, 2, 'two execs: the folder sent, then the run');

  assert.equal(
    await sh('cat /etc/forge-web/app.conf'),
    '# Ansible managed\nlisten 8080\nmotto from group_vars\nuser root\n',
    'the template, with the extra var over the role default and group_vars',
  );
  assert.equal(await sh('stat -c %a /etc/forge-web/app.conf'), '640\n');
  assert.equal(await sh('cat /var/lib/forge-web-reloads'), 'reloaded\n', 'the handler ran once');
  assert.equal(
    await sh('cat /etc/forge-web/greeter /etc/forge-web/shout'),
    'greeted\nFROM GROUP_VARS!\n',
    'Galaxy role and collection',
  );
  assert.equal(await sh('test -e /etc/forge-untagged && echo ran || echo skipped'), 'skipped\n', '--tags web');
  const want = (await sh(`printf %s ${shellQuote(SECRET)} | sha256sum | cut -c1-64`)).trim();
  assert.equal((await sh('cat /etc/forge-web/secret.sha')).trim(), want, 'the secret arrived byte for byte');

  // Exactly the packages of before, plus what the playbook installed (and what that needs).
  const added = diff(await sh(PACKAGES), before);
  assert.deepEqual(added, { added: ['distro-info', 'distro-info-data'], removed: [] });
  assert.equal(await sh('ls -d /root/.ansible /run/image-forge-ansible /usr/bin/ansible 2>/dev/null; true'), '');
  assert.equal(await sh('ls /tmp /var/tmp | grep -i ansible; true'), '', 'no ansible temp files');

  // The secret: never on a command line, never on the droplet's disk, masked in the step log.
  assert.ok(
    commands.slice(sent).every((c) => !c.includes(SECRET.slice(0, 12))),
    'not on a command line',
  );
  assert.equal(await sh(`grep -rlF ${shellQuote(SECRET.slice(0, 12))} /root /run /tmp /var/tmp /etc; true`), '');
  const log = ((await deps.store.get(stepLogKey(ref.buildId, '03-ansible'))) ?? Buffer.alloc(0)).toString();
  assert.match(log, /RUNNING HANDLER \[web : app config changed\]/);
  assert.match(log, /password is \*\*\*/);
  assert.ok(!log.includes(SECRET.slice(0, 12)), 'the step log masks the secret');
  assert.match(log, /image-forge: removed ansible-core python3-apt/);
  assert.match(log, /image-forge: ansible runs with LC_ALL=C\.UTF-8/);
});

test('a failing task fails the step with its fatal line, ansible-core still goes; a retry after a fix runs the playbook again', async () => {
  const before = await sh(PACKAGES);
  const broken = await context({
    'ansible/roles/web/tasks/main.yml': `${PLAY['ansible/roles/web/tasks/main.yml']}- name: check the port
  assert: { that: app_port == 9090, fail_msg: "port {{ app_port }} is not 9090" }
`,
  });
  const err = await playbook('04-ansible', broken).then(
    () => assert.fail('the step succeeded'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApplicationFailure, String(err));
  assert.equal(err.nonRetryable, true, 'it waits for the operator, not for Temporal to retry it');
  assert.match(
    err.message,
    /^configure the web app exited with code 2: fatal: \[default\]: FAILED! .*port 8080 is not 9090/,
  );
  assert.deepEqual(diff(await sh(PACKAGES), before), { added: [], removed: [] }, 'ansible-core went anyway');
  assert.equal(await sh('ls -d /root/.ansible /run/image-forge-ansible 2>/dev/null; true'), '');

  // The operator fixes the playbook and retries: the same step again, with the edited context.
  const r = await playbook('04-ansible', await context(), {
    extraVars: { ...STEP.extraVars, app_port: { value: 9090 } },
  });
  assert.equal(r.exitCode, 0);
  assert.match(await sh('cat /etc/forge-web/app.conf'), /^listen 9090$/m);
  assert.equal(
    await sh('cat /var/lib/forge-web-reloads'),
    'reloaded\nreloaded\n',
    'the changed template notified again',
  );
  assert.deepEqual(diff(await sh(PACKAGES), before), { added: [], removed: [] });
});

test('a user runs the playbook; keepAnsible keeps ansible-core; an ansible-core already there stays', async () => {
  const missing = await playbook('05-ansible', await context(), { user: 'nosuch' }).then(
    () => assert.fail('the step succeeded'),
    (e: unknown) => e,
  );
  assert.match(String(missing), /exited with code 2: image-forge: user nosuch does not exist on the droplet/);

  await sh('useradd -m -s /bin/bash app && echo "app ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/app');
  const user = await context({
    'ansible/site.yml': `- hosts: all
  tasks:
    - name: as the run's user
      copy: { dest: "{{ ansible_env.HOME }}/whoami", content: "{{ ansible_user_id }}\\n" }
    - name: root, through become
      become: true
      shell: id -un > /etc/forge-become
`,
  });
  await playbook('06-ansible', user, { user: 'app', keepAnsible: true, galaxy: undefined, tags: [], skipTags: [] });
  assert.equal(await sh('stat -c %U /home/app/whoami; cat /home/app/whoami /etc/forge-become'), 'app\napp\nroot\n');
  assert.match(await sh(PACKAGES), /^ansible-core$/m, 'kept');
  assert.equal(await sh('ls -d /home/app/.ansible /root/.ansible /run/image-forge-ansible 2>/dev/null; true'), '');

  // Now the droplet has ansible-core before the step (as when the spec installs it): it stays.
  const before = await sh(PACKAGES);
  await playbook('07-ansible', user, { galaxy: undefined, tags: [], skipTags: [] });
  assert.deepEqual(diff(await sh(PACKAGES), before), { added: [], removed: [] });
});

function diff(now: string, before: string): { added: string[]; removed: string[] } {
  const a = new Set(before.trim().split('\n'));
  const b = new Set(now.trim().split('\n'));
  return { added: [...b].filter((p) => !a.has(p)), removed: [...a].filter((p) => !b.has(p)) };
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
