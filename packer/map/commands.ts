/**
 * Inline commands as the spec writes them: secrets as references to worker-side variables,
 * Packer's "/bin/sh -e" semantics, valid exit codes, and which execute_commands are plain.
 */
import { workerEnvName } from '../template-functions';
import type { Segment } from '../template-functions';

/**
 * Puts sensitive variables into a command as references to their env var: "${NAME}" outside
 * quotes, ${NAME} inside double quotes. Inside single quotes, a heredoc, backticks or a comment a
 * reference would not expand (or would change meaning): that is an error.
 */
export function placeSecrets(segs: Segment[]): { text: string; secrets: string[] } | { error: string } {
  type State = 'normal' | 'single' | 'double' | 'comment' | 'backtick';
  const stack: State[] = ['normal'];
  let text = '';
  let heredoc = false;
  const secrets: string[] = [];
  const state = (): State => stack[stack.length - 1]!;
  for (const seg of segs) {
    if (seg.kind === 'secret') {
      const name = workerEnvName(seg.variable);
      const s = state();
      if (heredoc)
        return {
          error: `the sensitive variable "${seg.variable}" is used after a heredoc (<<): the importer cannot tell whether a reference to $${name} would expand there; pass it through environment_vars instead`,
        };
      if (s === 'normal') text += `"\${${name}}"`;
      else if (s === 'double') text += `\${${name}}`;
      else {
        const where = s === 'single' ? 'single quotes' : s === 'comment' ? 'a comment' : 'backticks';
        return {
          error: `the sensitive variable "${seg.variable}" is used inside ${where}, where a reference to $${name} would not be expanded safely: move it out of the ${where} (e.g. "...$${name}...") or pass it through environment_vars`,
        };
      }
      if (!secrets.includes(seg.variable)) secrets.push(seg.variable);
      continue;
    }
    if (seg.kind === 'dynamic') return { error: `${seg.raw} is only known when the image is built` };
    const t = seg.text;
    for (let i = 0; i < t.length; i++) {
      const c = t[i]!;
      const s = state();
      text += c;
      if (s === 'comment') {
        if (c === '\n') stack.pop();
      } else if (s === 'single') {
        if (c === "'") stack.pop();
      } else if (s === 'double') {
        if (c === '\\') text += t[++i] ?? '';
        else if (c === '"') stack.pop();
        else if (c === '$' && t[i + 1] === '(') {
          text += t[++i];
          stack.push('normal');
        } else if (c === '`') stack.push('backtick');
      } else if (s === 'backtick') {
        if (c === '`') stack.pop();
      } else {
        if (c === '\\') text += t[++i] ?? '';
        else if (c === "'") stack.push('single');
        else if (c === '"') stack.push('double');
        else if (c === '`') stack.push('backtick');
        else if (c === '#' && (text.length < 2 || /[\s;|&(]/.test(text[text.length - 2]!))) stack.push('comment');
        else if (c === '$' && t[i + 1] === '(') {
          text += t[++i];
          stack.push('normal');
        } else if (c === ')' && stack.length > 1) stack.pop();
        else if (c === '<' && t[i + 1] === '<' && t[i + 2] !== '<') heredoc = true;
      }
    }
  }
  return { text, secrets };
}

/** The run entry: `set -e` as Packer's "/bin/sh -e" shebang, exports, and valid exit codes. */
export function inlineBody(body: string, setFlags: string, exports: string[], validExit?: number[]): string {
  const head = [...exports, ...(setFlags ? [`set -${setFlags}`] : [])];
  if (!validExit) return [...head, body].join('\n');
  const ok = [...new Set(validExit)].join('|');
  const inner = [...(setFlags ? [`set -${setFlags}`] : []), body].join('\n');
  let delim = 'PACKER_INLINE';
  while (inner.split('\n').includes(delim)) delim += '_';
  // The commands run as a child bash: stdin stays /dev/null, and exit codes are mapped as in Packer.
  return [
    ...exports,
    `bash -c "$(cat <<'${delim}'`,
    inner,
    delim,
    ')"',
    'rc=$?',
    `case $rc in ${ok}) exit 0 ;; esac`,
    'if [ "$rc" -eq 0 ]; then exit 1; fi',
    'exit "$rc"',
  ].join('\n');
}

export function parseShebang(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(?:\/usr)?\/bin\/(?:env\s+)?(sh|bash|dash)((?:\s+-[a-z]+)*)\s*$/.exec(v.trim().replace(/^#!/, ''));
  if (!m) return undefined;
  const flags = (m[2] ?? '').replace(/[\s-]/g, '');
  return [...new Set(flags.split(''))].filter((f) => f === 'e' || f === 'x' || f === 'u').join('');
}

export function isPlainExecute(cmd: string): boolean {
  let c = cmd.replace(/\{\{\s*\.(\w+)\s*\}\}/g, '{{.$1}}').trim();
  c = c.replace(/^chmod\s+(\+x|[0-7]{3,4})\s+['"]?\{\{\.Path\}\}['"]?\s*(;|&&)\s*/, '');
  c = c.replace(/^echo\s+('[^']*'|"[^"]*"|\S+)\s*\|\s*/, '');
  c = c.replace(/^sudo(\s+-[A-Za-z]+)*\s+/, '');
  c = c.replace(/^(?:\/bin\/)?(?:ba)?sh\s+-c\s+(['"])(.*)\1$/, '$2').trim();
  c = c.replace(/^env\s+/, '');
  c = c.replace(/\{\{\.Vars\}\}\s*/, '');
  c = c.replace(/^(source|\.)\s+['"]?\{\{\.EnvVarFile\}\}['"]?\s*(;|&&)\s*/, '');
  c = c.replace(/^(?:\/usr)?(?:\/bin\/)?(?:ba)?sh(\s+-[ex]+)?\s+/, '');
  return /^['"]?\{\{\.Path\}\}['"]?$/.test(c);
}

export function isOnlyZero(v: unknown): boolean {
  return Array.isArray(v) && v.length === 1 && v[0] === 0;
}

export function shq(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
