// What the default matcher's recognisers share: how each is called, what it is given, and small readings of
// a line (where its text starts, a `path:line:column`, a severity word).
import type { ReadFinding, Severity } from '../matcherTypes';

/** What each recogniser is given by the default matcher. */
export interface Reading {
  /** The number of the line being read, from 1: a recogniser tells by it whether a line came just before. */
  readonly lineNo: number;
  /** The file of the commit that `raw` names as the log prints it, or undefined. */
  file(raw: string): string | undefined;
  emit(finding: ReadFinding): void;
}

/** One format (or a family of them) that the default matcher recognises. */
export interface Recogniser {
  /**
   * Reads the next line (`indent`: where its first non-blank character is, its length for a blank line); true
   * when the line was this format's, and no recogniser after this one reads it.
   */
  line(text: string, indent: number): boolean;
  /** A build's own line came between, or the log ended: what was open is finished (said, when it can be). */
  close(): void;
}

/** At most this many lines make a message. */
export const MAX_MESSAGE_LINES = 8;

/** Where the first character that is neither a blank nor a tab is; the length for a blank line. */
export function indentOf(text: string): number {
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9) { break; }
    i++;
  }
  return i;
}

export interface Location {
  readonly path: string;
  readonly line: number;
  readonly column?: number;
}

/** `path:line` or `path:line:column` (the whole of `text`), the path not empty; the line at least 1. */
export function location(text: string): Location | undefined {
  const m = /:(\d{1,9})(?::(\d{1,9}))?$/.exec(text);
  if (!m || m.index === 0) { return undefined; }
  const line = Number(m[1]);
  if (line < 1) { return undefined; }
  return { path: text.slice(0, m.index), line, ...(m[2] === undefined ? {} : { column: Number(m[2]) }) };
}

/** The severity a tool's word says: error, warning (warn), and info for note, help, hint and info. */
export function severityWord(word: string): Severity | undefined {
  const w = word.toLowerCase();
  if (w === 'error' || w === 'fatal error') { return 'error'; }
  if (w === 'warning' || w === 'warn') { return 'warning'; }
  if (w === 'note' || w === 'info' || w === 'help' || w === 'hint') { return 'info'; }
  return undefined;
}

/** `message (code)` at the end of a line: the message and the code, when there is one. */
export function trailingCode(text: string): { message: string; code?: string } {
  if (!text.endsWith(')')) { return { message: text }; }
  const open = text.lastIndexOf(' (');
  const code = open < 0 ? '' : text.slice(open + 2, -1);
  return code === '' || /\s/.test(code) ? { message: text } : { message: text.slice(0, open), code };
}
