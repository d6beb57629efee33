/** P2: the cost of one step: 50 trivial scripts. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { BuildManifest } from '../../contract/build';
import type { Stack } from '../../tests/support/stack';
import { add, fab, freshDroplet, secs, sshStdin, RUNS } from '../common';
export async function perStep(stack: Stack): Promise<void> {
  const dir = await fs.mkdtemp(path.join(stack.dir, 'p2-'));
  const steps = Array.from({ length: 50 }, () => '  - run: "true"\n').join('');
  await fs.writeFile(
    path.join(dir, 'build.yaml'),
    `name: trivial\nvendor: bench\ndroplet: { image: debian-12-x64 }\napt: { upgrade: false }\nscripts:\n${steps}`,
  );
  const project: number[] = [];
  const rawPer: number[] = [];
  const fabPer: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await stack.client(['start-build', path.join(dir, 'build.yaml'), '--wait', '--json', '--base']);
    if (r.code !== 0) throw new Error(`P2 build failed: ${r.stderr}`);
    const m = (JSON.parse(r.stdout) as { manifest: BuildManifest }).manifest;
    const scripts = m.steps.filter((s) => /-script$/.test(s.name));
    const first = scripts[0]!;
    const last = scripts.at(-1)!;
    project.push(
      (Date.parse(last.startedAt!) + last.seconds! * 1000 - Date.parse(first.startedAt!)) / 1000 / scripts.length,
    );
    const a = await freshDroplet(stack);
    rawPer.push((await secs(() => sshStdin(a.key, a.d.ip, 'true\n'.repeat(50)))) / 50);
    fabPer.push((await secs(() => fab(a.key, a.d.ip, ['trivial', '-n', '50'], dir))) / 50);
    await a.d.destroy();
    await stack.client(['janitor', '--yes', '--include-base']);
  }
  add({
    id: 'P2',
    what: 'per step, 50 trivial scripts',
    how: 'project (Temporal step)',
    unit: 's',
    samples: project,
    goal: '≤ 30 ms over raw ssh',
  });
  add({
    id: 'P2',
    what: 'per step, 50 trivial scripts',
    how: 'Fabric c.run (incl. start-up)',
    unit: 's',
    samples: fabPer,
  });
  add({ id: 'P2', what: 'per step, 50 trivial scripts', how: 'raw ssh, one bash -s', unit: 's', samples: rawPer });
}
