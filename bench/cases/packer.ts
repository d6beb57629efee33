/**
 * P9: the LAMP build against Packer's own DigitalOcean builder (Packer 1.6.6, built by
 * scripts/ensure-packer.sh) running the same recipe as a Packer template (bench/packer/lamp.json:
 * the same apt script through the same warm lab apt cache, files, scripts, first-boot files and
 * cleanup as the fabfile), both against the same lab, verify off. Each run's time is read from the
 * lab's audit log, the same clock for both: from the build droplet's `active` to its snapshot
 * action's `completed`. Runs alternate, the project first.
 *
 * The profile: the project's steps from its manifest, and Packer's phases from its output, each
 * line timed as it arrives (the span from one phase line to the next, named by the first); from the
 * audit log for both, active → off → snapshot posted → done and the lab snapshot's size. A droplet
 * made from Packer's last snapshot must pass the project's image check (the project's build runs it).
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { IMAGE_CHECK_SCRIPT, parseImageCheck } from '../../activities/image/check';
import type { BuildManifest } from '../../contract/build';
import { dropletFromImage } from '../../tests/support/droplet';
import { LAB_TOKEN } from '../../tests/support/stack';
import type { Stack } from '../../tests/support/stack';
import { REPO } from '../../tests/support/temporal';
import { add, median, run, writeLampWork, RUNS } from '../common';

const SPEC = path.join(REPO, 'examples/lamp');
const TEMPLATE = path.join(REPO, 'bench/packer/lamp.json');
const what = 'LAMP build, droplet active → snapshot done, verify off';

interface Span {
  dropletId: number;
  active: number;
  /** The droplet powered off (by its own shutdown or an API action). */
  off: number;
  /** The snapshot action posted, and done. */
  snapshotPosted: number;
  snapshotDone: number;
  /** The lab's snapshot archive (tar | zstd of the droplet's files). */
  snapshotBytes: number;
  imageId: number;
}

/** The one build droplet made since audit line `from`: when it became active, when its snapshot completed. */
async function spanSince(stack: Stack, from: number, who: string): Promise<Span> {
  const events = (await stack.audit()).slice(from);
  const created = events.filter((e) => e.type === 'droplet.created');
  if (created.length !== 1) throw new Error(`P9 ${who}: ${created.length} droplets made, not one`);
  const dropletId = Number(created[0]!.dropletId);
  const at = (pred: (e: Record<string, unknown>) => boolean, name: string) => {
    const e = events.find(pred);
    if (!e) throw new Error(`P9 ${who}: no ${name} for droplet ${dropletId} in the lab's audit log`);
    return Date.parse(String(e.ts));
  };
  const snapshotAction = (status: string) => (e: Record<string, unknown>) =>
    e.type === 'action.status' && e.actionType === 'snapshot' && e.resourceId === dropletId && e.status === status;
  const image = events.find((e) => e.type === 'image.created' && e.dropletId === dropletId);
  return {
    dropletId,
    active: at((e) => e.type === 'droplet.active' && e.dropletId === dropletId, 'droplet.active'),
    off: at((e) => e.type === 'droplet.off' && e.dropletId === dropletId, 'droplet.off'),
    snapshotPosted: at(snapshotAction('in-progress'), 'snapshot action'),
    snapshotDone: at(snapshotAction('completed'), 'completed snapshot action'),
    snapshotBytes: Number(image?.sizeBytes ?? NaN),
    imageId: Number(image?.imageId ?? NaN),
  };
}

/** The lines Packer's steps say (a script's stderr comes out as `==>` lines too: those are not phases). */
const PHASE =
  /^==> digitalocean: (Creating temporary ssh key|Creating droplet|Waiting for droplet|Using ssh communicator|Waiting for SSH|Connected to SSH|Provisioning with|Uploading |Gracefully shutting down|Creating snapshot|Waiting for snapshot|Destroying droplet|Deleting temporary ssh key)/;

/** Packer's phase lines, timed as they arrive; its whole output is kept for an error. */
async function runPacker(
  packer: string,
  work: string,
  stack: Stack,
): Promise<{ lines: Array<{ t: number; text: string }> }> {
  const lines: Array<{ t: number; text: string }> = [];
  let out = '';
  const child = spawn(packer, ['build', '-color=false', '-var', `spec=${SPEC}`, '-var', `work=${work}`, TEMPLATE], {
    cwd: work,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: work,
      // Packer asks HashiCorp for a newer version unless told not to: no traffic off the machine.
      CHECKPOINT_DISABLE: '1',
      PACKER_CACHE_DIR: path.join(work, 'packer_cache'),
      DIGITALOCEAN_API_TOKEN: LAB_TOKEN,
      // godo adds "v2/…" to the base URL itself: the lab's origin, not its /v2 endpoint.
      DIGITALOCEAN_API_URL: `${stack.lab.origin}/`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let partial = '';
  child.stdout.on('data', (c: Buffer) => {
    const t = Date.now();
    out += c.toString();
    partial += c.toString();
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const text of parts) if (PHASE.test(text)) lines.push({ t, text: text.slice(4) });
  });
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`packer build exited ${code}: ${out.slice(-1500)}`);
  return { lines };
}

/** A `==>` line as a phase name: the builder's prefix off, temporary script names and paths shortened. */
function phaseName(text: string, n: Map<string, number>): string {
  const base = text
    .replace(/^digitalocean: /, '')
    .replace(/\/tmp\/packer-shell\d+/, 'inline')
    .replace(/(\/[^\s/]+)+\/([^\s/]+\/?)/g, '$2')
    .replace(/: \d+\.\d+\.\d+\.\d+$/, '')
    .replace(/packer-lamp-\d+/, 'NAME');
  const i = (n.get(base) ?? 0) + 1;
  n.set(base, i);
  return i > 1 ? `${base} #${i}` : base;
}

/**
 * Packer's image is as good as the project's: a droplet made from its snapshot passes the project's
 * image check (no failure; warnings reported). The project's build runs the same check (validate).
 */
async function checkImage(stack: Stack, imageId: number): Promise<void> {
  const d = await dropletFromImage(stack.lab.endpoint, LAB_TOKEN, imageId);
  try {
    await d.run('cloud-init status --wait >/dev/null');
    const loginKey = (await d.run('cut -d" " -f1,2 /root/.ssh/authorized_keys')).out.trim();
    const out = (await d.run(`IMAGE_CHECK_AFTER_BOOT=1 LOGIN_KEY='${loginKey}' bash -s`, IMAGE_CHECK_SCRIPT)).out;
    const report = parseImageCheck(out);
    if (report.failures.length > 0)
      throw new Error(`Packer's image fails the image check: ${report.failures.join('; ')}`);
    console.error(
      `  P9 Packer's image passes the image check (${report.passed} passed, warnings: ${report.warnings.join('; ') || 'none'})`,
    );
  } finally {
    await d.destroy();
  }
}

export async function packerBaseline(stack: Stack): Promise<void> {
  const { stdout } = await run('bash', [path.join(REPO, 'scripts/ensure-packer.sh')], { maxBuffer: 1 << 20 });
  const packer = stdout.trim().split('\n').pop()!;
  const work = await writeLampWork(stack, 'p9-');
  const project: number[] = [];
  const packerSecs: number[] = [];
  const ratio: number[] = [];
  const steps = new Map<string, number[]>();
  const phases = new Map<string, number[]>();
  /** From the lab's audit log, for both: the same events, the same clock. */
  const lab = new Map<string, number[]>();
  let lastPacker: Span | undefined;
  const put = (m: Map<string, number[]>, k: string, v: number) => m.set(k, [...(m.get(k) ?? []), v]);
  const fromAudit = (who: string, sp: Span) => {
    put(lab, `${who}: active → off`, (sp.off - sp.active) / 1000);
    put(lab, `${who}: off → snapshot posted`, (sp.snapshotPosted - sp.off) / 1000);
    put(
      lab,
      `${who}: snapshot posted → done (the lab archives the files)`,
      (sp.snapshotDone - sp.snapshotPosted) / 1000,
    );
    put(lab, `${who}: lab snapshot size (MB)`, sp.snapshotBytes / 1e6);
  };
  for (let i = 0; i < RUNS; i++) {
    let from = (await stack.audit()).length;
    const r = await stack.client(['start-build', path.join(SPEC, 'build.yaml'), '--wait', '--json', '--no-verify']);
    if (r.code !== 0) throw new Error(`P9 build failed: ${r.stderr}`);
    const mine = await spanSince(stack, from, 'project');
    const m = (JSON.parse(r.stdout) as { manifest: BuildManifest }).manifest;
    let last = mine.active;
    for (const s of m.steps) {
      if (!s.startedAt || s.seconds === undefined) continue;
      const start = Date.parse(s.startedAt);
      const end = start + s.seconds * 1000;
      if (end <= mine.active || start >= mine.snapshotDone) continue;
      // The time between steps (the workflow's own turn, a poll's lag) is named by the step it precedes.
      if (start > last) put(steps, `(before ${s.name})`, (start - last) / 1000);
      put(steps, s.name, (Math.min(end, mine.snapshotDone) - Math.max(start, mine.active)) / 1000);
      last = end;
    }
    project.push((mine.snapshotDone - mine.active) / 1000);
    fromAudit('project', mine);

    from = (await stack.audit()).length;
    const { lines } = await runPacker(packer, work, stack);
    const theirs = await spanSince(stack, from, 'Packer');
    lastPacker = theirs;
    packerSecs.push((theirs.snapshotDone - theirs.active) / 1000);
    fromAudit('Packer', theirs);
    ratio.push(project.at(-1)! / packerSecs.at(-1)!);
    // Packer's phases within the same span: each `==>` line up to the next one.
    const seen = new Map<string, number>();
    const marks = [...lines.map((l) => ({ t: l.t, name: phaseName(l.text, seen) }))];
    for (let j = 0; j < marks.length; j++) {
      const start = Math.max(marks[j]!.t, theirs.active);
      const end = Math.min(marks[j + 1]?.t ?? theirs.snapshotDone, theirs.snapshotDone);
      if (end > start) put(phases, marks[j]!.name, (end - start) / 1000);
    }
    console.error(
      `  P9 run ${i + 1}: project ${project.at(-1)!.toFixed(1)} s, Packer ${packerSecs.at(-1)!.toFixed(1)} s`,
    );
  }
  if (lastPacker) await checkImage(stack, lastPacker.imageId);
  add({ id: 'P9', what, how: 'project', unit: 's', samples: project, goal: '≤ 0.9× Packer' });
  add({ id: 'P9', what, how: 'Packer 1.6.6, DigitalOcean builder (same recipe)', unit: 's', samples: packerSecs });
  add({ id: 'P9', what, how: 'ratio: project ÷ Packer, run by run', unit: '×', samples: ratio, goal: '≤ 0.9×' });
  for (const [name, xs] of lab) {
    const mb = name.endsWith('(MB)');
    add({ id: 'P9', what, how: `profile: ${name.replace(' (MB)', '')}`, unit: mb ? 'MB' : 's', samples: xs });
  }
  for (const [name, xs] of steps) add({ id: 'P9', what, how: `profile: project step ${name}`, unit: 's', samples: xs });
  for (const [name, xs] of phases) add({ id: 'P9', what, how: `profile: Packer ${name}`, unit: 's', samples: xs });
  console.error(
    `  P9 medians: project ${median(project).toFixed(1)} s, Packer ${median(packerSecs).toFixed(1)} s (work: ${work})`,
  );
}
