/**
 * Post-processors: "manifest" is what every build records anyway; a "shell-local" that submits
 * the snapshot to the Vendor API (DigitalOcean's mp-submit.sh pattern: read the manifest, PATCH
 * /api/v1/vendor-portal/apps/<id>) becomes the spec's `marketplace:` section; any other
 * "shell-local" runs after the image is made, outside it: dropped with a note saying what to run.
 */
import * as path from 'node:path';
import { formatPath } from '../positions';
import type { JsonPath } from '../positions';
import type { BlockModel, SpecObject } from '../model';
import { isStringLike } from '../model';
import { MapState, splitAssignment } from './state';

const APP_ID = /^[A-Za-z0-9-]+$/;
const PACKAGE = /^[a-z0-9][a-z0-9+.-]*$/;

export function mapPostProcessors(st: MapState, list: BlockModel[], spec: SpecObject): void {
  for (const pp of list) {
    if (pp.type === 'manifest')
      st.notes.push(`${formatPath(pp.at)} (manifest) dropped: every build records its own manifest`);
    else if (pp.type === 'shell-local') shellLocal(st, pp, spec);
    else
      st.problem(
        pp.at,
        `post-processor type "${pp.type}" cannot be converted: the tool's build ends with the snapshot`,
      );
  }
}

function shellLocal(st: MapState, pp: BlockModel, spec: SpecObject): void {
  const at = pp.at;
  const p = st.resolveObject(pp.raw, at);
  if (!p) return;
  const env = new Map<string, string>();
  if (Array.isArray(p.environment_vars)) {
    p.environment_vars.forEach((e, j) => {
      const kv = splitAssignment(e);
      if (kv) env.set(kv.key, scriptText(st, kv.value, [...at, 'environment_vars', j]) ?? '');
    });
  }
  const parts: string[] = [];
  if (Array.isArray(p.inline))
    p.inline.forEach((l, j) => {
      const line = scriptText(st, l, [...at, 'inline', j]) ?? '';
      parts.push(line);
      // `sh do/mp-submit.sh` (as droplet-1-clicks writes it): what the script does is what counts.
      const ran = /^\s*(?:(?:sh|bash)\s+)?((?:\.\/)?[\w./-]+\.sh)\b/.exec(line)?.[1];
      const text = ran ? st.opts.readFile?.(path.resolve(st.opts.root, ran)) : undefined;
      if (text !== undefined) parts.push(text);
    });
  const files = [p.script, ...(Array.isArray(p.scripts) ? p.scripts : [])].filter(isStringLike);
  for (const f of files) {
    const rel = st.evalText(f, at, 'script');
    if (rel === undefined) continue;
    const text = st.opts.readFile?.(path.resolve(st.opts.root, rel));
    if (text === undefined) st.problem([...at, 'script'], `cannot read ${rel} to see what it does`);
    else parts.push(text);
  }
  const text = parts.join('\n');
  if (!/vendor-portal\/apps\//.test(text) || !/PATCH/i.test(text)) {
    st.notes.push(runItYourself(st, p, at, ''));
    return;
  }
  // Script-level assignments (APP_ID="…") count as much as environment_vars.
  for (const m of text.matchAll(
    /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=("([^"$`\\]*)"|'([^']*)'|([^\s;$`"']*))\s*$/gm,
  )) {
    if (!env.has(m[1]!)) env.set(m[1]!, m[3] ?? m[4] ?? m[5] ?? '');
  }
  const expand = (s: string): string =>
    s.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (all, n: string) => env.get(n) ?? all);
  const rawId = /vendor-portal\/apps\/([^\s"'/?\\]+)/.exec(text)?.[1] ?? '';
  const appId = expand(rawId);
  if (!APP_ID.test(appId)) {
    st.notes.push(
      runItYourself(
        st,
        p,
        at,
        `it publishes to the Vendor API, but its app id (${rawId}) is only known when it runs, so it is not mapped to marketplace: ` +
          '(set APP_ID in its environment_vars to map it, or add marketplace: { appId, version } to the spec); ',
      ),
    );
    return;
  }
  const field = (name: string): string | undefined => {
    const m = new RegExp(`\\\\?"${name}\\\\?"\\s*:\\s*\\\\?"([^"\\\\]*)\\\\?"`).exec(text);
    return m ? expand(m[1]!) : undefined;
  };
  const version = field('version');
  if (version === undefined || version.includes('$')) {
    st.notes.push(
      runItYourself(
        st,
        p,
        at,
        `it publishes to app ${appId}, but the version it sends is only known when it runs, so it is not mapped to marketplace: ` +
          '(add marketplace: { appId, version } to the spec to publish with `client start-build --publish`); ',
      ),
    );
    return;
  }
  const reason = field('reasonForUpdate');
  const software = [...text.matchAll(/\\?"name\\?"\s*:\s*\\?"([^"\\]*)\\?"/g)]
    .map((m) => expand(m[1]!))
    .filter((n) => PACKAGE.test(n));
  spec.marketplace = {
    appId,
    version,
    ...(reason && !reason.includes('$') ? { reasonForUpdate: reason } : {}),
    ...(software.length > 0 ? { software } : {}),
  };
  const sent = [
    'imageId',
    'version',
    ...(spec.marketplace.reasonForUpdate ? ['reasonForUpdate'] : []),
    ...(software.length ? ['softwareIncluded'] : []),
  ];
  st.notes.push(
    `${formatPath(at)} (shell-local) submits the snapshot to the Vendor API (app ${appId}; it sent ${sent.join(', ')}): ` +
      'mapped to marketplace:, published by `client start-build --publish` after a person approves the tested image; ' +
      'the worker reads the Vendor token from DIGITALOCEAN_VENDOR_TOKEN and the image id from the build, not from manifest.json',
  );
  if (software.length > 0)
    st.notes.push(`marketplace.software: ${software.join(', ')}, listed with the versions installed on the image`);
}

/**
 * A shell-local post-processor runs on the Packer machine once the image exists: it cannot change
 * the image, so the spec builds the same image without it, and the note says what to run after.
 */
function runItYourself(st: MapState, p: Record<string, unknown>, at: JsonPath, why: string): string {
  const lines = Array.isArray(p.inline)
    ? p.inline.map((l, j) => scriptText(st, l, [...at, 'inline', j]) ?? '').filter((l) => l.trim() !== '')
    : [];
  const files = [p.script, ...(Array.isArray(p.scripts) ? p.scripts : [])].filter(
    (f): f is string => typeof f === 'string',
  );
  const what = [...lines, ...files].map((x) => `\`${x}\``).join(', ');
  return (
    `${formatPath(at)} (shell-local) dropped: ${why}it runs on the machine running Packer after the image is made, ` +
    `so it does not change the image: run it yourself after the build${what ? ` (${what})` : ''}; ` +
    '`client status <build> --json` gives the snapshot id and name that Packer put in manifest.json'
  );
}

/** A script line as text; secrets become a reference to the worker-side variable (never the value). */
function scriptText(st: MapState, v: unknown, at: JsonPath): string | undefined {
  const segs = st.eval(v, at, 'a command');
  if (!segs) return undefined;
  return segs.map((s) => (s.kind === 'text' ? s.text : s.kind === 'secret' ? `$SECRET_${s.variable}` : s.raw)).join('');
}
