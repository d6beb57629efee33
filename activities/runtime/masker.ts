/**
 * Masks the worker's secret values in a stream of text that arrives in pieces: a value split
 * between two pieces is still masked, because the masker holds back the end of what it has seen
 * while that end could still become a secret (at most the longest secret's length minus one
 * characters, and only as long as it matches the start of one). A multi-line value is masked
 * whole and also line by line, so a script that prints one of its lines, or prefixes each, still
 * shows none of them.
 */
import { MIN_SECRET_CHARS } from '../../contract/worker-secrets';

export const MASK = '***';

/**
 * The texts to mask for these secret values: each value, and each line of a multi-line value.
 * Shorter than MIN_SECRET_CHARS, a text is too common to mask (a PEM key's last line, `}`): the
 * worker refuses such a value at start, and a line that short is left as it is.
 */
export function maskPatterns(values: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const v of values) {
    if (v.length >= MIN_SECRET_CHARS) out.add(v);
    if (!v.includes('\n')) continue;
    for (const line of v.split('\n')) {
      const text = line.endsWith('\r') ? line.slice(0, -1) : line;
      if (text.length >= MIN_SECRET_CHARS) out.add(text);
    }
  }
  // Longest first: of two overlapping secrets, the longer is masked whole.
  return [...out].sort((a, b) => b.length - a.length);
}

/** Masks every whole occurrence of the patterns in one complete text. */
export function maskText(text: string, patterns: readonly string[]): string {
  if (patterns.length === 0) return text;
  const m = new Masker(patterns);
  return m.push(text) + m.end();
}

export class Masker {
  private held = '';
  private readonly longest: number;

  /** `patterns` from maskPatterns. */
  constructor(private readonly patterns: readonly string[]) {
    this.longest = patterns.reduce((n, p) => Math.max(n, p.length), 0);
  }

  /** The masked text that is safe to show now; what could still be the start of a secret is kept. */
  push(text: string): string {
    if (this.patterns.length === 0) return text;
    const raw = this.held + text;
    const cut = raw.length - this.openEnd(raw);
    const spans = this.occurrences(raw, cut);
    let out = '';
    let pos = 0;
    for (const [start, end] of spans) {
      out += raw.slice(pos, start) + MASK;
      pos = end;
    }
    if (pos < cut) {
      out += raw.slice(pos, cut);
      pos = cut;
    }
    this.held = raw.slice(pos);
    return out;
  }

  /** The end of the stream: what was held back (it can no longer become a secret). */
  end(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }

  /**
   * Where each secret occurs in `raw`, starting before `cut` (an occurrence may end after it),
   * overlapping occurrences joined into one span, in order.
   */
  private occurrences(raw: string, cut: number): [number, number][] {
    const found: [number, number][] = [];
    for (const p of this.patterns) {
      for (let i = raw.indexOf(p); i >= 0 && i < cut; i = raw.indexOf(p, i + 1)) found.push([i, i + p.length]);
    }
    if (found.length < 2) return found;
    found.sort((a, b) => a[0] - b[0]);
    const joined: [number, number][] = [found[0]!];
    for (const [s, e] of found.slice(1)) {
      const last = joined[joined.length - 1]!;
      if (s <= last[1]) last[1] = Math.max(last[1], e);
      else joined.push([s, e]);
    }
    return joined;
  }

  /** The length of the longest end of `raw` that is the start (not the whole) of a secret. */
  private openEnd(raw: string): number {
    const from = Math.max(0, raw.length - this.longest + 1);
    for (let i = from; i < raw.length; i++) {
      const len = raw.length - i;
      for (const p of this.patterns) if (p.length > len && startsWithAt(p, raw, i)) return len;
    }
    return 0;
  }
}

/** Whether raw[i..] is the start of p (checked char by char: no copies on this hot path). */
function startsWithAt(p: string, raw: string, i: number): boolean {
  for (let k = 0; i + k < raw.length; k++) if (p.charCodeAt(k) !== raw.charCodeAt(i + k)) return false;
  return true;
}
