/**
 * Where things are in an HCL2 file: hcl2json returns values without positions and groups blocks
 * by type (losing the order of provisioners of different types). This scans the source for block
 * headers and attribute names (skipping comments, strings and heredocs) to recover both. It only
 * locates; the values come from hcl2json.
 */
export interface Pos {
  line: number;
  column: number;
}

export interface ScannedBlock extends Pos {
  type: string;
  labels: string[];
  attrs: Map<string, Pos>;
  blocks: ScannedBlock[];
}

export function scanHcl(text: string): ScannedBlock {
  const top: ScannedBlock = { type: '', labels: [], line: 1, column: 1, attrs: new Map(), blocks: [] };
  const stack = [top];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const pos = (at: number): Pos => ({ line, column: at - lineStart + 1 });
  const advance = (to: number) => {
    for (; i < to; i++) {
      if (text[i] === '\n') {
        line++;
        lineStart = i + 1;
      }
    }
  };
  /** Skips one expression (to the end of the line at bracket depth 0). */
  const skipExpr = () => {
    let depth = 0;
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') skipString();
      else if (c === '<' && text.startsWith('<<', i) && /^<<-?[A-Za-z_]/.test(text.slice(i, i + 4))) skipHeredoc();
      else if (c === '#' || text.startsWith('//', i))
        advance(text.indexOf('\n', i) < 0 ? text.length : text.indexOf('\n', i));
      else if (text.startsWith('/*', i)) advance(text.indexOf('*/', i) + 2);
      else if ('([{'.includes(c)) {
        depth++;
        advance(i + 1);
      } else if (')]}'.includes(c)) {
        if (depth === 0) return;
        depth--;
        advance(i + 1);
      } else if (c === '\n' && depth === 0) return;
      else advance(i + 1);
    }
  };
  const skipString = () => {
    advance(i + 1);
    let depth = 0;
    while (i < text.length) {
      const c = text[i]!;
      if (c === '\\') advance(i + 2);
      else if (c === '"' && depth === 0) return advance(i + 1);
      else if (c === '"') skipString();
      else if (c === '$' && text[i + 1] === '{') {
        depth++;
        advance(i + 2);
      } else if (c === '}' && depth > 0) {
        depth--;
        advance(i + 1);
      } else advance(i + 1);
    }
  };
  const skipHeredoc = () => {
    const m = /^<<-?([A-Za-z_][A-Za-z0-9_]*)/.exec(text.slice(i))!;
    const re = new RegExp(`\\n[ \\t]*${m[1]}[ \\t]*(\\n|$)`, 'g');
    re.lastIndex = i;
    const end = re.exec(text);
    advance(end ? end.index + end[0].length - (end[1] ? 1 : 0) : text.length);
  };
  while (i < text.length) {
    const c = text[i]!;
    const cur = stack[stack.length - 1]!;
    if (/\s/.test(c)) advance(i + 1);
    else if (c === '#' || text.startsWith('//', i))
      advance(text.indexOf('\n', i) < 0 ? text.length : text.indexOf('\n', i));
    else if (text.startsWith('/*', i)) advance(text.indexOf('*/', i) + 2);
    else if (c === '}') {
      if (stack.length > 1) stack.pop();
      advance(i + 1);
    } else {
      const m = /^([A-Za-z_][A-Za-z0-9_-]*)((?:\s+(?:"[^"\n]*"|[A-Za-z_][A-Za-z0-9_-]*))*)\s*(=|\{)/.exec(
        text.slice(i),
      );
      if (!m) {
        advance(i + 1);
        continue;
      }
      const p = pos(i);
      if (m[3] === '=') {
        cur.attrs.set(m[1]!, p);
        advance(i + m[0].length);
        skipExpr();
      } else {
        const labels = [...m[2]!.matchAll(/"([^"\n]*)"|([A-Za-z_][A-Za-z0-9_-]*)/g)].map((x) => x[1] ?? x[2]!);
        const block: ScannedBlock = { type: m[1]!, labels, ...p, attrs: new Map(), blocks: [] };
        cur.blocks.push(block);
        stack.push(block);
        advance(i + m[0].length);
      }
    }
  }
  return top;
}
