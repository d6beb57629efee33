/**
 * The lab's model on disk, as DigitalOcean keeps an account across its own restarts: droplets'
 * records, actions, snapshots (their archives stay beside), keys, tags and Marketplace apps, in
 * one JSON file written atomically (temp file + rename) after every change. A lab started on the
 * same data dir loads it; a droplet whose system died with the old lab process is `off` with no
 * machine (delete it; power_on errors), and an action cut short is `errored`.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ActionRecord, DropletRecord, ImageRecord, SshKeyRecord, VendorAppRecord } from './model';
import type { LabState } from './state';

export const STATE_FILE = 'state.json';
const VERSION = 1;

type SavedDroplet = Omit<DropletRecord, 'machine' | 'gone' | 'expectingExit'>;

interface SavedState {
  version: typeof VERSION;
  droplets: SavedDroplet[];
  actions: ActionRecord[];
  images: ImageRecord[];
  keys: SshKeyRecord[];
  tags: Array<{ name: string; droplets: number[]; images: number[]; lastTaggedUri: string | null }>;
  vendorApps: VendorAppRecord[];
}

function toSaved(state: LabState): SavedState {
  return {
    version: VERSION,
    droplets: [...state.droplets.values()].map(({ machine: _m, gone: _g, expectingExit: _e, ...d }) => d),
    actions: [...state.actions.values()],
    images: [...state.images.values()],
    keys: [...state.keys.values()],
    tags: [...state.tags.values()].map((t) => ({
      name: t.name,
      droplets: [...t.droplets],
      images: [...t.images],
      lastTaggedUri: t.lastTaggedUri ?? null,
    })),
    vendorApps: [...state.vendorApps.values()],
  };
}

/** Loads the saved model into an empty state; returns false when there is none yet. */
export async function loadState(state: LabState, dataDir: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(join(dataDir, STATE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  const saved = JSON.parse(text) as SavedState;
  if (saved.version !== VERSION)
    throw new Error(`${join(dataDir, STATE_FILE)}: unknown version ${String(saved.version)}`);
  for (const d of saved.droplets) {
    // Its system did not outlive the lab process that ran it.
    state.droplets.set(d.id, {
      ...d,
      status: d.status === 'archive' ? 'archive' : 'off',
      locked: false,
      machine: Promise.resolve(undefined),
      expectingExit: undefined,
      gone: new AbortController(),
    });
  }
  for (const a of saved.actions) {
    const cut = a.status === 'in-progress';
    state.actions.set(a.id, cut ? { ...a, status: 'errored', completedAt: new Date().toISOString() } : a);
  }
  for (const i of saved.images) state.images.set(i.id, i);
  for (const k of saved.keys) state.keys.set(k.id, k);
  for (const t of saved.tags) {
    state.tags.set(t.name, {
      name: t.name,
      droplets: new Set(t.droplets),
      images: new Set(t.images),
      lastTaggedUri: t.lastTaggedUri ?? undefined,
    });
  }
  for (const a of saved.vendorApps) state.vendorApps.set(a.id, a);
  state.reserveIds({
    droplet: saved.droplets.map((d) => d.id),
    action: saved.actions.map((a) => a.id),
    image: saved.images.map((i) => i.id),
    key: saved.keys.map((k) => k.id),
  });
  return true;
}

/** Writes the model after changes: at most one write at a time, the last change always written. */
export class StateSaver {
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly state: LabState,
    private readonly dataDir: string,
    private readonly log: (line: string) => void,
  ) {}

  schedule(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        // Let the rest of this tick's changes in first.
        await new Promise((r) => setImmediate(r));
        await this.write().catch((err: Error) => this.log(`saving the lab's state failed: ${err.message}`));
      } while (this.again);
      this.running = undefined;
    })();
  }

  /** Writes now (after any write in flight) and stops scheduling: the lab is closing. */
  async flush(): Promise<void> {
    this.stopped = true;
    await this.running;
    await this.write();
  }

  private async write(): Promise<void> {
    const file = join(this.dataDir, STATE_FILE);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(toSaved(this.state))}\n`, { mode: 0o600 });
    await rename(tmp, file);
  }
}
