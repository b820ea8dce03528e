// The default matcher's readings of JavaScript test runners: a stack trace's problem is at its first frame inside
// the repository (the runtime's `node:internal` frames and a dependency's `node_modules` ones are not), with
// the error's message that comes before the frames — after the heading of the failure when the runner prints
// one (jest `●`, node's spec reporter `✖`, vitest and jest `FAIL`, mocha `1) suite`), else the lines just
// above the frames. And node:test's TAP, which says a failure in a YAML block (`location:`, `error:`,
// `name:`, `stack:`, the frames without `at`).
import { location, MAX_MESSAGE_LINES, type Location, type Reading, type Recogniser } from './reading';

/** `at fn (loc)`, `at loc`, `fn (loc)` (TAP), `fn loc` (vitest): the location, or undefined. */
export function frameLocation(text: string): Location | undefined {
  let t = text.trimEnd();
  if (t.endsWith(' {')) { t = t.slice(0, -2); } // node prints an error's own properties after its last frame
  let loc: string;
  if (t.endsWith(')')) {
    const open = t.lastIndexOf('(');
    if (open < 0) { return undefined; }
    loc = t.slice(open + 1, -1);
  } else {
    loc = t.slice(t.lastIndexOf(' ') + 1);
  }
  return location(loc);
}

/** A frame of the runtime or of a dependency, never a problem of the repository's. */
export function foreign(path: string): boolean {
  return path.startsWith('node:') || path.startsWith('internal/') || path.startsWith('<') || path === 'native'
    || path.includes('/node_modules/') || path.includes('\\node_modules\\') || path.startsWith('node_modules/');
}

/** mocha's heading of a failure: `  1) suite`, the test's title on the next lines, the last one ending with `:`. */
const MOCHA_HEADING = /^\s*\d+\) \S/;
/**
 * A line of a code frame that jest and vitest print between the message and the frames: `> 4 |   expect(…)`,
 * read from its first non-blank character (written so that no run of blanks can be split two ways).
 */
const CODE_FRAME = /^(?:>\s*)?(?:\d+\s*)?\|/;
/** Where an error's message starts among the lines before its frames: `RangeError: …`, `Error [ERR_X]: …`. */
const ERROR_LINE = /^(?:Uncaught\s+)?[\w$.]*(?:Error|Exception)\b/;

export class StackReading implements Recogniser {
  /** The number of the last frame's line, and whether its trace has had its problem. */
  private lastFrame = -1;
  private found = false;
  /** What went wrong: the lines since the heading, or (without one) the last lines since a blank one. */
  private block: string[] = [];
  private heading = false;
  /** How many lines of a mocha test's title may still come (0: none). */
  private title = 0;

  constructor(private readonly r: Reading) {}

  line(text: string, indent: number): boolean {
    if (indent === 0 || indent === text.length) { return false; }
    let rest: string | undefined;
    if (text.startsWith('at ', indent)) {
      rest = text.slice(indent + 3);
    } else if (text.startsWith('\u276f ', indent)) { // vitest's ❯
      rest = text.slice(indent + 2);
    }
    const at = rest === undefined ? undefined : frameLocation(rest);
    if (at === undefined) { return false; }
    this.frame(at, text);
    return true;
  }

  private frame(at: Location, text: string): void {
    const lineNo = this.r.lineNo;
    if (this.lastFrame !== lineNo - 1) { this.found = false; } // another trace
    this.lastFrame = lineNo;
    if (this.found || foreign(at.path)) { return; }
    const file = this.r.file(at.path);
    if (file === undefined) { return; }
    this.found = true;
    this.r.emit({ file, line: at.line, column: at.column, message: this.message() ?? text.trim() });
  }

  /** A line that no recogniser took: a failure's heading, or a line of what went wrong. */
  note(text: string, indent: number): void {
    if (this.lastFrame === this.r.lineNo - 1) { this.close(); } // the trace has ended: what follows is about another
    if (indent === text.length) {
      if (!this.heading) { this.block.length = 0; }
      return;
    }
    const c = text.charCodeAt(indent);
    if (c === 0x25cf /* ● */ || c === 0x2716 /* ✖ */ || (c === 70 /* F */ && text.startsWith('FAIL ', indent))) {
      this.start(false);
      return;
    }
    const digit = c >= 48 && c <= 57;
    if (digit && MOCHA_HEADING.test(text)) {
      this.start(true);
      return;
    }
    if (this.title > 0) {
      this.title = text.trimEnd().endsWith(':') ? 0 : this.title - 1;
      return;
    }
    if ((digit || c === 62 /* > */ || c === 124 /* | */) && CODE_FRAME.test(text.slice(indent))) { return; }
    if (this.heading) {
      if (this.block.length < MAX_MESSAGE_LINES) { this.block.push(text); }
    } else {
      if (this.block.length >= MAX_MESSAGE_LINES) { this.block.shift(); }
      this.block.push(text);
    }
  }

  private start(mocha: boolean): void {
    this.block = [];
    this.heading = true;
    this.title = mocha ? 5 : 0;
  }

  private message(): string | undefined {
    let lines = this.block.map((l) => l.trim());
    if (!this.heading) {
      // Without a heading, the lines above the frames may begin with what is not the error.
      for (let i = lines.length - 1; i > 0; i--) {
        if (ERROR_LINE.test(lines[i])) { lines = lines.slice(i); break; }
      }
    }
    return lines.length > 0 ? lines.join('\n') : undefined;
  }

  close(): void {
    this.block = [];
    this.heading = false;
    this.title = 0;
  }
}

/** `not ok 2 - divide by zero gives Infinity` (indented in a subtest). */
const NOT_OK = /^\s*not ok \d+\b/;
const KEY = /^(\w+):(?: (.*))?$/;

interface TapBlock {
  /** The indentation of the block's keys (-1 until the first one). */
  keyIndent: number;
  /** The key whose lines follow (`|-`): the error's message, or the stack's frames. */
  key?: 'error' | 'stack';
  readonly error: string[];
  name?: string;
  failureType?: string;
  location?: string;
  at?: { file: string; line: number; column?: number };
}

/** node:test's TAP output (the reporter it picks when its output is not a terminal). */
export class TapReading implements Recogniser {
  /** The number of the last `not ok` line: its YAML block starts on the next line with `---`. */
  private notOk = -1;
  private block: TapBlock | undefined;

  constructor(private readonly r: Reading) {}

  line(text: string, indent: number): boolean {
    const b = this.block;
    if (b) {
      const rest = text.slice(indent);
      if (rest.trimEnd() === '...') {
        this.close();
        return true;
      }
      if (b.keyIndent < 0 && indent < text.length) { b.keyIndent = indent; }
      if (indent === b.keyIndent) {
        this.key(b, rest);
        return true;
      }
      if (indent > b.keyIndent || indent === text.length) {
        this.value(b, rest);
        return true;
      }
      this.close(); // a block without its `...`
    }
    if (text.charCodeAt(indent) === 110 /* n */ && NOT_OK.test(text)) {
      this.notOk = this.r.lineNo;
      return true;
    }
    if (this.notOk === this.r.lineNo - 1 && text.slice(indent).trimEnd() === '---') {
      this.block = { keyIndent: -1, error: [] };
      return true;
    }
    return false;
  }

  private key(b: TapBlock, text: string): void {
    const m = KEY.exec(text.trimEnd());
    b.key = undefined;
    if (!m) { return; }
    const value = m[2] ?? '';
    const block = value.startsWith('|') || value.startsWith('>');
    switch (m[1]) {
      case 'location': b.location = unquote(value); break;
      case 'name': b.name = unquote(value); break;
      case 'failureType': b.failureType = unquote(value); break;
      case 'error':
        if (block) { b.key = 'error'; } else if (value !== '') { b.error.push(unquote(value)); }
        break;
      case 'stack': if (block) { b.key = 'stack'; } break;
    }
  }

  private value(b: TapBlock, text: string): void {
    if (text === '') { return; }
    if (b.key === 'error') {
      if (b.error.length < MAX_MESSAGE_LINES) { b.error.push(text.trimEnd()); }
    } else if (b.key === 'stack' && b.at === undefined) {
      const at = frameLocation(text);
      const file = at && !foreign(at.path) ? this.r.file(at.path) : undefined;
      if (at && file !== undefined) { b.at = { file, line: at.line, column: at.column }; }
    }
  }

  close(): void {
    const b = this.block;
    this.block = undefined;
    // A test that failed because a subtest did is said by the subtest.
    if (!b || b.failureType === 'subtestsFailed') { return; }
    let at = b.at;
    if (at === undefined && b.location !== undefined) {
      const l = location(b.location);
      const file = l ? this.r.file(l.path) : undefined;
      if (l && file !== undefined) { at = { file, line: l.line, column: l.column }; }
    }
    if (at === undefined) { return; }
    const error = b.error.join('\n');
    const name = b.name;
    const message = name === undefined || name === '' ? error : error === '' ? name : error.startsWith(name) ? error : `${name}: ${error}`;
    this.r.emit({ ...at, message: message === '' ? 'failed' : message });
  }
}

/** A YAML scalar as node:test writes one: `'it''s'`, `"a\nb"`, or plain. */
function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && v.startsWith('\'') && v.endsWith('\'')) { return v.slice(1, -1).replace(/''/g, '\''); }
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    try {
      return String(JSON.parse(v));
    } catch {
      return v.slice(1, -1);
    }
  }
  return v;
}
