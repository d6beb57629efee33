/**
 * `client import-packer` on the idioms vendors' templates use most (issue #29): timestamped
 * snapshot and droplet names, several build blocks (--build), hcp_packer_registry, a shell-local
 * post-processor, and execute_command lines that run a script as another user. Each mapping is
 * checked in the written spec (loaded as `client validate` does) and each refusal at file:line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { importPacker } from '../../client/commands/import-packer';
import type { ImportOptions } from '../../client/commands/import-packer';
import { UserError } from '../../contract/user-error';
import { loadSpec } from '../../spec/load';
import type { SpecObject } from '../../packer/convert';

const PLUGIN =
  'packer {\n  required_plugins {\n    digitalocean = {\n      source = "github.com/digitalocean/digitalocean"\n    }\n  }\n}\n';

async function withFiles(files: Record<string, string>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'idioms-'));
  for (const [f, t] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, f)), { recursive: true });
    await fs.writeFile(path.join(dir, f), t);
  }
  return dir;
}

async function convert(dir: string, opts: Partial<ImportOptions> = {}) {
  const result = await importPacker({ template: '.', cwd: dir, vendor: 'acme', env: {}, force: true, ...opts });
  const text = await fs.readFile(result.out, 'utf8');
  const loaded = await loadSpec(result.out);
  return { result, text, spec: parse(text) as SpecObject, loaded, notes: result.notes.join('\n') };
}

async function refusal(dir: string, opts: Partial<ImportOptions> = {}): Promise<string> {
  try {
    await importPacker({ template: '.', cwd: dir, vendor: 'acme', env: {}, force: true, ...opts });
  } catch (err) {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('the import succeeded');
}

/** One HCL2 file: a source with `source` lines, a build with `build` lines. */
const hcl = (top: string, source: string, build: string) =>
  `${PLUGIN}${top}source "digitalocean" "a" {\n  image = "debian-12-x64"\n${source}}\nbuild {\n  sources = ["source.digitalocean.a"]\n${build}  provisioner "shell" {\n    inline = ["echo ok"]\n  }\n}\n`;

test('timestamped names (HCL2): regex_replace(timestamp()), formatdate and legacy_isotime map onto name:, with the format the spec uses', async () => {
  const forms: [string, string][] = [
    [
      'locals {\n  timestamp = regex_replace(timestamp(), "[- TZ:]", "")\n}\n',
      'snapshot_name = "app-${local.timestamp}"',
    ],
    ['', 'snapshot_name = "app-${formatdate("YYYYMMDD-hhmm", timestamp())}"'],
    ['', 'snapshot_name = "App_${replace(timestamp(), ":", "")}"'],
    ['', 'snapshot_name = "app-${legacy_isotime("20060102")}"'],
    ['locals {\n  stamp = substr(lower(timestamp()), 0, 10)\n}\n', 'snapshot_name = "app.${local.stamp}"'],
  ];
  for (const [top, line] of forms) {
    const dir = await withFiles({
      'main.pkr.hcl': hcl(
        top,
        `  ${line}\n  droplet_name = "app-build-\${formatdate("YYYYMMDD-hhmm", timestamp())}"\n`,
        '',
      ),
    });
    const { spec, loaded, notes } = await convert(dir);
    assert.equal(spec.name, 'app', line);
    assert.equal(spec.snapshot, undefined, `${line}: the tool stamps the snapshot name itself`);
    assert.equal(loaded.plan.snapshot.name, undefined);
    assert.match(
      notes,
      /snapshot_name ".*" → name: app: the tool names each snapshot <name>-<UTC timestamp> \(YYYYMMDDThhmmssZ, e\.g\. app-20250131T235959Z\) in place of \$\{/,
      line,
    );
    assert.match(notes, /dropped droplet_name \(the build droplet is named after the build\)/, line);
  }
});

test('timestamped names (legacy JSON): {{timestamp}}, {{isotime}} and {{isotime | clean_resource_name}} map onto name:', async () => {
  for (const stamp of ['{{timestamp}}', '{{isotime `2006-01-02`}}', '{{isotime | clean_resource_name}}']) {
    const dir = await withFiles({
      'template.json': JSON.stringify({
        variables: { image_name: `web-22-04-snapshot-${stamp}` },
        builders: [
          {
            type: 'digitalocean',
            image: 'ubuntu-22-04-x64',
            snapshot_name: '{{user `image_name`}}',
            droplet_name: `web-${stamp}`,
          },
        ],
        provisioners: [{ type: 'shell', inline: ['echo ok'] }],
      }),
    });
    const { spec, notes } = await convert(dir, { template: 'template.json' });
    assert.equal(spec.name, 'web-22-04-snapshot', stamp);
    assert.equal(spec.snapshot, undefined, stamp);
    assert.ok(
      notes.includes(
        `snapshot_name "web-22-04-snapshot-${stamp}" → name: web-22-04-snapshot: the tool names each snapshot <name>-<UTC timestamp> (YYYYMMDDThhmmssZ, e.g. web-22-04-snapshot-20250131T235959Z) in place of ${stamp}`,
      ),
      notes,
    );
  }
});

test('timestamps where the spec has no equivalent are refused at file:line: after the name, in a tag, in an env value, in a command', async () => {
  const dir = await withFiles({
    'main.pkr.hcl': hcl(
      'locals {\n  ts = regex_replace(timestamp(), "[- TZ:]", "")\n}\n',
      '  snapshot_name = "app-${local.ts}-ubuntu"\n  tags = ["built-${local.ts}"]\n',
      '  provisioner "shell" {\n    environment_vars = ["BUILT=${local.ts}"]\n    inline = ["echo ok"]\n  }\n  provisioner "shell" {\n    inline = ["echo ${local.ts} > /etc/built"]\n  }\n',
    ),
  });
  const m = await refusal(dir);
  assert.match(
    m,
    /main\.pkr\.hcl:13:3: source\.digitalocean\.a\.snapshot_name: snapshot_name "app-\$\{regex_replace\(timestamp\(\), "\[- TZ:\]", ""\)\}-ubuntu" has text after .* \("-ubuntu"\): the spec names each snapshot <name>-<UTC timestamp>/,
  );
  assert.match(
    m,
    /main\.pkr\.hcl:14:3: source\.digitalocean\.a\.tags\[0\]: tags\[0\] uses .*only known when the image is built/,
  );
  assert.match(
    m,
    /main\.pkr\.hcl:\d+:\d+: build\.provisioner\[0\]\.environment_vars\[0\]: BUILT uses .*only known when/,
  );
  assert.match(m, /main\.pkr\.hcl:\d+:\d+: build\.provisioner\[1\]\.inline\[0\]: .* in a command is only known when/);
  // A secret is never reshaped into a name.
  const secret = await withFiles({
    'main.pkr.hcl': hcl(
      'variable "k" {\n  default = "x"\n  sensitive = true\n}\n',
      '  snapshot_name = "app-${lower(var.k)}"\n',
      '',
    ),
  });
  assert.match(await refusal(secret), /lower uses the sensitive variable "k"/);
});

test('several build blocks: --build NAME imports one; without it the refusal lists the builds at file:line; in a multi-cloud file the digitalocean build is the one', async () => {
  const build = (name: string, cmd: string) =>
    `build {\n  name    = "${name}"\n  sources = ["source.digitalocean.a"]\n  provisioner "shell" {\n    inline = ["${cmd}"]\n  }\n}\n`;
  const dir = await withFiles({
    'main.pkr.hcl': `${PLUGIN}source "digitalocean" "a" {\n  image = "debian-12-x64"\n}\n${build('web', 'echo web')}${build('db', 'echo db')}`,
  });
  const m = await refusal(dir);
  assert.match(
    m,
    /main\.pkr\.hcl:18:1: build\[1\]: the configuration has 2 build blocks \("web" in main\.pkr\.hcl:11, "db" in main\.pkr\.hcl:18\) and a spec describes one build: import one with --build NAME/,
  );
  const db = await convert(dir, { build: 'db' });
  assert.deepEqual(db.spec.steps, [{ run: 'set -e\necho db' }]);
  assert.match(db.notes, /build "db" imported \(--build\); the other build is not/);
  const web = await convert(dir, { build: 'web' });
  assert.deepEqual(web.spec.steps, [{ run: 'set -e\necho web' }]);
  await assert.rejects(convert(dir, { build: 'cache' }), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.equal(err.exitCode, 2);
    assert.match(
      err.message,
      /^--build cache: no build block has that name \(the builds: "web" in main\.pkr\.hcl:11, "db"/,
    );
    return true;
  });
  // A multi-cloud file: the one build with a digitalocean source is imported, the others noted.
  await fs.writeFile(
    path.join(dir, 'main.pkr.hcl'),
    `${PLUGIN}source "digitalocean" "a" {\n  image = "debian-12-x64"\n}\nsource "hcloud" "a" {\n  image = "ubuntu-24.04"\n}\n` +
      build('server', 'echo do') +
      build('server', 'echo hetzner').replace('source.digitalocean.a', 'source.hcloud.a'),
  );
  const multi = await convert(dir);
  assert.deepEqual(multi.spec.steps, [{ run: 'set -e\necho do' }]);
  assert.match(multi.notes, /one build uses no digitalocean source: not imported \("server" in main\.pkr\.hcl:21\)/);
  const json = await withFiles({
    'template.json': JSON.stringify({ builders: [{ type: 'digitalocean', image: 'debian-12-x64' }] }),
  });
  await assert.rejects(
    convert(json, { template: 'template.json', build: 'x' }),
    /--build picks one of the build blocks of an HCL2 template/,
  );
});

test('hcp_packer_registry is a note; a shell-local post-processor is dropped with a note saying what to run after the build', async () => {
  const dir = await withFiles({
    'main.pkr.hcl': hcl(
      '',
      '',
      '  hcp_packer_registry {\n    bucket_name = "app"\n    bucket_labels = { team = "web" }\n  }\n  post-processor "shell-local" {\n    inline = ["./notify.sh ${build.ID}", "echo done"]\n  }\n',
    ),
  });
  // build.ID is a build-time value Packer knows: the importer does not, so that line is refused.
  assert.match(await refusal(dir), /build\.post-processor\[0\]\.inline: build\.ID cannot be converted/);
  await fs.writeFile(
    path.join(dir, 'main.pkr.hcl'),
    hcl(
      '',
      '',
      '  hcp_packer_registry {\n    bucket_name = "app"\n  }\n  post-processors {\n    post-processor "manifest" {\n      output = "manifest.json"\n    }\n    post-processor "shell-local" {\n      inline = ["sh do/notify.sh"]\n    }\n  }\n',
    ),
  );
  const { spec, notes } = await convert(dir);
  assert.deepEqual(spec.steps, [{ run: 'set -e\necho ok' }]);
  assert.match(notes, /build\.hcp_packer_registry: dropped; .*manifest .*bill of materials/);
  assert.match(
    notes,
    /build\.post-processor\[1\] \(shell-local\) dropped: it runs on the machine running Packer after the image is made, so it does not change the image: run it yourself after the build \(`sh do\/notify\.sh`\)/,
  );
  // Other post-processors stay refused.
  await fs.writeFile(
    path.join(dir, 'main.pkr.hcl'),
    hcl('', '', '  post-processor "compress" {\n    output = "x.tar.gz"\n  }\n'),
  );
  assert.match(
    await refusal(dir),
    /main\.pkr\.hcl:\d+:\d+: build\.post-processor\[0\]: post-processor type "compress" cannot be converted/,
  );
});

test('execute_command: su, sudo -u and runuser forms become user: on the step; the usual root forms are the default; anything else is refused at file:line', async () => {
  const prov = (cmd: string, body: string) =>
    `  provisioner "shell" {\n    execute_command = "${cmd.replace(/"/g, '\\"')}"\n    ${body}\n  }\n`;
  const asUser: [string, string][] = [
    ["chmod +x {{ .Path }}; su -c '{{ .Vars }} {{ .Path }}' - mastodon", 'mastodon'],
    ["sudo -u app -E sh '{{ .Path }}'", 'app'],
    ["sudo -E -S -u app bash -eux '{{ .Path }}'", 'app'],
    ["echo 'packer' | sudo -S -iu app sh -c '{{ .Vars }} {{ .Path }}'", 'app'],
    ["su - app -c 'bash {{ .Path }}'", 'app'],
    ["runuser -l app -c '{{ .Vars }} {{ .Path }}'", 'app'],
  ];
  for (const [cmd, user] of asUser) {
    const dir = await withFiles({
      'main.pkr.hcl': hcl('', '', prov(cmd, 'scripts = ["scripts/app.sh"]') + prov(cmd, 'inline = ["bundle install"]')),
      'scripts/app.sh': '#!/bin/bash\nbundle install\n',
    });
    const { spec, loaded, notes } = await convert(dir);
    assert.deepEqual(
      spec.steps,
      [{ script: 'scripts/app.sh', user }, { run: 'set -e\nbundle install', user }, { run: 'set -e\necho ok' }],
      cmd,
    );
    assert.deepEqual(
      loaded.plan.steps.map((s) => (s.kind === 'script' ? s.user : undefined)),
      [user, user, undefined],
      `${cmd}: the plan carries the user`,
    );
    assert.match(notes, new RegExp(`build\\.provisioner\\[0\\]\\.execute_command runs the script as ${user} \\(`), cmd);
  }
  for (const cmd of [
    "sudo -E -S sh '{{ .Path }}'",
    "{{ .Vars }} bash '{{ .Path }}'",
    'chmod +x {{ .Path }}; {{ .Vars }} {{ .Path }}',
    "{{ .Vars }} sudo -E -S sh '{{ .Path }}'",
    "sudo -u root -E sh '{{ .Path }}'",
  ]) {
    const dir = await withFiles({ 'main.pkr.hcl': hcl('', '', prov(cmd, 'inline = ["id"]')) });
    const { spec, notes } = await convert(dir);
    assert.deepEqual(spec.steps, [{ run: 'set -e\nid' }, { run: 'set -e\necho ok' }], cmd);
    assert.match(
      notes,
      /build\.provisioner\[0\]\.execute_command dropped: the tool runs each script directly as root/,
      cmd,
    );
  }
  for (const [cmd, why] of [
    [
      "sudo -g docker sh '{{ .Path }}'",
      /execute_command ".*" cannot be converted: .*sudo -u USER, su - USER -c or runuser -l USER -c/,
    ],
    ["sudo sh -c 'cd /srv && {{ .Path }}'", /cannot be converted/],
    ["{{ .Vars }} sudo -E bash '{{ .Path }}' > /var/log/provision.log", /cannot be converted/],
    [
      "su - App.Admin -c '{{ .Path }}'",
      /execute_command runs the script as "App\.Admin": user: must be a user name on the droplet/,
    ],
  ] as const) {
    const dir = await withFiles({ 'main.pkr.hcl': hcl('', '', prov(cmd, 'inline = ["id"]')) });
    const m = await refusal(dir);
    assert.match(m, /main\.pkr\.hcl:14:5: build\.provisioner\[0\]\.execute_command: /, cmd);
    assert.match(m, why, cmd);
  }
  // Legacy JSON: the same reading of the same strings.
  const json = await withFiles({
    'template.json': JSON.stringify({
      builders: [{ type: 'digitalocean', image: 'debian-12-x64' }],
      provisioners: [
        {
          type: 'shell',
          execute_command: "chmod +x {{ .Path }}; su -c '{{ .Vars }} {{ .Path }}' - mastodon",
          environment_vars: ['RAILS_ENV=production'],
          inline: ['cd ~/live && bundle exec rake assets:precompile'],
        },
      ],
    }),
  });
  const { spec } = await convert(json, { template: 'template.json' });
  assert.deepEqual(spec.steps, [{ run: 'set -e\ncd ~/live && bundle exec rake assets:precompile', user: 'mastodon' }]);
  assert.deepEqual(spec.env, { RAILS_ENV: 'production' });
});
