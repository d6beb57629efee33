/**
 * The digitalocean builder (a JSON builder, or an HCL2 source with its build-block overrides) →
 * spec.droplet, snapshot, ssh, timeouts and api. Several sources become a matrix when they differ
 * only in image, size and region.
 */
import { textOf } from '../template-functions';
import type { Segment } from '../template-functions';
import { formatPath } from '../positions';
import type { JsonPath } from '../positions';
import type { SourceModel, SpecObject } from '../model';
import { MapState } from './state';
import { REGION_RE, snapshotName as snapshotNameRule } from '../../contract/plan-schema';

const TAG = /^[a-zA-Z0-9_:-]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Go durations as Packer writes them: "6m", "1h30m", "90s". */
const DURATION = /^(\d+(\.\d+)?(h|m|s|ms))+$/;

/** Builder options that only tune how Packer talks to DigitalOcean or SSH: dropped with a note. */
const DROPPED: Record<string, string> = {
  api_token: 'the worker uses its own DigitalOcean token',
  api_url: 'the worker decides which DigitalOcean API it talks to',
  http_retry_timeout: 'the workflow retries DigitalOcean calls itself',
  droplet_name: 'the build droplet is named after the build',
  ssh_key_id: 'the worker registers its own login key for each build (IMAGE_FORGE_SSH_KEY)',
  ssh_private_key_file:
    'the worker logs in with its own key (IMAGE_FORGE_SSH_KEY); the path is not written to the spec',
  pause_before_connecting: 'the worker waits for SSH and cloud-init itself',
};

const BASTION_REFUSED: Record<string, string> = {
  ssh_bastion_password: 'a bastion password cannot be converted: use a key (ssh_bastion_private_key_file)',
  ssh_bastion_agent_auth: 'the worker uses no SSH agent: use ssh_bastion_private_key_file',
  ssh_bastion_interactive: 'the worker cannot answer keyboard-interactive prompts: use a key',
  ssh_bastion_certificate_file: 'SSH certificates for the bastion cannot be converted: use a plain key',
};

interface Mapped {
  spec: Pick<SpecObject, 'droplet' | 'snapshot' | 'ssh' | 'timeouts' | 'api'>;
  family?: string;
}

/** Fills the spec from the sources; returns the snapshot family name, if any. */
export function mapSources(st: MapState, sources: SourceModel[], spec: SpecObject): string | undefined {
  if (sources.length === 0) return undefined;
  const before = st.problems.length;
  const mapped = sources.map((s) => mapSource(st, s));
  const first = mapped[0]!;
  Object.assign(spec, first.spec);
  // A source that did not map would only add a misleading "not every combination" problem.
  if (sources.length > 1 && st.problems.length === before) matrix(st, sources, mapped, spec);
  return first.family;
}

function mapSource(st: MapState, src: SourceModel): Mapped {
  const out: Mapped = { spec: { droplet: {} } };
  const opts = st.resolveObject(src.options, src.at);
  if (!opts) return out;
  const at = (k: string): JsonPath => [...src.at, k];
  const where = formatPath(src.at);
  const snapshot: NonNullable<SpecObject['snapshot']> = {};
  const bastion: Record<string, unknown> = {};
  const dropped: string[] = [];
  const d = out.spec.droplet;
  for (const [k, v] of Object.entries(opts)) {
    switch (k) {
      case 'type':
      case 'name':
        break;
      case 'image':
      case 'region':
      case 'size': {
        const s = st.evalText(v, at(k), k);
        if (s) d[k] = s;
        break;
      }
      case 'snapshot_name':
        out.family = snapshotName(st, v, at(k), snapshot);
        break;
      case 'tags':
      case 'droplet_tags':
        d.tags = [...(d.tags ?? []), ...tagList(st, v, at(k), k, TAG)];
        break;
      case 'snapshot_tags':
        snapshot.tags = tagList(st, v, at(k), k, TAG);
        break;
      case 'snapshot_regions':
        snapshot.regions = tagList(st, v, at(k), k, REGION_RE);
        break;
      case 'wait_snapshot_transfer': {
        const b = st.evalBool(v, at(k), k);
        if (b === false) {
          snapshot.waitForTransfer = false;
          st.note(
            `${where}.${k} false: snapshot.waitForTransfer: false (the build ends once the transfers have started)`,
          );
        }
        break;
      }
      case 'ssh_username':
        if (v !== 'root')
          st.note(
            `${where}.ssh_username "${String(v)}": the tool logs in as root, so every step runs as root (uploads are owned by root)`,
          );
        break;
      case 'communicator':
        if (v !== 'ssh')
          st.problem(at(k), `communicator "${String(v)}" cannot be converted: the tool reaches droplets over SSH`);
        break;
      case 'vpc_uuid': {
        const s = st.evalText(v, at(k), k);
        if (s !== undefined && !UUID.test(s)) st.problem(at(k), `vpc_uuid "${s}" is not a VPC UUID`);
        else if (s) d.vpcUuid = s;
        break;
      }
      case 'private_networking':
      case 'ipv6':
      case 'monitoring':
      case 'connect_with_private_ip': {
        const b = st.evalBool(v, at(k), k);
        if (b === false) dropped.push(`${k} (false is the default)`);
        if (b !== true) break;
        const field = (
          {
            private_networking: 'privateNetworking',
            ipv6: 'ipv6',
            monitoring: 'monitoring',
            connect_with_private_ip: 'connectWithPrivateIp',
          } as const
        )[k];
        d[field] = true;
        if (k === 'monitoring') {
          st.note(
            `${where}.monitoring: droplet.monitoring: true installs DigitalOcean's agent in /opt/digitalocean on the build droplet; ` +
              'the Marketplace image check fails while that folder exists, so remove it in a step or drop monitoring',
          );
        }
        break;
      }
      case 'droplet_agent': {
        const b = st.evalBool(v, at(k), k);
        if (b === true) {
          st.problem(
            at(k),
            'droplet_agent true cannot be converted: a Marketplace image must not contain the droplet agent (/opt/digitalocean fails the image check), so the tool creates build droplets without it',
          );
        } else if (b === false) dropped.push(`${k} (the tool always creates build droplets without the droplet agent)`);
        break;
      }
      case 'user_data': {
        const s = st.evalText(v, at(k), k);
        if (s !== undefined) {
          d.userData = s;
          st.note(
            `${where}.user_data: droplet.userData; the tool adds its own cloud-config (login key, first-boot setup) next to it`,
          );
        }
        break;
      }
      case 'user_data_file': {
        const s = st.evalText(v, at(k), k);
        const rel = s === undefined ? undefined : st.specPath(s, at(k));
        if (rel) {
          d.userDataFile = rel;
          st.note(
            `${where}.user_data_file: droplet.userDataFile; the tool adds its own cloud-config (login key, first-boot setup) next to it`,
          );
        }
        break;
      }
      case 'state_timeout':
      case 'snapshot_timeout':
      case 'transfer_timeout': {
        const s = st.evalText(v, at(k), k);
        if (s === undefined) break;
        if (!DURATION.test(s)) st.problem(at(k), `${k} "${s}" is not a duration such as "10m" or "1h30m"`);
        else (out.spec.timeouts ??= {})[k.replace('_timeout', '') as 'state' | 'snapshot' | 'transfer'] = s;
        break;
      }
      case 'http_retry_max':
      case 'http_retry_wait_min':
      case 'http_retry_wait_max': {
        const n = typeof v === 'number' ? v : Number(st.evalText(v, at(k), k));
        if (!Number.isFinite(n) || n < 0 || (k === 'http_retry_max' && !Number.isInteger(n))) {
          st.problem(at(k), `${k} must be ${k === 'http_retry_max' ? 'a whole number' : 'a number of seconds'}`);
          break;
        }
        const field = (
          {
            http_retry_max: 'retryMax',
            http_retry_wait_min: 'retryWaitMin',
            http_retry_wait_max: 'retryWaitMax',
          } as const
        )[k];
        (out.spec.api ??= {})[field] = n;
        break;
      }
      default:
        if (k in DROPPED) dropped.push(`${k} (${DROPPED[k]})`);
        else if (k in BASTION_REFUSED) st.problem(at(k), `${k}: ${BASTION_REFUSED[k]}`);
        else if (k.startsWith('ssh_bastion_')) bastion[k] = v;
        else if (k.startsWith('ssh_') || k.startsWith('temporary_key'))
          dropped.push(`${k} (the worker manages SSH itself)`);
        else st.problem(at(k), `unknown digitalocean builder option "${k}": it cannot be converted`);
    }
  }
  if (Object.keys(bastion).length > 0) mapBastion(st, bastion, src.at, out.spec);
  if (dropped.length > 0) st.note(`${where}: dropped ${dropped.join(', ')}`);
  for (const k of ['image', 'region', 'size'] as const) {
    if (opts[k] !== undefined) continue;
    if (k === 'image')
      st.problem(src.at, 'the digitalocean builder has no "image" (the base image slug, e.g. ubuntu-24-04-x64)');
    else st.note(`${where} has no "${k}": the spec's default applies (${k === 'region' ? 'nyc3' : 's-1vcpu-1gb'})`);
  }
  if (Object.keys(snapshot).length > 0) out.spec.snapshot = snapshot;
  return out;
}

function mapBastion(st: MapState, b: Record<string, unknown>, at: JsonPath, spec: Mapped['spec']): void {
  const host =
    b.ssh_bastion_host === undefined
      ? undefined
      : st.evalText(b.ssh_bastion_host, [...at, 'ssh_bastion_host'], 'ssh_bastion_host');
  if (!host) {
    if (b.ssh_bastion_host === undefined) st.problem(at, 'ssh_bastion_* options without ssh_bastion_host');
    return;
  }
  const bastion: NonNullable<SpecObject['ssh']>['bastion'] = { host };
  for (const k of Object.keys(b)) {
    const v = b[k];
    if (k === 'ssh_bastion_host') continue;
    if (k === 'ssh_bastion_port') {
      const n = typeof v === 'number' ? v : Number(st.evalText(v, [...at, k], k));
      if (Number.isInteger(n) && n > 0 && n < 65536) bastion.port = n;
      else st.problem([...at, k], 'ssh_bastion_port must be a port number');
    } else if (k === 'ssh_bastion_username') {
      const u = st.evalText(v, [...at, k], k);
      if (u) bastion.user = u;
    } else if (k === 'ssh_bastion_private_key_file') {
      bastion.privateKey = { fromWorker: 'SSH_BASTION_KEY' };
      st.note(
        `${formatPath([...at, k])}: ssh.bastion.privateKey reads the key file named by SSH_BASTION_KEY on the worker ` +
          '(the path on the Packer machine is not written to the spec)',
      );
    } else st.problem([...at, k], `unknown bastion option "${k}": it cannot be converted`);
  }
  spec.ssh = { bastion };
  st.note(
    `${formatPath([...at, 'ssh_bastion_host'])}: add ssh.bastion.hostKey ("ssh-ed25519 AAAA…", e.g. from ssh-keyscan): ` +
      'a build refuses a bastion whose host key it cannot pin (Packer trusted it on first use)',
  );
}

function snapshotName(
  st: MapState,
  v: unknown,
  at: JsonPath,
  snapshot: NonNullable<SpecObject['snapshot']>,
): string | undefined {
  const segs = st.eval(v, at, 'snapshot_name');
  if (!segs) return undefined;
  if (segs.some((s) => s.kind === 'secret')) {
    st.problem(at, 'snapshot_name uses a sensitive variable: a secret cannot be part of a snapshot name');
    return undefined;
  }
  const firstDyn = segs.findIndex((s) => s.kind === 'dynamic');
  if (firstDyn >= 0) {
    const dyn = segs[firstDyn] as Extract<Segment, { kind: 'dynamic' }>;
    const shown = segs.map((x) => (x.kind === 'text' ? x.text : x.kind === 'dynamic' ? shownRaw(x.raw) : '')).join('');
    // The spec stamps the time after the name: a literal prefix and the build's time (or id) map;
    // text after them has no place in <name>-<UTC timestamp>.
    const tail = segs.slice(firstDyn).find((x) => x.kind === 'text' && !/^[-_. ]*$/.test(x.text));
    if (tail) {
      st.problem(
        at,
        `snapshot_name "${shown}" has text after ${shownRaw(dyn.raw)} ("${textOf([tail])}"): the spec names each snapshot <name>-<UTC timestamp>, ` +
          'so only text before the timestamp can be kept; move it before the timestamp (or use a fixed snapshot name)',
      );
      return undefined;
    }
    const family = textOf(segs.slice(0, firstDyn)).replace(/[-_. ]+$/, '');
    st.stampedName = { shown, raw: shownRaw(dyn.raw) };
    return family || undefined;
  }
  const name = textOf(segs);
  // The rule the spec loader and the worker apply (contract/plan-schema.ts).
  const rule = snapshotNameRule.safeParse(name);
  if (!rule.success) {
    st.problem(at, `snapshot_name "${name}" ${rule.error.issues[0]!.message}`);
    return undefined;
  }
  snapshot.name = name;
  st.note(
    `snapshot_name "${name}" has no timestamp: every build makes a snapshot of that same name (remove snapshot.name to get <name>-<UTC timestamp>)`,
  );
  return name;
}

/** A build-time value as the template wrote it: {{timestamp}} (JSON) or ${timestamp()} (HCL2). */
function shownRaw(raw: string): string {
  return raw.startsWith('{{') ? raw : `\${${raw}}`;
}

function tagList(st: MapState, v: unknown, at: JsonPath, what: string, re: RegExp): string[] {
  if (!Array.isArray(v)) {
    st.problem(at, `${what} must be a list of strings`);
    return [];
  }
  const out: string[] = [];
  v.forEach((item, i) => {
    const s = st.evalText(item, [...at, i], `${what}[${i}]`);
    if (s === undefined) return;
    if (!re.test(s)) {
      const rule = re === TAG ? 'tags use letters, digits, "_", ":" and "-"' : 'a region slug, e.g. sfo3';
      st.problem([...at, i], `${what}[${i}] "${s}" is not allowed in a spec (${rule})`);
    } else out.push(s);
  });
  return out;
}

/** Several sources: a matrix over image, size and region, when nothing else differs. */
function matrix(st: MapState, sources: SourceModel[], mapped: Mapped[], spec: SpecObject): void {
  const dims = ['image', 'size', 'region'] as const;
  const rest = (m: Mapped): string => {
    const { image: _i, size: _s, region: _r, ...droplet } = m.spec.droplet;
    const snapshot = { ...m.spec.snapshot };
    delete snapshot.name;
    return JSON.stringify({ ...m.spec, droplet, snapshot });
  };
  const base = rest(mapped[0]!);
  let ok = true;
  mapped.slice(1).forEach((m, i) => {
    if (rest(m) === base) return;
    ok = false;
    st.problem(
      sources[i + 1]!.at,
      `this source differs from ${sources[0]!.ref} in more than image, size and region: a spec's matrix varies only those; convert it separately (import with only that source)`,
    );
  });
  if (!ok) return;
  const values = dims.map((k) => [...new Set(mapped.map((m) => m.spec.droplet[k] ?? ''))]);
  const combos = values.reduce((n, v) => n * v.length, 1);
  if (combos !== mapped.length) {
    st.problem(
      sources[1]!.at,
      `the sources (${sources.map((s) => s.ref).join(', ')}) are not every combination of their images, sizes and regions: a spec's matrix builds every combination`,
    );
    return;
  }
  spec.matrix = {};
  dims.forEach((k, i) => {
    if (values[i]!.length > 1) spec.matrix![k] = values[i]!;
  });
  st.note(
    `sources ${sources.map((s) => s.ref).join(', ')}: one spec with a matrix (${Object.keys(spec.matrix).join(', ')}); each variant is a child build`,
  );
}
