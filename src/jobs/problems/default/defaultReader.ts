// The default matcher: for a job that declares no `problemMatcher`, the formats people run, without
// configuration. One-line `file:line:column: message` and `file(line,column): message` formats (gcc, clang,
// tsc in both forms, go build and vet, go test's failures) are read here; the formats of several lines are the
// recognisers' (compilers.ts: ESLint, rustc and cargo, Go panics; python.ts: tracebacks, pytest; javascript.ts:
// stack traces of the JavaScript test runners, node:test's TAP). Every line goes to them in turn until one
// takes it; each keeps what it needs of the lines before, so the log is read once, line by line (linear in its
// size). Only files of the commit count: `foo:12` in prose is no problem.
import { fromFileUrl, isAbsolute } from '../logPaths';
import type { LineReader, Matcher, ReaderHost } from '../matcherTypes';
import { EslintReading, GoReading, RustReading } from './compilers';
import { StackReading, TapReading } from './javascript';
import { PythonReading } from './python';
import { indentOf, severityWord, type Reading, type Recogniser } from './reading';

/** `path:line[:column]` then the message; a path holds no blank, `:` (but a drive's, or `file://`) or parenthesis. */
const COLON = /^\s*((?:file:\/\/)?(?:\/?[A-Za-z]:)?[^\s:()]+):(\d+)(?::(\d+))?(?![\w.])[\s:,-]*(.*)$/;
/** `path(line[,column[,endLine,endColumn]])` then the message (tsc, MSBuild). */
const PARENTHESIS = /^\s*((?:[A-Za-z]:)?[^\s:()]+)\((\d+)(?:,(\d+))?(?:,(\d+),(\d+))?\)[\s:,-]*(.*)$/;
/** The word that opens a message, and a code after it: `error TS2345:`, `fatal error:`, `warning CS0168:`. */
const WORD = /^(fatal error|error|warning|warn|info|note|hint)\b\s*(?:([A-Z]+\d+)\b)?\s*:?\s*/i;
/** `make[1]: Entering directory '/abs/src/lib'`: make's `-C` and recursive makes say where their commands run. */
const MAKE_DIRECTORY = /^\S*make(?:\[\d+\])?: (Entering|Leaving) directory [`'\u2018](.*)['\u2019]$/;

class DefaultReader implements LineReader, Reading {
  lineNo = 0;
  /** The folders make said it entered, innermost last: relative paths are read from there. */
  private readonly makeDirs: string[] = [];
  /** A file's base name → its path, or null when two files of the commit have it (built when first needed). */
  private byBaseName: Map<string, string | null> | undefined;
  private readonly eslint: EslintReading;
  private readonly stack: StackReading;
  private readonly recognisers: readonly Recogniser[];

  constructor(private readonly host: ReaderHost) {
    this.eslint = new EslintReading(this);
    this.stack = new StackReading(this);
    this.recognisers = [new TapReading(this), new PythonReading(this), new RustReading(this), new GoReading(this), this.eslint, this.stack];
  }

  line(text: string): void {
    this.lineNo++;
    const indent = indentOf(text);
    for (const r of this.recognisers) {
      if (r.line(text, indent)) { return; }
    }
    if (indent < text.length && (this.oneLine(text, indent) || this.makeDirectory(text, indent) || this.eslint.compact(text, indent))) { return; }
    this.stack.note(text, indent);
  }

  boundary(): void {
    for (const r of this.recognisers) { r.close(); }
    this.makeDirs.length = 0;
  }

  end(): void {
    for (const r of this.recognisers) { r.close(); }
  }

  emit: Reading['emit'] = (f) => this.host.emit(f);

  file(raw: string): string | undefined {
    const files = this.host.files;
    if (files === undefined || raw === '') { return undefined; }
    let p = fromFileUrl(raw);
    const dir = this.makeDirs[this.makeDirs.length - 1];
    if (dir !== undefined && !isAbsolute(p)) { p = `${dir}/${p}`; }
    const file = this.host.repositoryPath(p);
    if (file !== undefined && files.has(file)) { return file; }
    return /[/\\]/.test(raw) ? undefined : this.baseName(raw, files);
  }

  /**
   * A file named by its base name alone: `go test` prints a failure's file so (`calc_test.go:7: …`), and
   * names the package only after the failures, on its `FAIL` line — too late to read the line by. The name is
   * the commit's file when exactly one file of the commit has it; when several do, it could be any of them.
   */
  private baseName(name: string, files: ReadonlySet<string>): string | undefined {
    if (this.byBaseName === undefined) {
      this.byBaseName = new Map();
      for (const f of files) {
        const base = f.slice(f.lastIndexOf('/') + 1);
        this.byBaseName.set(base, this.byBaseName.has(base) ? null : f);
      }
    }
    return this.byBaseName.get(name) ?? undefined;
  }

  private makeDirectory(text: string, indent: number): boolean {
    if (indent !== 0 || !text.includes(' directory ')) { return false; }
    const m = MAKE_DIRECTORY.exec(text);
    if (!m) { return false; }
    if (m[1] === 'Entering') {
      this.makeDirs.push(m[2]);
    } else {
      this.makeDirs.pop();
    }
    return true;
  }

  /** A one-line problem: `path:line:column: message` or `path(line,column): message`, about a file of the commit. */
  private oneLine(text: string, indent: number): boolean {
    let m: RegExpExecArray | null = null;
    let paren = false;
    const colon = text.indexOf(':', indent);
    if (colon > indent) { m = COLON.exec(text); }
    if (!m && text.indexOf('(', indent) > indent) {
      m = PARENTHESIS.exec(text);
      paren = m !== null;
    }
    if (!m) { return false; }
    const file = this.file(m[1]);
    if (file === undefined) { return false; }
    let message = paren ? m[6] : m[4];
    const word = WORD.exec(message);
    if (word) {
      message = message.slice(word[0].length) || word[1];
    }
    if (message.trim() === '') { return false; } // a place without a word about it (a frame, a summary)
    const ranged = paren && m[4] !== undefined;
    this.host.emit({
      file, line: Number(m[2]), column: m[3] === undefined ? undefined : Number(m[3]),
      endLine: ranged ? Number(m[4]) : undefined, endColumn: ranged ? Number(m[5]) : undefined,
      severity: word ? severityWord(word[1]) : undefined, message, code: word?.[2],
    });
    return true;
  }
}

/** The default matcher: a reading one (see matcherTypes.ts); `severity`, `fileLocation` and `patterns` are unused. */
export const DEFAULT_MATCHER: Matcher = {
  name: 'default', owner: 'datakit-ci', severity: 'warning', fileLocation: { kind: 'autoDetect', prefix: '' }, patterns: [],
  read: (host) => new DefaultReader(host),
};
