/**
 * The map stage: a template model (from legacy JSON or HCL2) → a build spec as a plain object,
 * notes (what was mapped or dropped, and why) and problems (what could not be converted).
 */
import * as path from 'node:path';
import { workerEnvName } from '../template-functions';
import type { Conversion, MapOptions, SpecObject, TemplateModel } from '../model';
import { mapSources } from './builder';
import { mapPostProcessors } from './post-processors';
import { mapProvisioners } from './provisioners';
import { finishSteps } from './steps';
import { MapState } from './state';

const SPEC_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function mapTemplate(model: TemplateModel, opts: MapOptions): Conversion {
  const st = new MapState(model, opts);
  st.problems.push(...model.problems);
  st.notes.push(...model.notes);
  const spec: SpecObject = { name: '', vendor: '', droplet: {}, steps: [] };
  if (model.sources.length === 0 && model.problems.length === 0) {
    st.problem(model.format === 'json' ? ['builders'] : [], 'the template needs a "digitalocean" builder');
  }
  const family = mapSources(st, model.sources, spec);
  mapProvisioners(st, model.provisioners);
  mapPostProcessors(st, model.postProcessors, spec);
  spec.steps = finishSteps(st, spec);
  if (st.aptPackages.length > 0) spec.apt = { packages: st.aptPackages };

  const name = opts.name ?? specName(family) ?? specName(fileName(model.file));
  spec.name = name ?? 'image';
  spec.vendor = opts.vendor ?? spec.name;
  const first: string[] = [];
  if (!opts.name) {
    const from = family && specName(family) ? `the snapshot name "${family}"` : `the template's file name`;
    first.push(
      `name: "${spec.name}", from ${from}${name ? '' : ' (nothing usable: a placeholder)'}; pass --name to choose another`,
    );
  }
  if (!opts.vendor) {
    first.push(
      `vendor: "${spec.vendor}" is a placeholder (the name): pass --vendor with your company, it names /opt/<vendor>/ for first-login scripts`,
    );
  }
  if (st.stampedName) {
    const { shown, raw } = st.stampedName;
    first.push(
      `snapshot_name "${shown}" → name: ${spec.name}: the tool names each snapshot <name>-<UTC timestamp> ` +
        `(YYYYMMDDThhmmssZ, e.g. ${spec.name}-20250131T235959Z) in place of ${raw}`,
    );
  }
  st.notes.unshift(...first);
  noteSecrets(st);
  // Keys in the order people read a spec.
  const ordered: SpecObject = {
    name: spec.name,
    vendor: spec.vendor,
    droplet: spec.droplet,
    ...(spec.matrix ? { matrix: spec.matrix } : {}),
    ...(spec.ssh ? { ssh: spec.ssh } : {}),
    ...(spec.timeouts ? { timeouts: spec.timeouts } : {}),
    ...(spec.api ? { api: spec.api } : {}),
    ...(spec.apt ? { apt: spec.apt } : {}),
    steps: spec.steps,
    ...(spec.env ? { env: spec.env } : {}),
    ...(spec.snapshot ? { snapshot: spec.snapshot } : {}),
    ...(spec.marketplace ? { marketplace: spec.marketplace } : {}),
  };
  return { spec: pruneEmpty(ordered), notes: st.notes, problems: st.problems };
}

function noteSecrets(st: MapState): void {
  for (const v of st.ev.sensitive) {
    if (st.usedSecrets.has(v)) {
      st.notes.push(
        `sensitive variable "${v}": read on the worker from ${workerEnvName(v)} ({ fromWorker: ${workerEnvName(v)} }): set it where the worker runs`,
      );
    } else {
      st.notes.push(
        `sensitive variable "${v}": no provisioner uses it (only the builder, or nothing), so the spec does not read it`,
      );
    }
  }
}

function fileName(file: string): string {
  const base = path.basename(file).replace(/\.(pkr\.)?(json|hcl)$/i, '');
  if (
    ['template', 'marketplace-image', 'packer', 'image', 'build', 'main', 'template.pkr', 'source'].includes(
      base.toLowerCase(),
    )
  ) {
    return path.basename(path.dirname(file));
  }
  return base;
}

/** A valid spec name from free text: "Lemp 20.04 snapshot" → "lemp-20-04-snapshot". */
export function specName(s: string | undefined): string | undefined {
  if (!s) return undefined;
  const n = s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return SPEC_NAME.test(n) ? n : undefined;
}

function pruneEmpty(spec: SpecObject): SpecObject {
  if (spec.droplet.tags?.length === 0) delete spec.droplet.tags;
  if (spec.snapshot) {
    if (spec.snapshot.tags?.length === 0) delete spec.snapshot.tags;
    if (spec.snapshot.regions?.length === 0) delete spec.snapshot.regions;
    if (Object.keys(spec.snapshot).length === 0) delete spec.snapshot;
  }
  return spec;
}
