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

/** Who an execute_command runs the script as: root (the default), or a user and how (su, sudo -u). */
export type ExecuteAs = { asRoot: true } | { asRoot: false; user: string; via: string };

const SHELL = /^(?:\/usr)?(?:\/bin\/)?(?:ba|da)?sh$/;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/**
 * Reads an execute_command: undefined unless it only runs the script ({{.Path}}), maybe through
 * chmod, sudo, su, runuser, sh/bash -c and with its variables ({{.Vars}}, {{.EnvVarFile}}); else
 * who runs it. `chmod +x {{ .Path }}; su -c '{{ .Vars }} {{ .Path }}' - mastodon` runs it as
 * mastodon, `sudo -E -S sh '{{ .Path }}'` as root.
 */
export function parseExecute(cmd: string): ExecuteAs | undefined {
  let c = cmd.replace(/\{\{\s*\.(\w+)\s*\}\}/g, '{{.$1}}').trim();
  c = c.replace(/^chmod\s+(\+x|u\+x|a\+x|[0-7]{3,4})\s+['"]?\{\{\.Path\}\}['"]?\s*(;|&&)\s*/, '');
  c = c.replace(/^echo\s+('[^']*'|"[^"]*"|\S+)\s*\|\s*/, '');
  const words = shellWords(c);
  if (!words) return undefined;
  let user: string | undefined;
  let via = '';
  const run = (w: string[]): boolean => {
    let i = 0;
    while (i < w.length) {
      const word = w[i]!;
      if (word === '{{.Vars}}' || word === 'env' || ASSIGNMENT.test(word)) i++;
      else if ((word === 'source' || word === '.') && w[i + 1] === '{{.EnvVarFile}}' && ['&&', ';'].includes(w[i + 2]!))
        i += 3;
      else if (word === 'sudo') {
        const r = sudo(w.slice(i + 1));
        if (!r) return false;
        if (r.user !== undefined) [user, via] = [r.user, 'sudo -u'];
        i += 1 + r.consumed;
      } else if (word === 'su' || word === 'runuser') {
        const r = su(w.slice(i + 1), word === 'runuser');
        if (!r) return false;
        [user, via] = [r.user, word];
        return run(r.command);
      } else if (SHELL.test(word)) {
        let j = i + 1;
        while (j < w.length && /^-[a-z]+$/.test(w[j]!) && w[j] !== '-c') j++;
        if (w[j] === '-c') return j + 2 === w.length && run(shellWords(w[j + 1]!) ?? ['?']);
        return j === w.length - 1 && w[j] === '{{.Path}}';
      } else return word === '{{.Path}}' && i === w.length - 1;
    }
    return false;
  };
  if (!run(words)) return undefined;
  return user === undefined || user === 'root' ? { asRoot: true } : { asRoot: false, user, via };
}

/** sudo's options before the command: -u USER (or -uUSER, --user=USER) and flags that keep the user. */
function sudo(w: string[]): { user?: string; consumed: number } | undefined {
  let user: string | undefined;
  let i = 0;
  for (; i < w.length && w[i]!.startsWith('-'); i++) {
    const o = w[i]!;
    if (o === '--') return { ...(user ? { user } : {}), consumed: i + 1 };
    const long = /^--user=(.+)$/.exec(o);
    if (long) user = long[1];
    else if (/^-[EHSnikP]*u$/.test(o)) user = w[++i];
    else if (/^-[EHSnikP]*u.+$/.test(o)) user = o.slice(o.indexOf('u') + 1);
    else if (!/^-[EHSnikP]+$/.test(o) && !['--preserve-env', '--login', '--set-home', '--stdin'].includes(o))
      return undefined;
  }
  return user === undefined ? { consumed: i } : { user, consumed: i };
}

/** su/runuser: [-|-l|--login] [-c CMD] USER (in any order); the command the user's shell runs. */
function su(w: string[], runuser: boolean): { user: string; command: string[] } | undefined {
  let user: string | undefined;
  let command: string | undefined;
  for (let i = 0; i < w.length; i++) {
    const o = w[i]!;
    if (['-', '-l', '--login', '-m', '-p', '--preserve-environment'].includes(o)) continue;
    if (o === '-c' || o === '--command') command = w[++i];
    else if (o.startsWith('--command=')) command = o.slice('--command='.length);
    else if (o === '-s' || o === '--shell') i++;
    else if (runuser && o === '-u') user = w[++i];
    else if (o.startsWith('-') || user !== undefined) return undefined;
    else user = o;
  }
  const words = command === undefined ? undefined : shellWords(command);
  return user !== undefined && words ? { user, command: words } : undefined;
}

/**
 * A command line's words (quotes removed; `;` and `&&` as words of their own); undefined for
 * anything more (pipes, redirections, substitutions, unbalanced quotes).
 */
function shellWords(line: string): string[] | undefined {
  const words: string[] = [];
  let cur: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (/\s/.test(ch)) {
      if (cur !== undefined) words.push(cur);
      cur = undefined;
    } else if (ch === "'" || ch === '"') {
      const end = line.indexOf(ch, i + 1);
      if (end < 0) return undefined;
      const inner = line.slice(i + 1, end);
      if (ch === '"' && /[$`\\]/.test(inner)) return undefined;
      cur = (cur ?? '') + inner;
      i = end;
    } else if (ch === ';' || (ch === '&' && line[i + 1] === '&')) {
      if (cur !== undefined) words.push(cur);
      cur = undefined;
      words.push(ch === ';' ? ';' : '&&');
      if (ch === '&') i++;
    } else if (/[|&<>$`\\()]/.test(ch)) return undefined;
    else cur = (cur ?? '') + ch;
  }
  if (cur !== undefined) words.push(cur);
  return words;
}

export function isOnlyZero(v: unknown): boolean {
  return Array.isArray(v) && v.length === 1 && v[0] === 0;
}

export function shq(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
