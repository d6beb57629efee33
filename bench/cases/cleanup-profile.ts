/**
 * The cleanup step, part by part (issue #32 §2): on a fresh droplet after the LAMP spec's install
 * and setup script (raw ssh, the warm lab apt cache), the project's cleanup script runs under bash's
 * xtrace with a timestamp on each command; each part's time is the time from its first command to
 * the next part's. Then the droplet is shut down and snapshotted through the API, and the lab's
 * snapshot size read from its audit log (the snapshot is deleted after).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CLEANUP_SCRIPT } from '../../activities/cleanup';
import type { Stack } from '../../tests/support/stack';
import { REPO } from '../../tests/support/temporal';
import {
  add,
  freshDroplet,
  lampAptScripts,
  run,
  secs,
  snapshotThroughApi,
  sshArgs,
  sshStdin,
  writeLampWork,
  RUNS,
} from '../common';

const what = 'cleanup after the LAMP install, by part (raw ssh, xtrace)';

/** Each part by the first command of it, in the script's order. */
const PARTS: Array<[string, RegExp]> = [
  ['end an earlier zero-fill, free its file', /^(pkill|pgrep|rm -f \/zerofile$)/],
  ['apt-get update', / update --error-on=any/],
  ['apt-get full-upgrade', / full-upgrade/],
  ['apt-get autoremove --purge', / autoremove --purge/],
  ['apt-get clean', /^apt-get -y clean/],
  ['build files, /tmp, history, logs, cloud-init instances', /^rm -f \/etc\/apt/],
  ['zero-fill: dd to a full disk', /^dd if=\/dev\/zero/],
  ['zero-fill: sync, rm, sync', /^sync/],
];

/** Seconds per part from xtrace lines `+<epoch seconds> <command>`. */
export function partTimes(trace: string): Map<string, number> {
  const cmds = trace
    .split('\n')
    .map((l) => /^\++(\d+\.\d+) (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ t: Number(m[1]), cmd: m[2]! }));
  const starts: Array<{ name: string; t: number }> = [];
  let next = 0;
  for (const c of cmds) {
    for (let k = next; k < PARTS.length; k++) {
      if (PARTS[k]![1].test(c.cmd)) {
        starts.push({ name: PARTS[k]![0], t: c.t });
        next = k + 1;
        break;
      }
    }
  }
  const endAt = cmds.find((c) => c.cmd === ': end-of-cleanup')?.t;
  if (starts.length !== PARTS.length || endAt === undefined)
    throw new Error(`cleanup trace: found ${starts.map((s) => s.name).join(', ')}`);
  const out = new Map<string, number>();
  starts.forEach((s, i) => out.set(s.name, (starts[i + 1]?.t ?? endAt) - s.t));
  return out;
}

export async function cleanupProfile(stack: Stack): Promise<void> {
  await writeLampWork(stack, 'cleanup-'); // warms the apt cache
  // The install step's own script: cleanup's apt then runs with its force-unsafe-io, as in a build.
  const apt = (await lampAptScripts(stack)).project;
  const setup = readFileSync(path.join(REPO, 'examples/lamp/scripts/01-setup.sh'), 'utf8');
  const parts = new Map<string, number[]>();
  const whole: number[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const { d, key } = await freshDroplet(stack);
    try {
      await sshStdin(key, d.ip, `${apt}\n${setup}`);
      // The trace goes to /run (a tmpfs: not in the snapshot); the script empties /tmp itself.
      const traced = `exec 9>/run/cleanup.trace\nBASH_XTRACEFD=9\nPS4='+\${EPOCHREALTIME} '\nset -x\n${CLEANUP_SCRIPT}\n: end-of-cleanup\n`;
      whole.push(await secs(() => sshStdin(key, d.ip, traced)));
      const { stdout } = await run('ssh', [...sshArgs(key, d.ip), 'cat /run/cleanup.trace'], { maxBuffer: 16 << 20 });
      for (const [name, s] of partTimes(stdout)) parts.set(name, [...(parts.get(name) ?? []), s]);
      const from = (await stack.audit()).length;
      await snapshotThroughApi(stack, d.id);
      const image = (await stack.audit()).slice(from).find((e) => e.type === 'image.created');
      sizes.push(Number(image?.sizeBytes) / 1e6);
    } finally {
      await d.destroy();
    }
  }
  add({ id: 'cleanup', what, how: 'the whole script', unit: 's', samples: whole });
  for (const [name, xs] of parts) add({ id: 'cleanup', what, how: name, unit: 's', samples: xs });
  add({ id: 'cleanup', what, how: 'lab snapshot size after it (tar | zstd of the files)', unit: 'MB', samples: sizes });
}
