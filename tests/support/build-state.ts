/** A build's state as `client status --json` reports it, and waiting for it to change. */
import type { BuildState } from '../../contract/operator';
import type { Stack } from './stack';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { stepLogKey } from '../../contract/names';

export async function buildState(stack: Stack, id: string): Promise<BuildState | undefined> {
  const r = await stack.client(['status', id, '--json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as BuildState) : undefined;
}

export async function waitForBuild(
  stack: Stack,
  id: string,
  pred: (s: BuildState) => boolean,
  what: string,
  timeoutMs = 240_000,
): Promise<BuildState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await buildState(stack, id);
    if (s && pred(s)) return s;
    if (Date.now() > deadline)
      throw new Error(
        `${id}: timed out waiting for ${what}; last state ${JSON.stringify(s?.steps.map((x) => [x.name, x.state]))}`,
      );
    await sleep(300);
  }
}

/** Waits until a step's log (in the stack's build store) holds `text`: a point read from the build, not a timer. */
export async function untilLogged(
  stack: Stack,
  id: string,
  step: string,
  text: string,
  timeoutMs = 120_000,
): Promise<void> {
  const file = path.join(stack.storeDir, stepLogKey(id, step));
  for (const deadline = Date.now() + timeoutMs; ; await sleep(100)) {
    if ((await readFile(file, 'utf8').catch(() => '')).includes(text)) return;
    if (Date.now() > deadline) throw new Error(`${id}: ${step} never logged "${text}"`);
  }
}
