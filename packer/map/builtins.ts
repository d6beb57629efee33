/**
 * Recognising what the tool does itself: waiting for cloud-init, DigitalOcean's cleanup and image
 * check, and plain apt installs (which map to the built-in install step).
 */
import * as path from 'node:path';

const APT_PACKAGE = /^[a-z0-9][a-z0-9+.:=~-]*$/;

export type BuiltIn = 'cloud-init' | 'cleanup' | 'image-check';

export const BUILT_IN_NOTE: Record<BuiltIn, string> = {
  'cloud-init': 'waits for cloud-init: dropped, the tool waits for cloud-init itself when it creates the droplet',
  cleanup: "is DigitalOcean's cleanup: dropped, the tool runs its own cleanup step after every other step",
  'image-check': "is DigitalOcean's image check: dropped, the tool runs its own validation after cleanup",
};

export const EXPECT_DISCONNECT =
  'expect_disconnect (a reboot or a dropped connection during the step) cannot be converted: each step must finish over its SSH connection';

const CLOUD_INIT_WAIT =
  /^\s*(sudo\s+)?(\/usr\/bin\/)?cloud-init\s+status\s+(--wait|-w)(\s+(--long|-l))?\s*(>\s*\/dev\/null\s*(2>&1)?\s*)?(\|\|\s*(true|:|\[ \$\? -eq 2 \]|exit 0)\s*)?;?\s*$/;
const BOOT_FINISHED_LOOP =
  /(while\s+\[\s+!\s+-f\s+\/var\/lib\/cloud\/instance\/boot-finished\s+\]|until\s+\[\s+-f\s+\/var\/lib\/cloud\/instance\/boot-finished\s+\])\s*;?\s*do\b([\s\S]*?)\bdone\s*;?/g;

/** The commands without their cloud-init waits; undefined when there is no wait to strip. */
export function stripCloudInitWait(script: string): string | undefined {
  let found = false;
  let text = script.replace(BOOT_FINISHED_LOOP, (all: string, _head: string, body: string) => {
    const onlyWaiting = body
      .split(/[;\n]/)
      .every((c) => /^\s*(sleep\s+\d+(\.\d+)?|echo\b[^;|&`$]*|printf\b[^;|&`$]*|)\s*$/.test(c));
    if (!onlyWaiting) return all;
    found = true;
    return '';
  });
  const lines = text.split('\n').filter((l) => {
    if (CLOUD_INIT_WAIT.test(l)) {
      found = true;
      return false;
    }
    return true;
  });
  if (!found) return undefined;
  text = lines.join('\n');
  // A wait often comes with "waiting for cloud-init" messages: they go with it.
  const rest = text.split('\n').filter((l) => !/^\s*(echo|printf)\b.*cloud[- ]?init.*$/i.test(l));
  return rest.every((l) => l.trim() === '') ? '' : text.replace(/^\n+|\n+$/g, '');
}

export function recogniseScript(abs: string, readFile?: (abs: string) => string | undefined): BuiltIn | undefined {
  const base = path.basename(abs).toLowerCase();
  if (base === '90-cleanup.sh' || base.includes('cleanup')) return 'cleanup';
  if (base === '99-img-check.sh' || /img[-_]?check/.test(base)) return 'image-check';
  const text = readFile?.(abs);
  if (text === undefined) return undefined;
  if (/Marketplace Image Validation Tool/.test(text) && /PASSED/.test(text) && /FAIL/.test(text)) return 'image-check';
  const body = text
    .split('\n')
    .filter((l) => !/^\s*(#.*)?$/.test(l) && !/^\s*set\s+-[a-z]+\s*$/.test(l))
    .join('\n');
  if (body && stripCloudInitWait(body)?.trim() === '') return 'cloud-init';
  return undefined;
}

/** Packages from an inline script made only of simple apt-get update/upgrade/install/clean lines. */
export function aptOnly(script: string): string[] | undefined {
  const pkgs: string[] = [];
  for (const line of script.split('\n')) {
    if (line.trim() === '') continue;
    const words = shellWords(line);
    if (!words) return undefined;
    if (words[0] === 'sudo') words.shift();
    const env = words[0]?.startsWith('DEBIAN_FRONTEND=') ? words.shift() : undefined;
    if (env !== undefined && env !== 'DEBIAN_FRONTEND=noninteractive') return undefined;
    if (words[0] !== 'apt-get' && words[0] !== 'apt') return undefined;
    let verb: string | undefined;
    const args: string[] = [];
    for (let i = 1; i < words.length; i++) {
      const w = words[i]!;
      if (/^-[yq]+$/.test(w) || ['--yes', '--assume-yes', '--quiet'].includes(w)) continue;
      if (w === '-o') {
        const opt = words[++i];
        if (opt !== 'Dpkg::Options::=--force-confdef' && opt !== 'Dpkg::Options::=--force-confold') return undefined;
        continue;
      }
      if (w.startsWith('-')) return undefined;
      if (verb === undefined) verb = w;
      else args.push(w);
    }
    if (
      verb === 'update' ||
      verb === 'upgrade' ||
      verb === 'full-upgrade' ||
      verb === 'dist-upgrade' ||
      verb === 'clean' ||
      verb === 'autoclean'
    ) {
      if (args.length > 0) return undefined;
    } else if (verb === 'install') {
      if (args.length === 0 || !args.every((a) => APT_PACKAGE.test(a))) return undefined;
      pkgs.push(...args);
    } else return undefined;
  }
  return pkgs;
}

/** Splits a simple command line into words; undefined for anything beyond words and quotes. */
function shellWords(line: string): string[] | undefined {
  if (/[;&|<>`$(){}*?[\]#\\]/.test(line.replace(/'[^']*'/g, "''"))) return undefined;
  const words: string[] = [];
  const re = /\s*(?:'([^']*)'|"([^"]*)"|([^\s'"]+))/gy;
  let cur = '';
  let inWord = false;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(line)) !== null) {
    if (m[0] === '') break;
    const gapBefore = /^\s/.test(m[0]);
    if (gapBefore && inWord) {
      words.push(cur);
      cur = '';
    }
    cur += m[1] ?? m[2] ?? m[3] ?? '';
    inWord = true;
    last = re.lastIndex;
  }
  if (line.slice(last).trim() !== '') return undefined;
  if (inWord) words.push(cur);
  return words;
}
