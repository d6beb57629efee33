/**
 * `client import-packer` on HCL2 configurations: a folder of *.pkr.hcl files with variable files,
 * locals and functions (tests/packer/fixtures/hcl2/app), several sources (a matrix), every
 * DigitalOcean builder option, and a shell-local post-processor that publishes (mp-submit.sh).
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

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'tests', 'packer', 'fixtures', 'hcl2');

async function copy(name: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `hcl2-${name}-`));
  await fs.cp(path.join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

async function convert(dir: string, opts: Partial<ImportOptions> = {}) {
  const result = await importPacker({ template: '.', cwd: dir, vendor: 'acme', env: {}, ...opts });
  const text = await fs.readFile(result.out, 'utf8');
  const loaded = await loadSpec(result.out);
  return { result, text, spec: parse(text) as SpecObject, loaded };
}

async function withFiles(files: Record<string, string>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hcl2-inline-'));
  for (const [f, t] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, f)), { recursive: true });
    await fs.writeFile(path.join(dir, f), t);
  }
  return dir;
}

const PLUGIN =
  'packer {\n  required_plugins {\n    digitalocean = {\n      source = "github.com/digitalocean/digitalocean"\n    }\n  }\n}\n';

test('HCL2 folder: files, var files, locals, functions, provisioners in order; secrets stay on the worker', async () => {
  const dir = await copy('app');
  const { spec, text, loaded, result } = await convert(dir, {
    settings: [{ kind: 'var-file', file: 'prod.pkrvars.hcl' }],
  });
  assert.equal(spec.name, 'myapp-1-4-2', 'local.image_family from the auto var file, lower() and replace()');
  assert.deepEqual(spec.droplet, {
    image: 'ubuntu-22-04-x64',
    region: 'sfo3',
    size: 's-1vcpu-1gb',
    tags: ['myapp', 'build'],
  });
  assert.deepEqual(spec.steps, [
    { upload: { src: 'files/nginx/', dest: '/etc/nginx/' } },
    { script: 'scripts/01-app.sh' },
    { run: "set -e\necho 1.4.2 > /etc/motd.d/version\necho 'NGINX UFW' > /root/packages" },
  ]);
  assert.deepEqual(spec.env, {
    APP_VERSION: '1.4.2',
    LICENSE_KEY: { fromWorker: 'LICENSE_KEY' },
    DEBIAN_FRONTEND: 'noninteractive',
  });
  assert.deepEqual(spec.timeouts, { state: '10m' });
  assert.deepEqual(spec.api, { retryMax: 5, retryWaitMin: 1 });
  assert.doesNotMatch(text, /LICENSE-DEFAULT-123/);
  assert.equal(loaded.plan.timeouts?.stateMs, 600_000);
  const notes = result.notes.join('\n');
  assert.match(notes, /build\.provisioner\[0\] waits for cloud-init/);
  assert.match(notes, /build\.provisioner\[4\] skipped: its "only" \(amazon-ebs\.other\)/);
  assert.match(
    notes,
    /snapshot_name "myapp-1-4-2-\$\{formatdate\("YYYYMMDDhhmm", timestamp\(\)\)\}" → name: myapp-1-4-2: the tool names each snapshot <name>-<UTC timestamp>/,
  );
  assert.match(notes, /dropped pause_before, max_retries/);
});

test('HCL2 variables: Packer precedence default < PKR_VAR_ < *.auto.pkrvars < -var-file and -var in order', async () => {
  const dir = await copy('app');
  const region = async (opts: Partial<ImportOptions>) =>
    (await convert(dir, { force: true, ...opts })).spec.droplet.region;
  assert.equal(await region({}), 'nyc3');
  assert.equal(await region({ env: { PKR_VAR_region: 'ams3' } }), 'ams3');
  const both: ImportOptions['settings'] = [
    { kind: 'var', name: 'region', value: 'lon1' },
    { kind: 'var-file', file: 'prod.pkrvars.hcl' },
  ];
  assert.equal(await region({ env: { PKR_VAR_region: 'ams3' }, settings: both }), 'sfo3', 'the later -var-file wins');
  assert.equal(await region({ settings: [both[1]!, both[0]!] }), 'lon1', 'the later -var wins');
  const list = await convert(dir, {
    force: true,
    settings: [{ kind: 'var', name: 'images', value: '["debian-12-x64"]' }],
  });
  assert.equal(list.spec.droplet.image, 'debian-12-x64', 'a list variable from -var is parsed as HCL');
  await assert.rejects(
    convert(dir, { force: true, settings: [{ kind: 'var', name: 'app_version', value: 'latest' }] }),
    /variables\.pkr\.hcl:\d+:\d+: .*"app_version" is not valid: Use x\.y\.z\./,
  );
});

test('HCL2 errors name the file, line and construct; --partial writes the rest', async () => {
  const dir = await withFiles({
    'main.pkr.hcl': `${PLUGIN}source "digitalocean" "a" {\n  image = "debian-12-x64"\n}\nbuild {\n  sources = ["source.digitalocean.a"]\n  provisioner "shell" {\n    inline = ["echo \${vault("x", "y")}"]\n  }\n  provisioner "puppet-masterless" {\n    manifest_file = "x.pp"\n  }\n  provisioner "shell" {\n    inline = ["echo ok"]\n  }\n}\n`,
  });
  await assert.rejects(convert(dir), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.match(
      err.message,
      /main\.pkr\.hcl:14:5: build\.provisioner\[0\]\.inline: the function vault\(\) cannot be converted/,
    );
    assert.match(
      err.message,
      /main\.pkr\.hcl:16:3: build\.provisioner\[1\]: provisioner type "puppet-masterless" cannot be converted/,
    );
    return true;
  });
  const { spec, text } = await convert(dir, { partial: true });
  assert.deepEqual(spec.steps, [{ run: 'set -e\necho ok' }]);
  assert.match(text, /# NOT CONVERTED: main\.pkr\.hcl:14:5/);
});

test('HCL2 several sources with build overrides → a matrix; builder options mapped or refused', async () => {
  const src = (name: string, image: string) =>
    `source "digitalocean" "${name}" {\n  image = "${image}"\n  region = "nyc3"\n  size = "s-1vcpu-1gb"\n  private_networking = true\n  vpc_uuid = "5a4981aa-9653-4bd1-bef5-d6bff52042e4"\n  connect_with_private_ip = true\n  ipv6 = true\n  user_data_file = "cloud.yaml"\n  snapshot_regions = ["ams3"]\n  wait_snapshot_transfer = false\n  transfer_timeout = "1h"\n  ssh_bastion_host = "bastion.example.com"\n  ssh_bastion_username = "jump"\n  ssh_bastion_private_key_file = "~/.ssh/bastion"\n  ssh_private_key_file = "~/.ssh/secret_key"\n  ssh_key_id = 1234\n}\n`;
  const dir = await withFiles({
    'plugins.pkr.hcl': PLUGIN,
    'sources.pkr.hcl': src('u22', 'ubuntu-22-04-x64') + src('u24', 'ubuntu-24-04-x64'),
    'build.pkr.hcl':
      'build {\n  sources = ["source.digitalocean.u22", "source.digitalocean.u24"]\n  provisioner "shell" {\n    inline = ["echo hi"]\n  }\n}\n',
    'cloud.yaml': '#cloud-config\n',
  });
  const { spec, text, loaded } = await convert(dir);
  assert.deepEqual(spec.matrix, { image: ['ubuntu-22-04-x64', 'ubuntu-24-04-x64'] });
  assert.deepEqual(spec.droplet, {
    image: 'ubuntu-22-04-x64',
    region: 'nyc3',
    size: 's-1vcpu-1gb',
    privateNetworking: true,
    vpcUuid: '5a4981aa-9653-4bd1-bef5-d6bff52042e4',
    connectWithPrivateIp: true,
    ipv6: true,
    userDataFile: 'cloud.yaml',
  });
  assert.deepEqual(spec.ssh, {
    bastion: { host: 'bastion.example.com', user: 'jump', privateKey: { fromWorker: 'SSH_BASTION_KEY' } },
  });
  assert.deepEqual(spec.snapshot, { regions: ['ams3'], waitForTransfer: false });
  assert.deepEqual(spec.timeouts, { transfer: '1h' });
  assert.doesNotMatch(text, /secret_key|\.ssh\/bastion/, 'key paths are never written');
  assert.deepEqual(loaded.plan.droplet.userData, { path: 'cloud.yaml' });

  await fs.writeFile(
    path.join(dir, 'sources.pkr.hcl'),
    src('u22', 'ubuntu-22-04-x64').replace('ipv6 = true', 'droplet_agent = true\n  http_retry_wait_max = "x"'),
  );
  await fs.writeFile(path.join(dir, 'build.pkr.hcl'), 'build {\n  sources = ["source.digitalocean.u22"]\n}\n');
  await assert.rejects(convert(dir, { force: true }), (err: unknown) => {
    assert.match(
      String(err),
      /sources\.pkr\.hcl:8:3: source\.digitalocean\.u22\.droplet_agent: droplet_agent true cannot be converted/,
    );
    assert.match(String(err), /http_retry_wait_max must be a number of seconds/);
    return true;
  });

  const one = (extra: string) =>
    `source "digitalocean" "u22" {\n  image = "ubuntu-22-04-x64"\n  snapshot_timeout = "30m"\n  user_data = "#cloud-config\\npackages: [jq]"\n  monitoring = true\n  ssh_bastion_host = "bastion.example.com"\n  ssh_bastion_port = 2222\n  ssh_bastion_private_key_file = "~/.ssh/bastion"\n${extra}}\n`;
  await fs.writeFile(path.join(dir, 'sources.pkr.hcl'), one(''));
  const opts = await convert(dir, { force: true });
  assert.deepEqual(opts.spec.timeouts, { snapshot: '30m' });
  assert.equal(opts.loaded.plan.timeouts?.snapshotMs, 1_800_000);
  assert.equal(opts.spec.droplet.userData, '#cloud-config\npackages: [jq]');
  assert.equal(opts.spec.droplet.monitoring, true);
  assert.ok(
    opts.result.notes.some((n) => /monitoring: droplet\.monitoring: true installs DigitalOcean's agent/.test(n)),
  );
  assert.deepEqual(opts.spec.ssh, {
    bastion: { host: 'bastion.example.com', port: 2222, privateKey: { fromWorker: 'SSH_BASTION_KEY' } },
  });
  await fs.writeFile(path.join(dir, 'sources.pkr.hcl'), one('  ssh_bastion_password = "pw"\n'));
  await assert.rejects(
    convert(dir, { force: true }),
    /sources\.pkr\.hcl:9:3: source\.digitalocean\.u22\.ssh_bastion_password: (ssh_bastion_password: )?a bastion password cannot be converted/,
  );
});

test('HCL2 shell-local running mp-submit.sh → marketplace:, with a note', async () => {
  const dir = await withFiles({
    'template.pkr.hcl': `${PLUGIN}variable "app_id" {\n  default = "5f8a0c1d2e3b4a5c6d7e8f90"\n}\nsource "digitalocean" "a" {\n  image = "debian-12-x64"\n}\nbuild {\n  sources = ["source.digitalocean.a"]\n  post-processor "manifest" {\n    output = "manifest.json"\n  }\n  post-processor "shell-local" {\n    environment_vars = ["APP_ID=\${var.app_id}", "VERSION=2.1.0"]\n    script = "mp-submit.sh"\n  }\n}\n`,
    'mp-submit.sh': [
      '#!/bin/bash',
      "IMAGE_ID=$(jq -r '.builds[-1].artifact_id' manifest.json | cut -d: -f2)",
      'curl -fsS -X PATCH "https://api.digitalocean.com/api/v1/vendor-portal/apps/${APP_ID}" \\',
      '  -H "Authorization: Bearer ${DIGITALOCEAN_TOKEN}" -H "Content-Type: application/json" \\',
      '  -d "{\\"imageId\\": ${IMAGE_ID}, \\"version\\": \\"${VERSION}\\", \\"reasonForUpdate\\": \\"Security updates\\"}"',
      '',
    ].join('\n'),
  });
  const { spec, loaded, result } = await convert(dir);
  assert.deepEqual(spec.marketplace, {
    appId: '5f8a0c1d2e3b4a5c6d7e8f90',
    version: '2.1.0',
    reasonForUpdate: 'Security updates',
  });
  assert.equal(loaded.plan.marketplace?.appId, '5f8a0c1d2e3b4a5c6d7e8f90');
  assert.ok(result.notes.some((n) => /submits the snapshot to the Vendor API .*client start-build --publish/.test(n)));
});

test('HCL2 shell-local whose inline line runs do/mp-submit.sh (droplet-1-clicks style): the script is read, and an app id only set when it runs is named', async () => {
  const template = (env: string) =>
    `${PLUGIN}source "digitalocean" "a" {\n  image = "ubuntu-22-04-x64"\n}\nbuild {\n  sources = ["source.digitalocean.a"]\n  post-processors {\n    post-processor "manifest" {\n      output = "manifest.json"\n    }\n    post-processor "shell-local" {\n${env}      inline = [ "sh do/mp-submit.sh" ]\n    }\n  }\n}\n`;
  const submit = [
    '#!/bin/bash',
    'if [ $SUBMIT_MP == true ]; then',
    '  IMG_ID=$(jq \'.builds[-1].artifact_id | split(":")[1] | tonumber\' manifest.json)',
    '  curl -X PATCH -H "Content-Type: application/json" -H "Authorization: Bearer ${DIGITALOCEAN_TOKEN}" -d "{\\"reasonForUpdate\\": \\"new version\\", \\"version\\": \\"${APP_VERSION}\\", \\"imageId\\": ${IMG_ID}}" https://api.digitalocean.com/api/v1/vendor-portal/apps/${APP_ID}/versions/${APP_VERSION}',
    'fi',
    '',
  ].join('\n');
  const dir = await withFiles({ 'do.pkr.hcl': template(''), 'do/mp-submit.sh': submit });
  // The app id comes from the cron job's environment: not mapped, the template still imports, and
  // the note says what to run after the build.
  const unmapped = await convert(dir);
  assert.equal(unmapped.spec.marketplace, undefined);
  assert.ok(
    unmapped.result.notes.some((n) =>
      /^build\.post-processor\[1\] \(shell-local\) dropped: it publishes to the Vendor API, but its app id \(\$\{APP_ID\}\) is only known when it runs.*run it yourself after the build \(`sh do\/mp-submit\.sh`\)/.test(
        n,
      ),
    ),
  );
  // With the values the cron job exports given to the post-processor, it maps.
  await fs.writeFile(
    path.join(dir, 'do.pkr.hcl'),
    template('      environment_vars = ["APP_ID=6a1b2c3d4e5f60718293a4b5", "APP_VERSION=0.22.1"]\n'),
  );
  const { spec } = await convert(dir, { force: true });
  assert.deepEqual(spec.marketplace, {
    appId: '6a1b2c3d4e5f60718293a4b5',
    version: '0.22.1',
    reasonForUpdate: 'new version',
  });
});

test('legacy JSON: http_retry_* and vpc_uuid now map instead of being refused', async () => {
  const dir = await withFiles({
    'template.json': JSON.stringify({
      builders: [
        {
          type: 'digitalocean',
          image: 'debian-12-x64',
          http_retry_max: 3,
          private_networking: true,
          vpc_uuid: '5a4981aa-9653-4bd1-bef5-d6bff52042e4',
        },
      ],
      provisioners: [{ type: 'shell', inline: ['true'] }],
    }),
  });
  const { spec } = await convert(dir, { template: 'template.json' });
  assert.deepEqual(spec.api, { retryMax: 3 });
  assert.equal(spec.droplet.vpcUuid, '5a4981aa-9653-4bd1-bef5-d6bff52042e4');
});

test('HCL2 functions and constructs real templates use: file, yamldecode, jsondecode, regex_replace, split, abspath, path.cwd, *.pkr.json, source overrides, PKR_VAR_ for a secret', async () => {
  const dir = await withFiles({
    'plugins.pkr.hcl': PLUGIN,
    'vars.pkr.hcl':
      'variable "api_key" {\n  type      = string\n  sensitive = true\n}\nvariable "apps" {\n  default = "nginx,redis-server"\n}\nlocals {\n  settings = yamldecode(file("${path.root}/settings.yaml"))\n  meta     = jsondecode(file("meta.json"))\n  banner   = regex_replace(local.meta.name, "[^a-z]", "-")\n  here     = abspath(path.cwd)\n}\n',
    'build.pkr.hcl':
      'source "digitalocean" "base" {\n  image  = "debian-12-x64"\n  region = "nyc3"\n  size   = local.settings.size\n  snapshot_name = "${local.banner}-${local.settings.version}"\n}\nbuild {\n  source "source.digitalocean.base" {\n    region = "ams3"\n  }\n  provisioner "shell" {\n    environment_vars = ["API_KEY=${var.api_key}"]\n    inline = [for a in split(",", var.apps) : "apt-get install -y ${a}"]\n  }\n  provisioner "shell" {\n    inline = ["echo ${var.motd} > /etc/motd", "echo ${length(local.here) > 0 ? "ok" : "no"}"]\n  }\n}\n',
    'extra.pkr.json': '{ "variable": { "motd": { "default": "Welcome" } } }\n',
    'settings.yaml': 'size: s-2vcpu-2gb\nversion: "3.1"\n',
    'meta.json': '{"name": "my App!"}\n',
  });
  const { spec, text, result } = await convert(dir, { env: { PKR_VAR_api_key: 's3cret-value' } });
  assert.equal(spec.droplet?.region, 'ams3', 'the source block inside build overrides the region');
  assert.equal(spec.droplet?.size, 's-2vcpu-2gb', 'yamldecode(file(path.root/…))');
  assert.equal((spec.snapshot as { name?: string }).name, 'my--pp--3.1', 'jsondecode + regex_replace');
  assert.deepEqual((spec.apt as { packages: string[] }).packages, ['nginx', 'redis-server'], 'split in a for');
  assert.deepEqual(spec.steps, [{ run: 'set -e\necho Welcome > /etc/motd\necho ok' }], '*.pkr.json, abspath');
  assert.ok(result.notes.some((n) => /PKR_VAR_api_key sets the sensitive variable "api_key"/.test(n)));
  assert.doesNotMatch(text, /s3cret-value/, 'a sensitive value is never written');
});

test('HCL2: a reboot step (expect_disconnect) and uuidv4() in a command are refused with file and line', async () => {
  const dir = await withFiles({
    'main.pkr.hcl': `${PLUGIN}source "digitalocean" "a" {\n  image = "debian-12-x64"\n}\nbuild {\n  sources = ["source.digitalocean.a"]\n  provisioner "shell" {\n    inline            = ["reboot"]\n    expect_disconnect = true\n  }\n  provisioner "shell" {\n    inline = ["echo \${uuidv4()} > /etc/build-id"]\n  }\n}\n`,
  });
  await assert.rejects(convert(dir), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.match(
      err.message,
      /main\.pkr\.hcl:\d+:\d+: build\.provisioner\[0\]\.expect_disconnect: .*cannot be converted/,
    );
    assert.match(err.message, /main\.pkr\.hcl:\d+:\d+: build\.provisioner\[1\]\.inline\[0\]: uuidv4\(\) in a command/);
    return true;
  });
});

test('HCL2: a sensitive local is a secret: the worker reads it, its value is never written', async () => {
  const dir = await withFiles({
    'main.pkr.hcl': `${PLUGIN}local "db_password" {\n  expression = "hunter2"\n  sensitive  = true\n}\nsource "digitalocean" "a" {\n  image = "debian-12-x64"\n}\nbuild {\n  sources = ["source.digitalocean.a"]\n  provisioner "shell" {\n    environment_vars = ["DB_PASSWORD=\${local.db_password}"]\n    inline = ["echo \${local.db_password} | passwd --stdin app"]\n  }\n}\n`,
  });
  const { spec, text } = await convert(dir);
  assert.doesNotMatch(text, /hunter2/, 'the value of a sensitive local is never written');
  // The worker variable is workerEnvName(local name), as for a sensitive variable: db_password → DB_PASSWORD.
  assert.deepEqual(spec.env, { DB_PASSWORD: { fromWorker: 'DB_PASSWORD' } });
  assert.deepEqual(spec.steps, [{ run: 'set -e\necho "${DB_PASSWORD}" | passwd --stdin app' }]);
  await fs.writeFile(path.join(dir, 'vars.pkr.hcl'), 'variable "db_password" {\n  default = "x"\n}\n');
  await assert.rejects(
    convert(dir, { force: true }),
    /main\.pkr\.hcl:8:1: local\.db_password: the sensitive local "db_password" and the variable "db_password" would both be read on the worker from DB_PASSWORD/,
  );
});

test('HCL2: data, dynamic and other blocks the importer cannot translate are errors at file:line; a build name and hcp_packer_registry are notes', async () => {
  const dir = await withFiles({
    'main.pkr.hcl': `${PLUGIN}data "http" "version" {\n  url = "https://example.com/v"\n}\nsource "digitalocean" "a" {\n  image = "debian-12-x64"\n}\nbuild {\n  name        = "app"\n  description = "the app image"\n  sources     = ["source.digitalocean.a"]\n  dynamic "provisioner" {\n    for_each = ["a", "b"]\n    labels   = ["shell"]\n    content {\n      inline = ["echo \${provisioner.value}"]\n    }\n  }\n  error-cleanup-provisioner "shell" {\n    inline = ["echo failed"]\n  }\n  hcp_packer_registry {\n    bucket_name = "app"\n  }\n  provisioner "shell" {\n    inline = ["echo ok"]\n  }\n}\n`,
  });
  await assert.rejects(convert(dir), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.match(err.message, /main\.pkr\.hcl:8:1: data\.http\.version: data "http" "version" cannot be converted/);
    assert.match(err.message, /main\.pkr\.hcl:18:3: build\.dynamic\.provisioner: dynamic "provisioner" in a build/);
    assert.match(
      err.message,
      /main\.pkr\.hcl:25:3: .*error-cleanup-provisioner "shell" in a build cannot be converted/,
    );
    assert.doesNotMatch(err.message, /hcp_packer_registry/);
    return true;
  });
  const { spec, result, text } = await convert(dir, { partial: true });
  assert.deepEqual(spec.steps, [{ run: 'set -e\necho ok' }]);
  assert.match(text, /# NOT CONVERTED: main\.pkr\.hcl:18:3/);
  assert.ok(result.notes.some((n) => /^build\.name \("app"\): dropped/.test(n)));
  assert.ok(
    result.notes.some((n) => /^build\.hcp_packer_registry: dropped; .*manifest .*bill of materials/.test(n)),
    'hcp_packer_registry is a note: the manifest and the bill of materials record that metadata',
  );
});

test('HCL2: a heredoc inside an expression (<<-EOF strips the indent) is a template', async () => {
  const dir = await withFiles({
    'main.pkr.hcl': `${PLUGIN}variable "v" {\n  default = "1.2"\n}\nsource "digitalocean" "a" {\n  image     = "debian-12-x64"\n  user_data = trimspace(<<-EOF\n    #cloud-config\n    write_files:\n      - path: /etc/app-version\n        content: \${var.v}\n    EOF\n  )\n}\nbuild {\n  sources = ["source.digitalocean.a"]\n  provisioner "shell" {\n    inline = [<<EOF\necho \${upper("x")}\nEOF\n    ]\n  }\n}\n`,
  });
  const { spec } = await convert(dir);
  assert.equal(
    (spec.droplet as { userData?: string }).userData,
    '#cloud-config\nwrite_files:\n  - path: /etc/app-version\n    content: 1.2',
  );
  assert.deepEqual(spec.steps, [{ run: 'set -e\necho X\n' }]);
});

test('HCL2: splats over a list: var.users[*].name and var.users.*.name', async () => {
  const dir = await withFiles({
    'main.pkr.hcl': `${PLUGIN}variable "users" {\n  default = [{ name = "a", keys = ["k1"] }, { name = "b", keys = ["k2"] }]\n}\nsource "digitalocean" "a" {\n  image = "debian-12-x64"\n}\nbuild {\n  sources = ["source.digitalocean.a"]\n  provisioner "shell" {\n    inline = [\n      "echo \${join(" ", var.users[*].name)}",\n      "echo \${join(",", var.users.*.name)} \${join(",", var.users[*].keys[0])}",\n    ]\n  }\n}\n`,
  });
  const { spec } = await convert(dir);
  assert.deepEqual(spec.steps, [{ run: 'set -e\necho a b\necho a,b k1,k2' }]);
});

test('HCL2: values are checked against the variable type (default, var file, -var, PKR_VAR_)', async () => {
  const vars =
    'variable "count" {\n  type    = number\n  default = "abc"\n}\nvariable "on" {\n  type    = bool\n  default = true\n}\nvariable "tags" {\n  type    = list(string)\n  default = ["a"]\n}\nvariable "labels" {\n  type    = map(string)\n  default = { a = "b" }\n}\n';
  const dir = await withFiles({
    'vars.pkr.hcl': vars,
    'main.pkr.hcl': `${PLUGIN}source "digitalocean" "a" {\n  image = "debian-12-x64"\n  tags  = var.tags\n}\nbuild {\n  sources = ["source.digitalocean.a"]\n  provisioner "shell" {\n    inline = ["echo \${var.count} \${var.on}"]\n  }\n}\n`,
    'bad.pkrvars.hcl': 'tags = "not-a-list"\nlabels = ["x"]\n',
  });
  await assert.rejects(
    convert(dir),
    /vars\.pkr\.hcl:3:3: variable\.count\.default: the variable "count" is declared number, but its value "abc" from its default is not a number/,
  );
  await fs.writeFile(path.join(dir, 'vars.pkr.hcl'), vars.replace('"abc"', '3'));
  assert.deepEqual((await convert(dir)).spec.steps, [{ run: 'set -e\necho 3 true' }]);
  await assert.rejects(
    convert(dir, { force: true, settings: [{ kind: 'var-file', file: 'bad.pkrvars.hcl' }] }),
    (err: unknown) => {
      assert.match(
        String(err),
        /vars\.pkr\.hcl:9:1: variable\.tags: .*"tags" is declared list\(string\), but its value "not-a-list" from bad\.pkrvars\.hcl is not a list/,
      );
      assert.match(
        String(err),
        /"labels" is declared map\(string\), but its value from bad\.pkrvars\.hcl is not a map/,
      );
      return true;
    },
  );
  await assert.rejects(
    convert(dir, { force: true, env: { PKR_VAR_on: 'yes' } }),
    /"on" is declared bool, but its value "yes" from PKR_VAR_on is not true or false/,
  );
  await assert.rejects(
    convert(dir, { force: true, settings: [{ kind: 'var', name: 'tags', value: '["a", ["b"]]' }] }),
    /"tags" is declared list\(string\), but its value from --var tags is element 1: a list, not a string/,
  );
});

test('HCL2: templatefile, env() in a variable default, abspath and path.cwd give their values; env() elsewhere is refused', async () => {
  const main = `${PLUGIN}variable "greeting" {\n  default = env("GREETING")\n}\nlocals {\n  motd = templatefile("\${path.root}/motd.tpl", { version = "2.0", names = ["ann", "bo"] })\n  here = abspath("sub")\n}\nsource "digitalocean" "a" {\n  image = "debian-12-x64"\n}\nbuild {\n  sources = ["source.digitalocean.a"]\n  provisioner "shell" {\n    inline = ["echo '\${local.motd}' > /etc/motd", "echo \${var.greeting}", "echo \${local.here} \${path.cwd}"]\n  }\n}\n`;
  const dir = await withFiles({
    'main.pkr.hcl': main,
    'motd.tpl': 'Welcome to v${version}:%{ for n in names } ${upper(n)}%{ endfor }',
  });
  const { spec } = await convert(dir, { env: { GREETING: 'hola' } });
  assert.deepEqual(spec.steps, [
    { run: `set -e\necho 'Welcome to v2.0: ANN BO' > /etc/motd\necho hola\necho ${path.join(dir, 'sub')} ${dir}` },
  ]);
  await fs.writeFile(path.join(dir, 'main.pkr.hcl'), main.replace('here = abspath("sub")', 'here = env("HOME")'));
  await assert.rejects(
    convert(dir, { force: true, env: { HOME: '/root' } }),
    /main\.pkr\.hcl:\d+:\d+: .*env\(\) can only be used in a variable's default \(Packer's rule\)/,
  );
});

test('HCL2: source.name with several sources is refused at each use, naming the sources (no misleading matrix error)', async () => {
  const src = (name: string, image: string) =>
    `source "digitalocean" "${name}" {\n  image         = "${image}"\n  snapshot_name = "app-\${source.name}-\${timestamp()}"\n}\n`;
  const dir = await withFiles({
    'main.pkr.hcl': `${PLUGIN}${src('u22', 'ubuntu-22-04-x64')}${src('u24', 'ubuntu-24-04-x64')}build {\n  sources = ["source.digitalocean.u22", "source.digitalocean.u24"]\n  provisioner "shell" {\n    inline = ["echo \${source.name}"]\n  }\n}\n`,
  });
  await assert.rejects(convert(dir), (err: unknown) => {
    const m = String(err);
    assert.match(
      m,
      /main\.pkr\.hcl:10:3: source\.digitalocean\.u22\.snapshot_name: source\.name differs per source \(u22, u24\)/,
    );
    assert.match(m, /main\.pkr\.hcl:14:3: source\.digitalocean\.u24\.snapshot_name: source\.name differs per source/);
    assert.match(m, /main\.pkr\.hcl:19:5: build\.provisioner\[0\]\.inline: source\.name differs per source/);
    assert.doesNotMatch(m, /not every combination/);
    return true;
  });
});
