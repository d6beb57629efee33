/**
 * HCL2 expressions and string templates, as @cdktn/hcl2json leaves them: every string value is a
 * template ("a-${var.x}", "%{if c}…%{endif}", "$${" for a literal "${"), and a bare expression is
 * written "${expr}". This parses them into a small syntax tree for hcl/eval.ts; what Packer
 * templates for DigitalOcean do not use is a clear error.
 */

export type Expr =
  | { k: 'lit'; v: string | number | boolean | null; src: string }
  | { k: 'tpl'; parts: TplPart[]; src: string }
  | { k: 'ref'; name: string; src: string }
  | { k: 'attr'; e: Expr; name: string; src: string }
  | { k: 'index'; e: Expr; key: Expr; src: string }
  | { k: 'call'; name: string; args: Expr[]; expand: boolean; src: string }
  | { k: 'tuple'; items: Expr[]; src: string }
  | { k: 'object'; items: [Expr, Expr][]; src: string }
  | { k: 'cond'; c: Expr; t: Expr; f: Expr; src: string }
  | { k: 'bin'; op: string; l: Expr; r: Expr; src: string }
  | { k: 'un'; op: string; e: Expr; src: string }
  /** e[*].a[0] and e.*.a: `each` applied to every element, which it reads as the ref SPLAT. */
  | { k: 'splat'; e: Expr; each: Expr; src: string }
  | {
      k: 'for';
      keyVar?: string;
      valVar: string;
      coll: Expr;
      key?: Expr;
      val: Expr;
      cond?: Expr;
      object: boolean;
      src: string;
    };

export type TplPart =
  | string
  | { k: 'interp'; e: Expr }
  | { k: 'if'; c: Expr; then: TplPart[]; else: TplPart[] }
  | { k: 'tfor'; keyVar?: string; valVar: string; coll: Expr; body: TplPart[] };

export class HclSyntaxError extends Error {}

/** The name the element of a splat has inside its `each` (no HCL name can contain a space). */
export const SPLAT = 'splat element';

/** A string value from hcl2json: a template; "${expr}" alone is the expression itself (any type). */
export function parseValueString(s: string): Expr {
  const p = new Parser(s);
  const parts = p.template(undefined);
  const only = parts[0];
  if (parts.length === 1 && typeof only !== 'string' && only?.k === 'interp') return only.e;
  return { k: 'tpl', parts, src: s };
}

/** A bare expression (e.g. a -var value for a list variable). */
export function parseExpression(s: string): Expr {
  const p = new Parser(s);
  const e = p.expr();
  p.ws();
  if (p.i < s.length) p.fail(`unexpected "${s.slice(p.i, p.i + 10)}"`);
  return e;
}

const BIN_LEVELS: string[][] = [['||'], ['&&'], ['==', '!='], ['<=', '>=', '<', '>'], ['+', '-'], ['*', '/', '%']];

class Parser {
  i = 0;
  constructor(readonly s: string) {}

  fail(msg: string): never {
    throw new HclSyntaxError(`${msg} in ${JSON.stringify(this.s.length > 80 ? `${this.s.slice(0, 77)}...` : this.s)}`);
  }

  ws(): void {
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (/\s/.test(c)) this.i++;
      else if (c === '#' || this.s.startsWith('//', this.i)) {
        while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++;
      } else break;
    }
  }

  eat(t: string): boolean {
    this.ws();
    if (this.s.startsWith(t, this.i)) {
      this.i += t.length;
      return true;
    }
    return false;
  }

  expect(t: string): void {
    if (!this.eat(t)) this.fail(`expected "${t}"`);
  }

  ident(): string | undefined {
    this.ws();
    const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(this.s.slice(this.i));
    if (!m) return undefined;
    this.i += m[0].length;
    return m[0];
  }

  /** Template parts until `end` ('"' inside an expression, undefined for the whole string). */
  template(end: string | undefined, directive = false): TplPart[] {
    const parts: TplPart[] = [];
    let text = '';
    const flush = () => {
      if (text) parts.push(text);
      text = '';
    };
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (end !== undefined && c === end) break;
      if (c === '\\' && end !== undefined) {
        const n = this.s[this.i + 1];
        const esc: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
        if (n === 'u') {
          text += String.fromCharCode(parseInt(this.s.slice(this.i + 2, this.i + 6), 16));
          this.i += 6;
        } else {
          text += esc[n ?? ''] ?? n ?? '';
          this.i += 2;
        }
      } else if ((c === '$' || c === '%') && this.s[this.i + 1] === c && this.s[this.i + 2] === '{') {
        text += `${c}{`;
        this.i += 3;
      } else if (c === '$' && this.s[this.i + 1] === '{') {
        flush();
        this.i += 2;
        this.eat('~');
        const e = this.expr();
        this.eat('~');
        this.expect('}');
        parts.push({ k: 'interp', e });
      } else if (c === '%' && this.s[this.i + 1] === '{') {
        const save = this.i;
        this.i += 2;
        this.eat('~');
        const word = this.ident();
        if (directive && (word === 'else' || word === 'endif' || word === 'endfor')) {
          this.i = save;
          break;
        }
        flush();
        if (word === 'if') {
          const cond = this.expr();
          this.closeDirective();
          const then = this.template(end, true);
          let other: TplPart[] = [];
          if (this.directiveWord() === 'else') {
            this.closeDirective(true);
            other = this.template(end, true);
          }
          if (this.directiveWord() !== 'endif') this.fail('"%{if}" without "%{endif}"');
          this.closeDirective(true);
          parts.push({ k: 'if', c: cond, then, else: other });
        } else if (word === 'for') {
          const a = this.ident();
          const b = this.eat(',') ? this.ident() : undefined;
          if (!a || !this.eat('in')) this.fail('"%{for}" must be "%{for x in list}"');
          const coll = this.expr();
          this.closeDirective();
          const body = this.template(end, true);
          if (this.directiveWord() !== 'endfor') this.fail('"%{for}" without "%{endfor}"');
          this.closeDirective(true);
          parts.push({ k: 'tfor', ...(b ? { keyVar: a, valVar: b } : { valVar: a! }), coll, body });
        } else this.fail(`unknown template directive "%{${word ?? ''}"`);
      } else {
        text += c;
        this.i++;
      }
    }
    flush();
    return parts;
  }

  private directiveWord(): string | undefined {
    if (!this.s.startsWith('%{', this.i)) return undefined;
    const m = /^%\{~?\s*([a-z]+)/.exec(this.s.slice(this.i));
    return m?.[1];
  }

  private closeDirective(skipWord = false): void {
    if (skipWord) {
      this.i += 2;
      this.eat('~');
      this.ident();
    }
    this.eat('~');
    this.expect('}');
  }

  expr(): Expr {
    const start = this.i;
    const c = this.binary(0);
    if (this.eat('?')) {
      const t = this.expr();
      this.expect(':');
      const f = this.expr();
      return { k: 'cond', c, t, f, src: this.s.slice(start, this.i).trim() };
    }
    return c;
  }

  private binary(level: number): Expr {
    if (level >= BIN_LEVELS.length) return this.unary();
    const start = this.i;
    let l = this.binary(level + 1);
    for (;;) {
      this.ws();
      const op = BIN_LEVELS[level]!.find(
        (o) => this.s.startsWith(o, this.i) && !(o === '<' && this.s[this.i + 1] === '<'),
      );
      if (!op) return l;
      this.i += op.length;
      const r = this.binary(level + 1);
      l = { k: 'bin', op, l, r, src: this.s.slice(start, this.i).trim() };
    }
  }

  private unary(): Expr {
    this.ws();
    const start = this.i;
    const op = this.s[this.i];
    if (op === '!' || op === '-') {
      this.i++;
      const e = this.unary();
      return { k: 'un', op, e, src: this.s.slice(start, this.i).trim() };
    }
    return this.postfix();
  }

  private postfix(): Expr {
    const start = this.i;
    let e = this.primary();
    for (;;) {
      if (this.s[this.i] === '.' && /[A-Za-z_]/.test(this.s[this.i + 1] ?? '')) {
        this.i++;
        const name = this.ident()!;
        e = { k: 'attr', e, name, src: this.s.slice(start, this.i).trim() };
      } else if (this.s[this.i] === '.' && /\d/.test(this.s[this.i + 1] ?? '')) {
        this.i++;
        const m = /^\d+/.exec(this.s.slice(this.i))![0];
        this.i += m.length;
        e = { k: 'index', e, key: { k: 'lit', v: Number(m), src: m }, src: this.s.slice(start, this.i).trim() };
      } else if (this.s[this.i] === '[') {
        this.i++;
        if (this.eat('*')) {
          this.expect(']');
          return this.splat(e, start, true);
        }
        const key = this.expr();
        this.expect(']');
        e = { k: 'index', e, key, src: this.s.slice(start, this.i).trim() };
      } else if (this.s.startsWith('.*', this.i)) {
        this.i += 2;
        return this.splat(e, start, false);
      } else return e;
    }
  }

  /** The traversal after [*] (attributes and indexes) or .* (attributes only), per element. */
  private splat(coll: Expr, start: number, full: boolean): Expr {
    let each: Expr = { k: 'ref', name: SPLAT, src: '*' };
    for (;;) {
      const next = this.s[this.i + 1] ?? '';
      if (this.s[this.i] === '.' && /[A-Za-z_]/.test(next)) {
        this.i++;
        each = { k: 'attr', e: each, name: this.ident()!, src: this.s.slice(start, this.i).trim() };
      } else if (this.s[this.i] === '.' && /\d/.test(next)) {
        this.i++;
        const m = /^\d+/.exec(this.s.slice(this.i))![0];
        this.i += m.length;
        each = {
          k: 'index',
          e: each,
          key: { k: 'lit', v: Number(m), src: m },
          src: this.s.slice(start, this.i).trim(),
        };
      } else if (full && this.s[this.i] === '[' && !/^\[\s*\*/.test(this.s.slice(this.i))) {
        this.i++;
        const key = this.expr();
        this.expect(']');
        each = { k: 'index', e: each, key, src: this.s.slice(start, this.i).trim() };
      } else break;
    }
    return { k: 'splat', e: coll, each, src: this.s.slice(start, this.i).trim() };
  }

  private primary(): Expr {
    this.ws();
    const start = this.i;
    const c = this.s[this.i];
    const src = () => this.s.slice(start, this.i).trim();
    if (c === undefined) this.fail('unexpected end of expression');
    if (c === '"') {
      this.i++;
      const parts = this.template('"');
      this.expect('"');
      if (parts.every((x) => typeof x === 'string')) return { k: 'lit', v: parts.join(''), src: src() };
      return { k: 'tpl', parts, src: src() };
    }
    if (c === '<' && /^<<-?[A-Za-z_]/.test(this.s.slice(this.i, this.i + 4))) return this.heredoc(start);
    if (/\d/.test(c)) {
      const m = /^\d+(\.\d+)?([eE][+-]?\d+)?/.exec(this.s.slice(this.i))!;
      this.i += m[0].length;
      return { k: 'lit', v: Number(m[0]), src: m[0] };
    }
    if (c === '(') {
      this.i++;
      const e = this.expr();
      this.expect(')');
      return e;
    }
    if (c === '[') {
      this.i++;
      if (this.peekWord() === 'for') return this.forExpr(start, ']', false);
      const items: Expr[] = [];
      while (!this.eat(']')) {
        items.push(this.expr());
        if (!this.eat(',')) {
          this.expect(']');
          break;
        }
      }
      return { k: 'tuple', items, src: src() };
    }
    if (c === '{') {
      this.i++;
      if (this.peekWord() === 'for') return this.forExpr(start, '}', true);
      const items: [Expr, Expr][] = [];
      while (!this.eat('}')) {
        this.ws();
        const save = this.i;
        const name = this.ident();
        this.ws();
        const key: Expr =
          name && /^[=:]/.test(this.s[this.i] ?? '')
            ? { k: 'lit', v: name, src: name }
            : ((this.i = save), this.expr());
        if (!this.eat('=') && !this.eat(':')) this.fail('expected "=" in an object');
        items.push([key, this.expr()]);
        this.eat(',');
      }
      return { k: 'object', items, src: src() };
    }
    const name = this.ident();
    if (!name) this.fail(`unexpected "${c}"`);
    if (name === 'true' || name === 'false') return { k: 'lit', v: name === 'true', src: name };
    if (name === 'null') return { k: 'lit', v: null, src: name };
    if (this.s[this.i] === '(' || (this.ws(), this.s[this.i] === '(')) {
      this.i++;
      const args: Expr[] = [];
      let expand = false;
      while (!this.eat(')')) {
        args.push(this.expr());
        if (this.eat('...')) expand = true;
        if (!this.eat(',')) {
          this.expect(')');
          break;
        }
      }
      return { k: 'call', name, args, expand, src: src() };
    }
    return { k: 'ref', name, src: name };
  }

  /** <<EOF … EOF and <<-EOF (indented: the smallest common indent is removed), a template. */
  private heredoc(start: number): Expr {
    const m = /^<<(-?)([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n/.exec(this.s.slice(this.i));
    if (!m) this.fail('a heredoc must be "<<EOF" followed by a new line');
    this.i += m[0].length;
    const lines: string[] = [];
    for (;;) {
      if (this.i >= this.s.length) this.fail(`a heredoc without its closing "${m[2]!}"`);
      const nl = this.s.indexOf('\n', this.i);
      const line = this.s.slice(this.i, nl < 0 ? this.s.length : nl + 1);
      if (line.trim() === m[2]) {
        this.i += line.indexOf(m[2]) + m[2].length;
        break;
      }
      lines.push(line);
      this.i += line.length;
    }
    if (m[1] === '-') {
      const indents = lines.filter((l) => l.trim() !== '').map((l) => /^[ \t]*/.exec(l)![0].length);
      const cut = indents.length > 0 ? Math.min(...indents) : 0;
      lines.forEach((l, j) => (lines[j] = l.slice(Math.min(cut, /^[ \t]*/.exec(l)![0].length))));
    }
    const parts = new Parser(lines.join('')).template(undefined);
    const src = this.s.slice(start, this.i);
    if (parts.every((x) => typeof x === 'string')) return { k: 'lit', v: parts.join(''), src };
    return { k: 'tpl', parts, src };
  }

  private peekWord(): string | undefined {
    this.ws();
    return /^[A-Za-z_]+/.exec(this.s.slice(this.i))?.[0];
  }

  private forExpr(start: number, close: string, object: boolean): Expr {
    this.ident();
    const a = this.ident();
    const b = this.eat(',') ? this.ident() : undefined;
    if (!a || this.ident() !== 'in') this.fail('a for expression must be "for x in list : …"');
    const coll = this.expr();
    this.expect(':');
    let key: Expr | undefined;
    let val = this.expr();
    if (object) {
      this.expect('=>');
      key = val;
      val = this.expr();
      this.eat('...');
    }
    const cond = this.peekWord() === 'if' ? (this.ident(), this.expr()) : undefined;
    this.expect(close);
    const vars = b ? { keyVar: a, valVar: b } : { valVar: a };
    return {
      k: 'for',
      ...vars,
      coll,
      ...(key ? { key } : {}),
      val,
      ...(cond ? { cond } : {}),
      object,
      src: this.s.slice(start, this.i).trim(),
    };
  }
}
