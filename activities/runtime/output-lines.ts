/**
 * One output stream of a command (its stdout, or its stderr) turned into masked lines of bounded
 * length: bytes are decoded as UTF-8 by a streaming decoder (a character cut between two chunks
 * arrives whole), secrets are masked across chunks, and a line longer than LINE_MAX_CHARS is cut
 * there with a note and the rest of it dropped — so nothing a droplet prints, even gigabytes
 * without a newline, is held in the worker's memory.
 */
import { StringDecoder } from 'node:string_decoder';
import { Masker } from './masker';

export const LINE_MAX_CHARS = 16 * 1024;
export const LINE_CUT_NOTE = ' … [line cut at 16,384 characters]';

export class OutputLines {
  private readonly decoder = new StringDecoder('utf8');
  private readonly masker: Masker;
  private line = '';
  /** The current line was cut: drop the rest of it, up to its newline. */
  private cut = false;

  /** `patterns` from maskPatterns; `onLine` gets each line, masked and bounded, as it ends or is cut. */
  constructor(
    patterns: readonly string[],
    private readonly onLine: (line: string) => void,
  ) {
    this.masker = new Masker(patterns);
  }

  /** The line being printed (masked, bounded), for a step whose last line has no newline yet. */
  get partial(): string {
    return this.cut ? '' : this.line;
  }

  write(chunk: Buffer | string): void {
    // A string goes through the decoder too, after any bytes of a character it holds.
    const text = this.decoder.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    this.take(this.masker.push(text));
  }

  /** The end of the stream: a last character cut short, text held back by the masker, a line without newline. */
  end(): void {
    this.take(this.masker.push(this.decoder.end()) + this.masker.end());
    if (!this.cut && this.line) this.onLine(this.line);
    this.line = '';
    this.cut = false;
  }

  private take(text: string): void {
    let pos = 0;
    while (pos < text.length) {
      const nl = text.indexOf('\n', pos);
      if (!this.cut) this.add(text.slice(pos, nl < 0 ? text.length : nl));
      if (nl < 0) return;
      if (!this.cut) this.onLine(this.line);
      this.line = '';
      this.cut = false;
      pos = nl + 1;
    }
  }

  private add(piece: string): void {
    if (this.line.length + piece.length <= LINE_MAX_CHARS) {
      this.line += piece;
      return;
    }
    let kept = (this.line + piece.slice(0, LINE_MAX_CHARS - this.line.length)).slice(0, LINE_MAX_CHARS);
    // Not half a surrogate pair: it would be written as a replacement character.
    if (/[\uD800-\uDBFF]$/.test(kept)) kept = kept.slice(0, -1);
    this.onLine(kept + LINE_CUT_NOTE);
    this.line = '';
    this.cut = true;
  }
}
