/**
 * What dpkg's force-unsafe-io saves (issue #32 §2): the LAMP spec's install (the install step's
 * own apt script, through the warm lab apt cache) and its setup script, by raw ssh on fresh
 * droplets, with the install step's force-unsafe-io file and without it (the same script less
 * that line). Runs alternate, with first.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Stack } from '../../tests/support/stack';
import { REPO } from '../../tests/support/temporal';
import { add, freshDroplet, lampAptScripts, secs, sshStdin, writeLampWork, RUNS } from '../common';

const what = 'the LAMP install and script steps, by raw ssh';

export async function unsafeIo(stack: Stack): Promise<void> {
  await writeLampWork(stack, 'unsafe-io-'); // warms the apt cache
  const { project: withIt, recipe: withoutIt } = await lampAptScripts(stack);
  const setup = readFileSync(path.join(REPO, 'examples/lamp/scripts/01-setup.sh'), 'utf8');
  const samples = {
    install: { on: [] as number[], off: [] as number[] },
    script: { on: [] as number[], off: [] as number[] },
  };
  for (let i = 0; i < RUNS; i++) {
    for (const on of [true, false]) {
      const { d, key } = await freshDroplet(stack);
      try {
        const k = on ? 'on' : 'off';
        samples.install[k].push(await secs(() => sshStdin(key, d.ip, on ? withIt : withoutIt)));
        samples.script[k].push(await secs(() => sshStdin(key, d.ip, setup)));
      } finally {
        await d.destroy();
      }
    }
  }
  const row = (how: string, xs: number[]) => add({ id: 'dpkg', what, how, unit: 's', samples: xs });
  row('install (apt update, full-upgrade, install), force-unsafe-io', samples.install.on);
  row('install, dpkg fsyncs (without the file)', samples.install.off);
  row('script 01-setup.sh, after an install with force-unsafe-io', samples.script.on);
  row('script 01-setup.sh, after an install without', samples.script.off);
  add({
    id: 'dpkg',
    what,
    how: 'install: with ÷ without, run by run',
    unit: '×',
    samples: samples.install.on.map((x, j) => x / samples.install.off[j]!),
  });
}
