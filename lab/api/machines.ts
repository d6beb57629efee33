/**
 * Where API state meets the runtime: booting droplets, running their actions, noticing when a
 * system powers itself off, destroying them. Everything that outlives a request is tracked, so
 * closing the lab waits for it and leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DropletRuntime, RunningDroplet } from '../droplets/runtime';
import { size as findSize } from './catalogue';
import type { ActionRecord, DropletRecord, ImageRecord } from './model';
import { LabState, now } from './state';
import { setTimeout as sleep } from 'node:timers/promises';

export interface MachineTiming {
  /** Longest wait for a droplet to boot (create, power_on). */
  bootTimeoutMs: number;
  /** Graceful shutdown before the action errors (DigitalOcean gives up too, then you power_off). */
  shutdownTimeoutMs: number;
  /** How long a transfer takes. */
  transferDelayMs: number;
  /** No action completes faster than this: clients must really poll, as against DigitalOcean. */
  minActionMs: number;
  /**
   * Cap on the real disk behind a droplet, whatever its size says (s-1vcpu-1gb claims 25 GB):
   * cleanup zero-fills free space, and that must not cost the host 25 GB and a minute per build.
   */
  maxDiskGiB: number;
}

export class Machines {
  private readonly tasks = new Set<Promise<unknown>>();
  private closing = false;
  /** Droplets whose runtime destroy failed: reported in /_lab/state. */
  readonly leaks: Array<{ dropletId: number; machineName: string; error: string }> = [];

  constructor(
    private readonly runtime: DropletRuntime,
    private readonly state: LabState,
    private readonly snapshotsDir: string,
    private readonly timing: MachineTiming,
  ) {}

  get busy(): number {
    return this.tasks.size;
  }

  /** Starts booting a droplet; returns its create action. */
  boot(d: DropletRecord, image: ImageRecord, authorizedKeys: string[]): ActionRecord {
    const a = this.startDropletAction(d, 'create');
    const diskGiB = Math.min(findSize(d.size)!.disk, this.timing.maxDiskGiB);
    d.machine = this.runtime
      .create({
        machineName: d.machineName,
        hostname: d.name,
        image:
          image.source.kind === 'distribution'
            ? image.source
            : { kind: 'snapshot', archivePath: image.source.archivePath },
        diskGiB,
        // New for every droplet: cloud-init runs per-instance scripts and makes host keys again.
        instanceId: `i-${d.id}-${randomBytes(4).toString('hex')}`,
        authorizedKeys,
        ...(d.userData !== undefined ? { userData: d.userData } : {}),
      })
      .then(
        (m) => m,
        (err: unknown) => {
          this.state.audit.record({ type: 'droplet.boot_failed', dropletId: d.id, error: message(err) });
          return undefined;
        },
      );
    this.perform(d, a, async () => {
      const m = await d.machine;
      if (!m) throw new Error('the runtime could not create the droplet');
      d.ipv4 = m.ipv4;
      d.privateIpv4 = m.privateIpv4;
      this.watchExit(d, m);
      await until(m.booted, d.gone.signal, this.timing.bootTimeoutMs, 'boot');
      this.state.setDropletStatus(d, 'active', 'booted');
    });
    return a;
  }

  /** shutdown, power_off, power_on, snapshot; `errored` makes it fail (fault injection). */
  dropletAction(d: DropletRecord, type: string, opts: { name?: string; errored?: boolean } = {}): ActionRecord {
    const a = this.startDropletAction(d, type);
    if (opts.errored) {
      this.perform(d, a, () => Promise.reject(new Error('injected fault: this action errors')));
      return a;
    }
    const work: Record<string, () => Promise<void>> = {
      shutdown: () => this.shutdown(d, 'shutdown action'),
      power_off: () => this.powerOff(d),
      power_on: () => this.powerOn(d),
      snapshot: () => this.snapshot(d, opts.name ?? `${d.name}-${Date.now()}`),
    };
    const fn = work[type];
    if (!fn) throw new Error(`unsupported droplet action ${type}`);
    this.perform(d, a, fn);
    return a;
  }

  /** Adds a region to a snapshot after transferDelayMs. */
  transfer(img: ImageRecord, region: string, opts: { errored?: boolean } = {}): ActionRecord {
    const a = this.state.startAction('transfer', 'image', img.id, region);
    if (img.regions.includes(region)) {
      // Already there: nothing to copy (DigitalOcean's behaviour here is not documented).
      this.track(this.settle(a, Promise.resolve()));
      return a;
    }
    this.track(
      this.settle(
        a,
        (async () => {
          await sleep(this.timing.transferDelayMs);
          if (opts.errored) throw new Error('injected fault: this transfer errors');
          if (!this.state.images.has(img.id)) throw new Error('the image was deleted during the transfer');
          this.state.addImageRegion(img, region);
        })(),
      ),
    );
    return a;
  }

  /** Removes the droplet from the API at once, then destroys its machine in the background. */
  destroy(d: DropletRecord): void {
    this.state.removeDroplet(d);
    d.gone.abort(new Error('the droplet was deleted'));
    for (const id of d.actionIds) {
      const a = this.state.actions.get(id);
      if (a) this.state.finishAction(a, 'errored', 'the droplet was deleted');
    }
    this.track(
      (async () => {
        const m = await d.machine;
        if (!m) return;
        try {
          await m.destroy();
          this.state.audit.record({ type: 'droplet.destroyed', dropletId: d.id, machineName: d.machineName });
        } catch (err) {
          this.leaks.push({ dropletId: d.id, machineName: d.machineName, error: message(err) });
          this.state.audit.record({
            type: 'droplet.destroy_failed',
            dropletId: d.id,
            machineName: d.machineName,
            error: message(err),
          });
        }
      })(),
    );
  }

  deleteImage(img: ImageRecord): void {
    this.state.removeImage(img);
    if (img.source.kind === 'snapshot') this.track(rm(img.source.archivePath, { force: true }));
  }

  /** Resolves once no background work is left. */
  async idle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  /**
   * Destroys every droplet's machine and waits for all background work; returns how many.
   * keepRecords (a lab with a data dir): the droplets stay in the API, `off`, as a restarted lab
   * reports them; nothing of their systems is left on the host either way.
   */
  async close(opts: { keepRecords?: boolean } = {}): Promise<number> {
    this.closing = true;
    const all = [...this.state.droplets.values()];
    for (const d of all) {
      if (opts.keepRecords) this.stop(d);
      else this.destroy(d);
    }
    await this.idle();
    return all.length;
  }

  /** The lab is stopping: the machine goes, the record stays (off, no machine). */
  private stop(d: DropletRecord): void {
    d.gone.abort(new Error('the lab stopped'));
    for (const id of d.actionIds) {
      const a = this.state.actions.get(id);
      if (a) this.state.finishAction(a, 'errored', 'the lab stopped');
    }
    const machine = d.machine;
    d.machine = Promise.resolve(undefined);
    d.locked = false;
    this.state.setDropletStatus(d, 'off', 'the lab stopped');
    this.track(
      (async () => {
        const m = await machine;
        if (!m) return;
        try {
          await m.destroy();
        } catch (err) {
          this.leaks.push({ dropletId: d.id, machineName: d.machineName, error: message(err) });
        }
      })(),
    );
  }

  private startDropletAction(d: DropletRecord, type: string): ActionRecord {
    const a = this.state.startAction(type, 'droplet', d.id, d.region);
    d.actionIds.push(a.id);
    d.locked = true;
    return a;
  }

  /** Runs an action's work: completed or errored, and the droplet unlocked, together. */
  private perform(d: DropletRecord, a: ActionRecord, work: () => Promise<void>): void {
    this.track(this.settle(a, work()).finally(() => (d.locked = false)));
  }

  private async settle(a: ActionRecord, work: Promise<void>): Promise<void> {
    const started = Date.now();
    let error: string | undefined;
    try {
      await work;
    } catch (err) {
      error = message(err);
    }
    const left = this.timing.minActionMs - (Date.now() - started);
    if (left > 0 && !this.closing) await sleep(left);
    this.state.finishAction(a, error === undefined ? 'completed' : 'errored', error);
  }

  private track<T>(p: Promise<T>): void {
    const t = p.catch(() => undefined);
    this.tasks.add(t);
    void t.finally(() => this.tasks.delete(t));
  }

  /** The system went down on its own (or because we asked): the droplet is `off`. */
  private watchExit(d: DropletRecord, m: RunningDroplet): void {
    const exited = m.exited;
    exited.then(
      (exit) => {
        if (this.closing || d.gone.signal.aborted || m.exited !== exited) return;
        const reason = d.expectingExit ?? `the system went down by itself (${exit.reason})`;
        d.expectingExit = undefined;
        if (d.status === 'active') this.state.setDropletStatus(d, 'off', reason);
      },
      () => undefined,
    );
  }

  private async machineOf(d: DropletRecord): Promise<RunningDroplet> {
    const m = await d.machine;
    if (!m || d.gone.signal.aborted)
      throw new Error('the droplet has no machine (a droplet from before a lab restart has none): delete it');
    return m;
  }

  private async shutdown(d: DropletRecord, why: string): Promise<void> {
    if (d.status === 'off') return;
    const m = await this.machineOf(d);
    d.expectingExit = why;
    try {
      await until(
        m.shutdown(this.timing.shutdownTimeoutMs),
        d.gone.signal,
        this.timing.shutdownTimeoutMs + 5000,
        'shutdown',
      );
    } catch (err) {
      d.expectingExit = undefined;
      throw err;
    }
    this.state.setDropletStatus(d, 'off', why);
  }

  private async powerOff(d: DropletRecord): Promise<void> {
    if (d.status === 'off') return;
    const m = await this.machineOf(d);
    d.expectingExit = 'power_off action';
    await until(m.powerOff(), d.gone.signal, 60_000, 'power off');
    this.state.setDropletStatus(d, 'off', 'power_off action');
  }

  private async powerOn(d: DropletRecord): Promise<void> {
    if (d.status === 'active') return;
    const m = await this.machineOf(d);
    await until(m.powerOn(), d.gone.signal, this.timing.bootTimeoutMs, 'power on');
    // The runtime hands out fresh booted/exited promises for the new boot.
    this.watchExit(d, m);
    await until(m.booted, d.gone.signal, this.timing.bootTimeoutMs, 'boot');
    this.state.setDropletStatus(d, 'active', 'power_on');
  }

  /**
   * The lab archives a powered-off filesystem only. DigitalOcean snapshots a running droplet too,
   * so a running one is shut down first and booted again afterwards: it ends `active`, as there.
   */
  private async snapshot(d: DropletRecord, name: string): Promise<void> {
    const wasActive = d.status === 'active';
    if (wasActive) await this.shutdown(d, 'snapshot of a running droplet');
    const m = await this.machineOf(d);
    const id = this.state.imageId();
    const archivePath = join(this.snapshotsDir, `${id}.tar.zst`);
    const { sizeBytes } = await until(m.snapshot(archivePath), d.gone.signal, 60 * 60_000, 'snapshot');
    if (d.gone.signal.aborted) {
      await rm(archivePath, { force: true });
      throw new Error('the droplet was deleted during the snapshot');
    }
    const diskGb = findSize(d.size)!.disk;
    this.state.addImage(
      {
        id,
        name,
        type: 'snapshot',
        slug: null,
        description: '',
        regions: [d.region],
        createdAt: now(),
        minDiskSize: diskGb,
        sizeGigabytes: Math.max(0.01, Math.round((sizeBytes / 1e9) * 100) / 100),
        public: false,
        team: d.team,
        source: { kind: 'snapshot', archivePath, dropletId: d.id },
      },
      sizeBytes,
    );
    d.snapshotIds.push(id);
    if (wasActive) await this.powerOn(d);
  }
}

/** Waits for p, but gives up when the droplet is deleted or the time is up. */
function until<T>(p: Promise<T>, signal: AbortSignal, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => done(() => reject(new Error(`${what} did not finish within ${Math.round(timeoutMs / 1000)} s`))),
      timeoutMs,
    );
    const onAbort = () => done(() => reject(new Error('the droplet was deleted')));
    const done = (f: () => void) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      f();
    };
    // Handlers first: a promise given up on must never become an unhandled rejection.
    p.then(
      (v) => done(() => resolve(v)),
      (err: unknown) => done(() => reject(err instanceof Error ? err : new Error(String(err)))),
    );
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
