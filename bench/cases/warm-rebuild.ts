/**
 * P8: a warm rebuild. The LAMP spec built with the lab's apt cache empty (a fresh directory), then
 * the same spec again with that cache warm; the second build's time over the first's, each from
 * its first step to its snapshot. The worker's apt proxy (IMAGE_FORGE_APT_PROXY) is what makes
 * the second one cheaper: its packages come from the cache on the worker's host, not the mirror.
 *
 * The profile says how much cheaper it can be: on a fresh droplet, through another empty cache, raw
 * ssh times the spec's apt work split in two, the download (apt-get update and --download-only) and
 * the install of what was downloaded (dpkg and the packages' maintainer scripts). A cache can save
 * the first part only, so 1 − download ÷ first build is the floor of the ratio for any apt cache.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { StepRecord } from '../../contract/build';
import type { Stack } from '../../tests/support/stack';
import { REPO } from '../../tests/support/temporal';
import { APT, DPKG_UNSAFE_IO_COMMAND, aptProxyCommand } from '../../activities/remote/apt';
import { shq } from '../../activities/remote/shell-quote';
import { loadSpec } from '../../spec/load';
import { add, benchAptProxy, freshDroplet, secs, sshStdin, RUNS } from '../common';

const LAMP_SPEC = path.join(REPO, 'examples/lamp/build.yaml');

const end = (s: StepRecord | undefined) => Date.parse(s!.startedAt!) + s!.seconds! * 1000;

async function buildSecs(stack: Stack): Promise<{ secs: number; install: number }> {
  const r = await stack.client(['start-build', LAMP_SPEC, '--wait', '--json', '--no-verify']);
  if (r.code !== 0) throw new Error(`P8 build failed: ${r.stderr}`);
  const steps = (JSON.parse(r.stdout) as { manifest: { steps: StepRecord[] } }).manifest.steps;
  return {
    secs: (end(steps.find((s) => s.name === 'snapshot')) - Date.parse(steps[0]!.startedAt!)) / 1000,
    install: steps.find((s) => s.name === 'install')?.seconds ?? 0,
  };
}

/** The LAMP spec's apt work (its upgrade, then its packages, as the spec says), by raw ssh. */
async function aptSplit(stack: Stack): Promise<{ download: number; install: number }> {
  const { apt } = (await loadSpec(LAMP_SPEC)).plan;
  const packages = apt.packages.map(shq).join(' ');
  const { d, key } = await freshDroplet(stack);
  try {
    const proxy = benchAptProxy(stack)!;
    // The same proxy and dpkg files the install step writes (the droplet is destroyed after).
    const pre = `set -e\nexport DEBIAN_FRONTEND=noninteractive\n${DPKG_UNSAFE_IO_COMMAND}\n${aptProxyCommand(proxy)}\n`;
    const work = (only: string) =>
      [
        ...(apt.upgrade ? [`${APT} full-upgrade ${only}`] : []),
        ...(packages ? [`${APT} install ${only} ${packages}`] : []),
      ]
        .map((c) => `${c} >/dev/null\n`)
        .join('');
    const download = await secs(() =>
      sshStdin(key, d.ip, `${pre}${APT} update >/dev/null\n${work('--download-only')}`),
    );
    const install = await secs(() => sshStdin(key, d.ip, `${pre}${work('')}`));
    return { download, install };
  } finally {
    await d.destroy();
  }
}

export async function warmRebuild(stack: Stack): Promise<void> {
  if (!stack.aptCache) throw new Error('P8 needs the lab apt cache (apt-cacher-ng)');
  const cold: number[] = [];
  const warm: number[] = [];
  const ratios: number[] = [];
  const downloads: number[] = [];
  const installs: number[] = [];
  const floors: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const dir = await fs.mkdtemp(path.join(stack.dir, 'p8-apt-cache-'));
      const cache = await stack.restartAptCache(dir);
      const first = await buildSecs(stack);
      const fetched = await cache.traffic();
      const second = await buildSecs(stack);
      const after = await cache.traffic();
      console.error(
        `  P8 run ${i + 1}: cold ${first.secs.toFixed(1)} s (install ${first.install.toFixed(1)} s, ${fetched.packagesFetched} packages fetched), ` +
          `warm ${second.secs.toFixed(1)} s (install ${second.install.toFixed(1)} s, ${after.packagesFetched - fetched.packagesFetched} fetched, ${after.packagesServed - fetched.packagesServed} served)`,
      );
      cold.push(first.secs);
      warm.push(second.secs);
      ratios.push(second.secs / first.secs);
      // The profile, through a second empty cache: what a cache can save at most.
      const dir2 = await fs.mkdtemp(path.join(stack.dir, 'p8-apt-profile-'));
      await stack.restartAptCache(dir2);
      const split = await aptSplit(stack);
      console.error(
        `  P8 run ${i + 1}: raw ssh download ${split.download.toFixed(1)} s, install ${split.install.toFixed(1)} s`,
      );
      downloads.push(split.download);
      installs.push(split.install);
      floors.push(1 - split.download / first.secs);
      await stack.restartAptCache(); // back to the machine's shared cache
      await fs.rm(dir, { recursive: true, force: true });
      await fs.rm(dir2, { recursive: true, force: true });
    }
  } finally {
    if (!stack.aptCache.shared) await stack.restartAptCache().catch(() => undefined);
  }
  const what = 'LAMP build, first step → snapshot';
  add({ id: 'P8', what, how: 'project, apt cache empty', unit: 's', samples: cold });
  add({ id: 'P8', what, how: 'project, apt cache warm', unit: 's', samples: warm });
  add({
    id: 'P8',
    what: 'warm rebuild ÷ first build (same spec, worker apt cache)',
    how: 'project (IMAGE_FORGE_APT_PROXY)',
    unit: '×',
    samples: ratios,
    goal: '≤ 0.5',
  });
  const apt = "the LAMP spec's apt work on a fresh droplet";
  add({
    id: 'P8',
    what: apt,
    how: 'profile: raw ssh, update + download through an empty cache',
    unit: 's',
    samples: downloads,
  });
  add({
    id: 'P8',
    what: apt,
    how: 'profile: raw ssh, install of what was downloaded (dpkg and maintainer scripts)',
    unit: 's',
    samples: installs,
  });
  add({
    id: 'P8',
    what: 'floor of the ratio for any apt cache: 1 − download ÷ first build',
    how: 'profile',
    unit: '×',
    samples: floors,
  });
}
