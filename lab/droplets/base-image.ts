/**
 * Base images: a Debian tree per distribution slug, built once per machine into the cache and
 * shared read-only (overlayfs lower layer) by every droplet booted from it.
 *
 * Recipe (lab-notes): debootstrap --variant=minbase, then apt-get install the rest inside the tree
 * (debootstrap --include cannot resolve cloud-init's dependencies on bookworm) in a private mount
 * namespace with /proc and a policy-rc.d that keeps services from starting during the build.
 */
import { createHash } from 'node:crypto';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, symlink, unlink, writeFile, chmod, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run, runWithStdio } from './exec';
import { withFileLock } from './lock';
import { imageDir, imageMarker, imageRootfs } from './paths';

export interface Distribution {
  slug: string;
  suite: string;
  description: string;
}

const DISTRIBUTIONS: readonly Distribution[] = [
  { slug: 'debian-12-x64', suite: 'bookworm', description: 'Debian 12 x64' },
  { slug: 'debian-13-x64', suite: 'trixie', description: 'Debian 13 x64' },
];

/** Bump when the build steps change in a way the hashed inputs below do not show. */
const RECIPE_VERSION = 5;

/**
 * What a fresh DigitalOcean Debian droplet has that a minbase tree lacks. Not ufw: builds install it.
 * openssh-sftp-server (a Recommends) because builders upload over SFTP; libpam-systemd for logind.
 */
const PACKAGES = [
  'systemd-sysv',
  'dbus',
  'libpam-systemd',
  'openssh-server',
  'openssh-sftp-server',
  'cloud-init',
  'ca-certificates',
  'curl',
  'iproute2',
  'procps',
  'sudo',
  'gnupg',
  'less',
  'netbase',
];

/**
 * cloud-init as a droplet needs it here: NoCloud seed (bind-mounted by the runtime), no network
 * config (the runtime sets up eth0), root login with the droplet's keys like DigitalOcean (no
 * default user), and nothing that would touch files the runtime owns (/etc/hosts, the disk size).
 */
const CLOUD_CFG = `# image-forge lab: cloud-init as on a DigitalOcean droplet, adapted to a container
datasource_list: [ NoCloud, None ]
network: {config: disabled}
locale: C.UTF-8
disable_root: false
ssh_pwauth: false
users: []
manage_etc_hosts: false
resize_rootfs: false
growpart: {mode: "off"}
ssh_genkeytypes: [rsa, ecdsa, ed25519]
apt:
  preserve_sources_list: true
`;

export function listDistributions(): Distribution[] {
  return DISTRIBUTIONS.map((d) => ({ ...d }));
}

function distribution(slug: string): Distribution {
  const d = DISTRIBUTIONS.find((x) => x.slug === slug);
  if (!d)
    throw new Error(
      `unknown distribution ${JSON.stringify(slug)}; known: ${DISTRIBUTIONS.map((x) => x.slug).join(', ')}`,
    );
  return d;
}

function aptSources(suite: string, mirror: string, security: string, keyring: string): string {
  return `Types: deb
URIs: ${mirror}
Suites: ${suite} ${suite}-updates
Components: main
Signed-By: ${keyring}

Types: deb
URIs: ${security}
Suites: ${suite}-security
Components: main
Signed-By: ${keyring}
`;
}

export function recipeHash(slug: string): string {
  const d = distribution(slug);
  return createHash('sha256')
    .update(
      JSON.stringify({
        RECIPE_VERSION,
        suite: d.suite,
        PACKAGES,
        CLOUD_CFG,
        sources: aptSources(d.suite, 'M', 'S', 'K'),
      }),
    )
    .digest('hex')
    .slice(0, 16);
}

async function isComplete(slug: string): Promise<boolean> {
  try {
    const marker = JSON.parse(await readFile(imageMarker(slug), 'utf8')) as { recipe?: string };
    return marker.recipe === recipeHash(slug) && existsSync(join(imageRootfs(slug), 'usr/lib/os-release'));
  } catch {
    return false;
  }
}

/** Slugs whose base tree is built and matches the current recipe. */
export async function readyDistributions(): Promise<string[]> {
  const ready: string[] = [];
  for (const d of DISTRIBUTIONS) if (await isComplete(d.slug)) ready.push(d.slug);
  return ready;
}

/** The host's own Debian mirror (and security mirror), as apt on this machine uses them. */
export async function hostMirrors(): Promise<{ mirror: string; security: string }> {
  let text = '';
  const files = ['/etc/apt/sources.list'];
  try {
    for (const f of await readdir('/etc/apt/sources.list.d')) files.push(join('/etc/apt/sources.list.d', f));
  } catch {
    // no sources.list.d
  }
  for (const f of files) {
    try {
      text += `\n${await readFile(f, 'utf8')}`;
    } catch {
      // unreadable or missing
    }
  }
  const uris = [...text.matchAll(/(?:^URIs:\s*|^deb\s+(?:\[[^\]]*\]\s+)?)(http:\/\/\S+)/gm)].map((m) =>
    (m[1] ?? '').replace(/\/$/, ''),
  );
  const security = uris.find((u) => /\/debian-security$/.test(u)) ?? 'http://deb.debian.org/debian-security';
  const mirror = uris.find((u) => /\/debian$/.test(u)) ?? 'http://deb.debian.org/debian';
  return { mirror, security };
}

function log(msg: string): void {
  process.stderr.write(`[base-image] ${msg}\n`);
}

/**
 * Makes sure the base tree for `slug` exists and matches the current recipe; returns its path.
 * Safe to call concurrently from many processes: one builds (into a temporary directory, renamed
 * into place, the marker written last), the others wait on the lock and then find it ready.
 */
export async function ensureBaseImage(slug: string): Promise<string> {
  distribution(slug);
  if (await isComplete(slug)) return imageRootfs(slug);
  await mkdir(imageDir(slug), { recursive: true });
  return withFileLock(join(imageDir(slug), 'lock'), async () => {
    if (await isComplete(slug)) return imageRootfs(slug);
    const started = Date.now();
    const tmp = join(imageDir(slug), 'rootfs.building');
    await run('rm', ['-rf', '--one-file-system', tmp]);
    const logPath = join(imageDir(slug), 'build.log');
    try {
      await build(slug, tmp, logPath);
    } catch (err) {
      const tail = await readFile(logPath, 'utf8').catch(() => '');
      log(`build of ${slug} failed; last lines of ${logPath}:\n${tail.split('\n').slice(-30).join('\n')}`);
      await run('rm', ['-rf', '--one-file-system', tmp]).catch(() => undefined);
      throw err;
    }
    await unlink(imageMarker(slug)).catch(() => undefined);
    if (existsSync(imageRootfs(slug))) await rename(imageRootfs(slug), join(imageDir(slug), `retired-${Date.now()}`));
    await rename(tmp, imageRootfs(slug));
    const seconds = (Date.now() - started) / 1000;
    await writeFile(
      imageMarker(slug),
      `${JSON.stringify({ recipe: recipeHash(slug), builtAt: new Date().toISOString(), seconds })}\n`,
    );
    log(`${slug} ready in ${seconds.toFixed(1)} s at ${imageRootfs(slug)}`);
    await pruneRetired(slug);
    return imageRootfs(slug);
  });
}

/** Old trees from a previous recipe: removed once no droplet's overlay uses this slug's tree. */
async function pruneRetired(slug: string): Promise<void> {
  const retired = (await readdir(imageDir(slug))).filter((n) => n.startsWith('retired-'));
  if (retired.length === 0) return;
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  if (mountinfo.includes(imageDir(slug))) {
    log(`keeping ${retired.length} retired tree(s) of ${slug}: droplets still use them`);
    return;
  }
  for (const r of retired) await run('rm', ['-rf', '--one-file-system', join(imageDir(slug), r)]);
}

async function build(slug: string, root: string, logPath: string): Promise<void> {
  const { suite } = distribution(slug);
  const { mirror, security } = await hostMirrors();
  const logFd = openSync(logPath, 'w');
  const out = ['ignore', logFd, logFd] as const;
  try {
    let t = Date.now();
    log(`${slug}: debootstrap --variant=minbase ${suite} from ${mirror} (log: ${logPath})`);
    // A private mount namespace: whatever debootstrap mounts in the tree goes away with it.
    await runWithStdio(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        '--',
        'debootstrap',
        '--variant=minbase',
        '--components=main',
        suite,
        root,
        mirror,
      ],
      [...out],
    );
    log(`${slug}: debootstrap done in ${((Date.now() - t) / 1000).toFixed(1)} s`);

    const keyring =
      ['/usr/share/keyrings/debian-archive-keyring.pgp', '/usr/share/keyrings/debian-archive-keyring.gpg'].find((k) =>
        existsSync(join(root, k)),
      ) ?? '/usr/share/keyrings/debian-archive-keyring.gpg';
    await rm(join(root, 'etc/apt/sources.list'), { force: true });
    await writeFile(join(root, 'etc/apt/sources.list.d/debian.sources'), aptSources(suite, mirror, security, keyring));
    await writeFile(join(root, 'usr/sbin/policy-rc.d'), '#!/bin/sh\n# image build: start no services\nexit 101\n');
    await chmod(join(root, 'usr/sbin/policy-rc.d'), 0o755);
    await writeFile(join(root, 'etc/resolv.conf'), await readFile('/etc/resolv.conf'));
    // Pre-set so cloud-init's locale module has nothing to regenerate (no `locales` package here).
    await writeFile(join(root, 'etc/default/locale'), 'LANG=C.UTF-8\n');
    await mkdir(join(root, 'etc/cloud/cloud.cfg.d'), { recursive: true });
    await writeFile(join(root, 'etc/cloud/cloud.cfg.d/90_image-forge-lab.cfg'), CLOUD_CFG);

    t = Date.now();
    log(`${slug}: apt-get install ${PACKAGES.join(' ')}`);
    const inside = [
      'set -e',
      'export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8',
      'apt-get update',
      'apt-get -y upgrade',
      `apt-get install -y --no-install-recommends ${PACKAGES.join(' ')}`,
      'apt-get clean',
    ].join('\n');
    await runWithStdio(
      'unshare',
      [
        '--mount',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        'mount -t proc proc "$1/proc" && exec chroot "$1" sh -c "$2"',
        'sh',
        root,
        inside,
      ],
      [...out],
    );
    log(`${slug}: packages installed in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    await finish(root, suite, keyring);
  } finally {
    closeSync(logFd);
  }
}

/** Makes the tree a clean image: per-droplet identity removed, caches emptied, no build leftovers. */
async function finish(root: string, suite: string, keyring: string): Promise<void> {
  await rm(join(root, 'usr/sbin/policy-rc.d'), { force: true });
  // Droplets reach the mirror by this name through the host's forwarder (see network.ts).
  const dropletSources = aptSources(
    suite,
    'http://deb.debian.org/debian',
    'http://deb.debian.org/debian-security',
    keyring,
  );
  await writeFile(join(root, 'etc/apt/sources.list.d/debian.sources'), dropletSources);
  // Host keys come from cloud-init on each droplet's first boot (new instance → new keys).
  for (const f of await readdir(join(root, 'etc/ssh'))) {
    if (f.startsWith('ssh_host_')) await rm(join(root, 'etc/ssh', f), { force: true });
  }
  // The drop-in cloud-init writes for ssh_pwauth: false, written now: otherwise cloud-init 22.4
  // (bookworm) writes it during the first boot and restarts sshd, refusing connections right after
  // port 22 first answered.
  const pwauth = join(root, 'etc/ssh/sshd_config.d/50-cloud-init.conf');
  await writeFile(pwauth, 'PasswordAuthentication no\n', { mode: 0o600 });
  // Empty machine-id: systemd makes one at the first boot and commits it, so each droplet has its own.
  await writeFile(join(root, 'etc/machine-id'), '');
  const dbusId = join(root, 'var/lib/dbus/machine-id');
  if (
    existsSync(dbusId) &&
    !(await stat(dbusId)
      .then((s) => s.isSymbolicLink())
      .catch(() => false))
  ) {
    await rm(dbusId, { force: true });
    await symlink('/etc/machine-id', dbusId);
  }
  await writeFile(join(root, 'etc/hostname'), 'localhost\n');
  await writeFile(
    join(root, 'etc/hosts'),
    '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n',
  );
  // No DNS inside a lab droplet: the runtime's /etc/hosts names the mirror.
  await writeFile(join(root, 'etc/resolv.conf'), '# image-forge lab droplet: no DNS server; see /etc/hosts\n');
  // No getty on the read-only console (lab-notes).
  await symlinkForce('/dev/null', join(root, 'etc/systemd/system/console-getty.service'));
  await run('sh', [
    '-c',
    'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/lib/cloud/* "$1"/tmp/* "$1"/var/tmp/* "$1"/root/.bash_history "$1"/var/log/bootstrap.log && find "$1"/var/log -type f -exec truncate -s 0 {} +',
    'sh',
    root,
  ]);
  await mkdir(join(root, 'var/lib/apt/lists/partial'), { recursive: true });
}

async function symlinkForce(target: string, path: string): Promise<void> {
  await rm(path, { force: true });
  await symlink(target, path);
}

/** CLI: `node dist/lab/droplets/base-image.js [slug ...]` builds the given (default: all) base images. */
export async function prepareBaseImagesCli(argv: string[]): Promise<number> {
  const slugs = argv.length > 0 ? argv : DISTRIBUTIONS.map((d) => d.slug);
  for (const slug of slugs) process.stdout.write(`${slug}\t${await ensureBaseImage(slug)}\n`);
  return 0;
}

if (require.main === module) {
  prepareBaseImagesCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
