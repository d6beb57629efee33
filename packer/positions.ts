/**
 * Line and column of any value in a JSON template, by its JSON path. JSON is YAML, so the `yaml`
 * package (already a dependency) parses it with node ranges; a LineCounter turns offsets into
 * line:column. Values come from JSON.parse (strict JSON, as Packer reads it); this only locates.
 */
import { LineCounter, isNode, parseDocument } from 'yaml';

export type JsonPath = (string | number)[];

export interface Position {
  line: number;
  column: number;
}

export interface Positions {
  /** The position of the deepest existing node along the path (a missing key points at its parent). */
  of(path: JsonPath): Position | undefined;
}

export function jsonPositions(text: string): Positions {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const ok = doc.errors.length === 0;
  return {
    of(path: JsonPath): Position | undefined {
      if (!ok) return undefined;
      for (let n = path.length; n >= 0; n--) {
        const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
        if (isNode(node) && node.range) {
          const p = lines.linePos(node.range[0]);
          return { line: p.line, column: p.col };
        }
      }
      return undefined;
    },
  };
}

/** JSON.parse's error, with line:column when Node's message gives an offset. */
export function jsonSyntaxError(text: string, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const m = /position (\d+)/.exec(msg);
  if (!m) return msg;
  const lines = new LineCounter();
  parseDocument(text, { lineCounter: lines });
  const p = lines.linePos(Number(m[1]));
  return `${p.line}:${p.col}: ${msg.replace(/ in JSON at position \d+.*$/, '').replace(/\s*\(line \d+ column \d+\)$/, '')}`;
}

/** provisioners[3].inline[0] */
export function formatPath(path: JsonPath): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${k}` : k), '');
}
