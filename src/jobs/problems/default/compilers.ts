// The default matcher's readings of linters and compilers whose problems take more than one line, or whose
// lines name no file by themselves: ESLint's stylish and compact formats, rustc and cargo (a diagnostic's
// header, then `--> file:line:column`; a test's panic, its message on the lines after), and Go's panics.
// One-line `file:line:column: message` formats (gcc, clang, tsc, go build and vet) are defaultReader.ts's.
import { location, MAX_MESSAGE_LINES, severityWord, trailingCode, type Reading, type Recogniser } from './reading';

/** `  3:9  error  'x' is assigned a value but never used  no-unused-vars` (the rule after two blanks or more). */
const STYLISH = /^\s+(\d+):(\d+)\s+(error|warning|info)\s+(\S.*)$/;
/** `/abs/a.js: line 3, col 9, Error - 'x' is assigned a value but never used. (no-unused-vars)` */
const COMPACT = /^(.+?): line (\d+), col (\d+), (Error|Warning|Info) - (.+)$/;

/**
 * ESLint's stylish format (its default): a line that is a file's path, then one line per problem of that file;
 * and the compact format of `eslint-formatter-compact`.
 */
export class EslintReading implements Recogniser {
  /** The last unindented line (it may name the file of the problem lines after it), its number, and its file. */
  private headText = '';
  private headLineNo = -1;
  private headFile: string | null | undefined;

  constructor(private readonly r: Reading) {}

  /** A stylish problem line, after its file's line or another problem line of that file. */
  line(text: string, indent: number): boolean {
    const { r } = this;
    if (indent === 0) {
      this.headText = text;
      this.headLineNo = r.lineNo;
      this.headFile = undefined;
      return false;
    }
    if (this.headLineNo !== r.lineNo - 1 || indent === text.length) { return false; }
    const m = STYLISH.exec(text);
    if (!m) { return false; }
    this.headFile ??= r.file(this.headText.trimEnd()) ?? null;
    if (this.headFile === null) { return false; }
    this.headLineNo = r.lineNo; // the next problem line of the same file follows this one
    r.emit({ file: this.headFile, line: Number(m[1]), column: Number(m[2]), severity: severityWord(m[3]), ...ruleAfter(m[4]) });
    return true;
  }

  /** A compact line (read after the one-line formats have had it: it is rarer). */
  compact(text: string, indent: number): boolean {
    if (indent !== 0 || !text.includes(', col ')) { return false; }
    const m = COMPACT.exec(text);
    const file = m ? this.r.file(m[1]) : undefined;
    if (!m || file === undefined) { return false; }
    this.r.emit({ file, line: Number(m[2]), column: Number(m[3]), severity: severityWord(m[4]), ...trailingCode(m[5].trim()) });
    return true;
  }

  close(): void {
    this.headLineNo = -1;
  }
}

/** stylish's message and rule: the rule is the last word, two blanks or more after the message. */
function ruleAfter(text: string): { message: string; code?: string } {
  const t = text.trimEnd();
  const space = t.lastIndexOf(' ');
  if (space < 2 || t[space - 1] !== ' ') { return { message: t }; }
  return { message: t.slice(0, space).trimEnd(), code: t.slice(space + 1) };
}

/** `error[E0308]: mismatched types`, `warning: unneeded return statement` (clippy's too). */
const RUST_HEADER = /^(error|warning|note|help)(?:\[([\w:-]+)\])?: (.+)$/;
/** Since Rust 1.73: `thread 'a::b' (19358) panicked at src/text/mod.rs:20:9:`, the message on the next lines. */
const PANIC = /^thread '[^']*'(?: \(\d+\))? panicked at (.+):$/;
/** Before: `thread 'a::b' panicked at 'message', src/text/mod.rs:20:9`. */
const OLD_PANIC = /^thread '[^']*' panicked at '(.*)', (\S+)$/;

/** rustc's and cargo's diagnostics, and a Rust test's panic (a backtrace's lines are only read past). */
export class RustReading implements Recogniser {
  /** A diagnostic's header, waiting for its `-->` line just after it. */
  private header: { lineNo: number; severity: string; code?: string; message: string } | undefined;
  /** A panic whose message lines are being read. */
  private panic: { file: string; line: number; column?: number; lines: string[] } | undefined;
  private inBacktrace = false;

  constructor(private readonly r: Reading) {}

  line(text: string, indent: number): boolean {
    if (this.panic) {
      const lines = this.panic.lines;
      // The message's first line whatever it is, then the indented lines of an assertion (`  left: 1`).
      if (indent < text.length && (lines.length === 0 || (indent > 0 && lines.length < MAX_MESSAGE_LINES))) {
        lines.push(text.trim());
        return true;
      }
      this.close();
    }
    if (this.inBacktrace) {
      if (indent > 0 && (text.startsWith('at ', indent) || /^\d+: /.test(text.slice(indent)))) { return true; }
      this.inBacktrace = false;
    }
    if (indent > 0) {
      if (text.startsWith('--> ', indent)) {
        const h = this.header;
        const at = location(text.slice(indent + 4).trim());
        const file = at && h && h.lineNo === this.r.lineNo - 1 ? this.r.file(at.path) : undefined;
        if (at && h && file !== undefined) {
          this.r.emit({ file, line: at.line, column: at.column, severity: severityWord(h.severity), message: h.message, ...(h.code ? { code: h.code } : {}) });
        }
        return true;
      }
      return text.startsWith('::: ', indent);
    }
    return this.unindented(text);
  }

  private unindented(text: string): boolean {
    const c = text.charCodeAt(0);
    if (c === 101 /* e */ || c === 119 /* w */ || c === 110 /* n */ || c === 104 /* h */) {
      const m = RUST_HEADER.exec(text);
      if (m) {
        this.header = { lineNo: this.r.lineNo, severity: m[1], ...(m[2] ? { code: m[2] } : {}), message: m[3].trim() };
        return true;
      }
    } else if (c === 116 /* t */ && text.startsWith('thread \'')) {
      return this.panicked(text);
    } else if (text === 'stack backtrace:') {
      this.inBacktrace = true;
      return true;
    }
    return false;
  }

  private panicked(text: string): boolean {
    const m = PANIC.exec(text);
    const at = m ? location(m[1]) : undefined;
    const file = at ? this.r.file(at.path) : undefined;
    if (at && file !== undefined) {
      this.panic = { file, line: at.line, column: at.column, lines: [] };
      return true;
    }
    const old = OLD_PANIC.exec(text);
    const oldAt = old ? location(old[2]) : undefined;
    const oldFile = oldAt ? this.r.file(oldAt.path) : undefined;
    if (old && oldAt && oldFile !== undefined) {
      this.r.emit({ file: oldFile, line: oldAt.line, column: oldAt.column, message: old[1] });
      return true;
    }
    return false;
  }

  close(): void {
    const p = this.panic;
    this.panic = undefined;
    this.header = undefined;
    this.inBacktrace = false;
    if (p) { this.r.emit({ file: p.file, line: p.line, column: p.column, message: p.lines.length > 0 ? p.lines.join('\n') : 'panicked' }); }
  }
}

/** `panic: runtime error: integer divide by zero [recovered]` */
const GO_PANIC = /^panic: (.+?)(?: \[recovered\])?$/;
/** A goroutine's frame: `\t/abs/internal/calc/calc.go:8 +0x12` (no column). */
const GO_FRAME = /^\t(\S.*):(\d+)(?: \+0x[0-9a-f]+)?$/;

/**
 * A Go panic: its message, at the first frame of the goroutine's trace inside the repository (the trace runs
 * from the panic itself down to what called it: the first frame of ours is where it happened).
 */
export class GoReading implements Recogniser {
  private panic: { message: string; found: boolean } | undefined;

  constructor(private readonly r: Reading) {}

  line(text: string, indent: number): boolean {
    if (indent === 0) {
      if (text.startsWith('panic: ')) {
        const m = GO_PANIC.exec(text);
        if (m) { this.panic = { message: m[1], found: false }; }
        return m !== null;
      }
      return false;
    }
    if (text.charCodeAt(0) !== 9 /* \t */) { return false; }
    const m = GO_FRAME.exec(text);
    if (!m) { return this.panic !== undefined && text.startsWith('\tpanic: '); }
    const p = this.panic;
    if (p && !p.found) {
      const file = this.r.file(m[1]);
      if (file !== undefined) {
        p.found = true;
        this.r.emit({ file, line: Number(m[2]), message: p.message });
      }
    }
    return true;
  }

  close(): void {
    this.panic = undefined;
  }
}
