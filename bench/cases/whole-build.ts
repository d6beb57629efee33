/**
 * P1: the whole LAMP build against Fabric and raw ssh; P6: the API calls it makes. All three fetch
 * packages from the same warm lab apt cache (the project through its worker's IMAGE_FORGE_APT_PROXY,
 * the baselines with the same apt.conf line first), so the table compares orchestration, not the mirror.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CLEANUP_SCRIPT } from '../../activities/cleanup';
import type { BuildManifest } from '../../contract/build';
import type { Stack } from '../../tests/support/stack';
import { REPO } from '../../tests/support/temporal';
import { add, fab, freshDroplet, run, secs, sshArgs, sshStdin, writeLampWork, ONLY, P1_RUNS } from '../common';

export async function wholeBuild(stack: Stack): Promise<void> {
  const spec = path.join(REPO, 'examples/lamp');
  const work = await writeLampWork(stack, 'p1-');
  const project: number[] = [];
  const calls: number[] = [];
  for (let i = 0; i < P1_RUNS; i++) {
    const before = (await stack.audit()).filter((e) => e.type === 'request').length;
    // Without verify: the baselines build the image only, so the comparison (and P6's call count) stays like for like.
    const r = await stack.client(['start-build', path.join(spec, 'build.yaml'), '--wait', '--json', '--no-verify']);
    if (r.code !== 0) throw new Error(`P1 build failed: ${r.stderr}`);
    const m = (JSON.parse(r.stdout) as { manifest: BuildManifest }).manifest;
    const first = m.steps.find((s) => s.name === 'install')!;
    const last = m.steps.find((s) => s.name === 'cleanup')!;
    project.push((Date.parse(last.startedAt!) + last.seconds! * 1000 - Date.parse(first.startedAt!)) / 1000);
    calls.push((await stack.audit()).filter((e) => e.type === 'request').length - before);
  }
  add({
    id: 'P1',
    what: 'whole build, droplet ready → cleanup done',
    how: 'project',
    unit: 's',
    samples: project,
    goal: '≤ 1.0× Fabric and ≤ 1.1× raw ssh',
  });
  const fabric: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < P1_RUNS; i++) {
    const a = await freshDroplet(stack);
    fabric.push(await secs(() => fab(a.key, a.d.ip, ['lamp', '--spec', spec, '--work', work], spec)));
    await a.d.destroy();
    const b = await freshDroplet(stack);
    raw.push(
      await secs(async () => {
        // The floor: one tar stream for the files, one `bash -s` for everything else.
        await run('bash', [
          '-c',
          `tar -C ${spec}/files -cf - . | ssh ${sshArgs(b.key, b.d.ip).join(' ')} 'tar -xf - -C / --no-same-owner'`,
        ]);
        const script = [
          'set -e',
          'cloud-init status --wait >/dev/null',
          readFileSync(path.join(work, 'apt.sh'), 'utf8'),
          readFileSync(path.join(spec, 'scripts/01-setup.sh'), 'utf8').replace(/^#!.*\n/, ''),
          "ufw allow 'Nginx Full' && ufw limit ssh && ufw --force enable",
          'set +e',
          CLEANUP_SCRIPT,
        ].join('\n');
        await sshStdin(b.key, b.d.ip, script);
      }),
    );
    await b.d.destroy();
  }
  add({
    id: 'P1',
    what: 'whole build, droplet ready → cleanup done',
    how: 'Fabric (python3-fabric)',
    unit: 's',
    samples: fabric,
  });
  add({
    id: 'P1',
    what: 'whole build, droplet ready → cleanup done',
    how: 'raw ssh bash -s (floor)',
    unit: 's',
    samples: raw,
  });
  if (ONLY.has('P6'))
    add({
      id: 'P6',
      what: 'DigitalOcean API calls per LAMP build, no verify',
      how: 'project',
      unit: 'calls',
      samples: calls,
      goal: '≤ 40',
    });
}
