// Runs problem matchers over a finished log, as VS Code's task system does over a terminal's lines: a matcher
// of n patterns matches n consecutive lines; when its last pattern loops, each following line it matches is
// one more problem with what the earlier lines captured. A reading matcher (the default one) gets the lines
// one by one instead. The paths become repository-relative (logPaths.ts): any other path is dropped, whatever
// the matcher's `fileLocation` says (no path outside the repository can be shown as one of its files).
import { OWN_LINE, ranIn } from '../../engine/liveLog';
import { stripAnsi } from '../../shared/ansi';
import { LogPaths } from './logPaths';
import type { Group, LineReader, Matcher, Pattern, ReadFinding, ReaderHost, Severity } from './matcherTypes';

export { repositoryPath } from './logPaths';

export interface Finding {
  /** Repository-relative, `/`-separated. */
  readonly file: string;
  /** 1-based; a whole-file problem (`"kind": "file"`) is at line 1, column 1. */
  readonly line: number;
  /** 1-based; 1 when the log gives none. */
  readonly column: number;
  readonly endLine?: number;
  readonly endColumn?: number;
  readonly severity: Severity;
  readonly message: string;
  readonly code?: string;
}

export interface MatchOptions {
  /** Absolute directories (the job's build directory, the working copy) whose prefix absolute paths lose. */
  readonly roots?: readonly string[];
  /** Repository-relative files of the commit; the default matcher keeps only these. */
  readonly files?: ReadonlySet<string>;
  /** The most findings kept (default 1000); `total` counts them all. */
  readonly max?: number;
  /**
   * Whether the job failed: a finding of the default matcher whose line says no severity (`error`, `warning`,
   * `note`) is an error then, a warning otherwise (default: it passed).
   */
  readonly failed?: boolean;
}

export interface MatchResult {
  readonly findings: Finding[];
  readonly total: number;
}

export const DEFAULT_MAX_FINDINGS = 1000;
/** A longer line is matched on its first this many characters: bounds what a backtracking pattern costs. */
export const MAX_LINE = 4096;

/** What the lines of one problem captured, by group (one shape for all, which keeps V8's property access fast). */
class Captures {
  file?: string = undefined;
  location?: string = undefined;
  line?: string = undefined;
  column?: string = undefined;
  endLine?: string = undefined;
  endColumn?: string = undefined;
  severity?: string = undefined;
  code?: string = undefined;
  message?: string = undefined;
  /** A whole-file problem (`"kind": "file"`). */
  wholeFile = false;

  copy(): Captures {
    return Object.assign(new Captures(), this);
  }
}

/** A pattern with its groups listed, as matchLog runs it. */
interface Compiled {
  readonly regexp: RegExp;
  readonly needs: readonly string[] | undefined;
  readonly fields: readonly (readonly [Group, number])[];
  readonly wholeFile: boolean;
}

/** The findings of one run: the first `max` kept, all counted; a reading matcher's repeats dropped. */
class Collector {
  readonly findings: Finding[] = [];
  total = 0;
  /** Each reading matcher's finding so far: file → place → its message, or the messages said there. */
  private readonly seen = new Map<string, Map<number | string, string | string[]>>();

  constructor(private readonly max: number, private readonly failed: boolean) {}

  get full(): boolean { return this.findings.length >= this.max; }

  /** A finding of a pattern (already past the cap when `true`). */
  add(f: Finding | true | undefined): void {
    if (f === undefined) { return; }
    this.total++;
    if (f !== true) { this.findings.push(f); }
  }

  /** A finding of a reading matcher: a second one at the same place with the same message is the same problem. */
  read(f: ReadFinding): void {
    const line = Math.max(1, f.line);
    const column = Math.max(1, f.column ?? 1);
    const message = neutral(f.message.trim());
    if (message === '') { return; }
    if (!this.firstTime(f.file, line, column, message)) { return; }
    this.total++;
    if (this.full) { return; }
    const finding: { -readonly [K in keyof Finding]: Finding[K] } = { file: f.file, line, column, severity: f.severity ?? (this.failed ? 'error' : 'warning'), message };
    // An end before the start (`(3,1,0,0)`) is no range: the finding keeps its start only.
    if (f.endLine !== undefined && f.endLine >= line) {
      finding.endLine = f.endLine;
      if (f.endColumn !== undefined && f.endColumn >= 1) { finding.endColumn = f.endColumn; }
    }
    if (f.code) { finding.code = neutral(f.code); }
    this.findings.push(finding);
  }

  /**
   * Whether this is the first finding at this place with this message. No key string nor array is made for
   * it: a log may have 100,000, which would all outlive the young generation (the garbage collector's work
   * doubled the matching's time with them).
   */
  private firstTime(file: string, line: number, column: number, message: string): boolean {
    let places = this.seen.get(file);
    if (places === undefined) {
      places = new Map();
      this.seen.set(file, places);
    }
    // A small integer while it fits one (line < 2^19, column < 2^12), else a string.
    const place = line < 0x80000 && column < 0x1000 ? line * 0x1000 + column : `${line}:${column}`;
    const said = places.get(place);
    if (said === undefined) {
      places.set(place, message);
    } else if (typeof said === 'string') {
      if (said === message) { return false; }
      places.set(place, [said, message]);
    } else {
      if (said.includes(message)) { return false; }
      said.push(message);
    }
    return true;
  }
}

/**
 * Text from a log shown as a label: a tab is a blank, and any other control character (a bell, a backspace, a
 * lone carriage return) a replacement character. Line breaks stay: a message may hold several lines.
 */
export function neutral(text: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x09\x0b-\x1f\x7f-\x9f]/.test(text) ? text.replace(/\t/g, ' ').replace(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/g, '\ufffd') : text;
}

/** The problems that `matchers` find in `text` (a whole log; ANSI escape sequences are stripped first). */
export function matchLog(text: string, matchers: readonly Matcher[], options: MatchOptions = {}): MatchResult {
  const paths = new LogPaths(options.roots ?? []);
  const out = new Collector(options.max ?? DEFAULT_MAX_FINDINGS, options.failed ?? false);
  const patterned = matchers.filter((m) => m.read === undefined);
  const runner = patterned.length > 0 ? new PatternRunner(patterned, paths, out) : undefined;
  const host: ReaderHost = { repositoryPath: (raw) => paths.resolve(raw), files: options.files, emit: (f) => out.read(f) };
  const readers: LineReader[] = matchers.flatMap((m) => (m.read ? [m.read(host)] : []));
  const clean = text.includes('\x1b') ? stripAnsi(text) : text;
  for (let start = 0; start < clean.length;) {
    let end = clean.indexOf('\n', start);
    if (end < 0) { end = clean.length; }
    let line = clean.slice(start, end - start > MAX_LINE ? start + MAX_LINE : end);
    if (line.endsWith('\r')) { line = line.slice(0, -1); }
    start = end + 1;
    // The build's own lines (`[time] Running: <command>`, `[time] Failed: …`) are not the job's output: the
    // command they quote may hold what a matcher looks for.
    if (OWN_LINE.test(line)) {
      // Where the command ran, as the log says: its paths are repository paths from there (a result built
      // on another machine included, whose folders are none of this one's roots).
      const folder = ranIn(line);
      if (folder !== undefined) { paths.addRoot(folder); }
      runner?.boundary();
      for (const r of readers) { r.boundary(); }
      continue;
    }
    runner?.line(line);
    for (const r of readers) { r.line(line); }
  }
  for (const r of readers) { r.end(); }
  return { findings: out.findings, total: out.total };
}

/** The matchers of patterns, over the lines of one log: each line goes to the first that matches. */
class PatternRunner {
  private readonly compiled: { m: Matcher; patterns: Compiled[] }[];
  private readonly depth: number;
  private readonly window: string[] = [];
  private active: { m: Matcher; loop: Compiled; data: Captures } | undefined;

  constructor(matchers: readonly Matcher[], private readonly paths: LogPaths, private readonly out: Collector) {
    this.compiled = matchers.map((m) => ({ m, patterns: m.patterns.map(compile) }));
    this.depth = Math.max(1, ...matchers.map((m) => m.patterns.length));
  }

  boundary(): void {
    this.active = undefined;
  }

  line(line: string): void {
    const { window } = this;
    if (this.active) {
      const groups = exec(this.active.loop, line);
      if (groups) {
        this.emit(this.active.m, fill(this.active.data.copy(), this.active.loop, groups));
        return;
      }
      this.active = undefined;
    }
    if (this.depth === 1) {
      window[0] = line;
    } else {
      window.push(line);
      if (window.length > this.depth) { window.shift(); }
    }
    for (const { m, patterns } of this.compiled) {
      const data = matchAt(patterns, window);
      if (data) {
        this.emit(m, data.whole);
        const last = patterns[patterns.length - 1];
        if (patterns.length > 1 && m.patterns[patterns.length - 1].loop) { this.active = { m, loop: last, data: data.before }; }
        window.length = 0;
        break;
      }
    }
  }

  private emit(m: Matcher, data: Captures): void {
    this.out.add(finding(m, data, this.paths, !this.out.full));
  }
}

function compile(p: Pattern): Compiled {
  return { regexp: p.regexp, needs: p.needs, fields: Object.entries(p.groups) as [Group, number][], wholeFile: p.kind === 'file' };
}

/** The pattern's groups in `line`, or null; a line without what the pattern needs is not tried. */
function exec(p: Compiled, line: string): RegExpExecArray | null {
  if (p.needs) {
    for (const s of p.needs) {
      if (!line.includes(s)) { return null; }
    }
  }
  return p.regexp.exec(line);
}

/**
 * What the patterns capture when they match the last lines of `window`: the whole, and (for a loop) what
 * the lines before the looping one captured. The last pattern is tried first: it is the most selective.
 */
function matchAt(patterns: readonly Compiled[], window: readonly string[]): { whole: Captures; before: Captures } | undefined {
  const n = patterns.length;
  if (window.length < n) { return undefined; }
  const last = exec(patterns[n - 1], window[window.length - 1]);
  if (!last) { return undefined; }
  if (n === 1) {
    return { whole: fill(new Captures(), patterns[0], last), before: new Captures() };
  }
  const found: RegExpExecArray[] = [];
  for (let i = n - 2; i >= 0; i--) {
    const groups = exec(patterns[i], window[window.length - n + i]);
    if (!groups) { return undefined; }
    found[i] = groups;
  }
  const before = new Captures();
  for (let i = 0; i < n - 1; i++) { fill(before, patterns[i], found[i]); }
  return { whole: fill(before.copy(), patterns[n - 1], last), before };
}

/** VS Code's rule: the first capture of a group wins, except the message, whose lines are joined. */
function fill(data: Captures, p: Compiled, groups: RegExpExecArray): Captures {
  for (const [g, index] of p.fields) {
    const value = groups[index];
    if (value === undefined) { continue; }
    const v = g === 'line' || g === 'column' || g === 'endLine' || g === 'endColumn' ? value : value.trim();
    if (data[g] === undefined) {
      data[g] = v;
    } else if (g === 'message') {
      data.message += `\n${v}`;
    }
  }
  if (p.wholeFile) { data.wholeFile = true; }
  return data;
}

/** The finding, `true` for one that counts but is not kept (past the cap), or undefined for none. */
function finding(m: Matcher, data: Captures, paths: LogPaths, keep: boolean): Finding | true | undefined {
  if (data.file === undefined || data.file === '') { return undefined; }
  const file = paths.resolve(data.file, m.fileLocation.prefix);
  if (file === undefined) { return undefined; }
  const message = neutral(data.message ?? '');
  const severity = data.severity === undefined ? undefined : severityOf(data.severity);
  if (message === '') { return undefined; }
  let at: (number | undefined)[];
  if (data.wholeFile) {
    at = [1, 1];
  } else if (data.location !== undefined) {
    if (!/^\d+(?:,\d+(?:,\d+,\d+)?)?$/.test(data.location)) { return undefined; }
    at = data.location.split(',').map(Number);
  } else {
    at = [number(data.line), number(data.column), number(data.endLine), number(data.endColumn)];
  }
  if (at[0] === undefined) { return undefined; }
  if (!keep) { return true; }
  const f: { -readonly [K in keyof Finding]: Finding[K] } = { file, line: Math.max(1, at[0]), column: Math.max(1, at[1] ?? 1), severity: severity ?? m.severity, message };
  // An end before the start (`(3,1,0,0)`) is no range: the finding keeps its start only.
  if (at[2] !== undefined && at[2] >= f.line) { f.endLine = at[2]; }
  if (at[3] !== undefined && at[3] >= 1 && f.endLine !== undefined) { f.endColumn = at[3]; }
  if (data.code) { f.code = neutral(data.code); }
  return f;
}

function number(value: string | undefined): number | undefined {
  const n = value === undefined ? Number.NaN : Number.parseInt(value, 10);
  return Number.isNaN(n) ? undefined : n;
}

/** VS Code's reading of a severity word: error, warning (or warn), info, their initials E/W/I, hint and note. */
function severityOf(word: string): Severity | undefined {
  const w = word.toLowerCase();
  if (w === 'error' || word === 'E') { return 'error'; }
  if (w === 'warning' || w === 'warn' || word === 'W') { return 'warning'; }
  if (w === 'info' || w === 'hint' || w === 'note' || word === 'I') { return 'info'; }
  return undefined;
}
