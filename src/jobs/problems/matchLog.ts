// Runs problem matchers over a finished log, as VS Code's task system does over a terminal's lines: a matcher
// of n patterns matches n consecutive lines; when its last pattern loops, each following line it matches is
// one more problem with what the earlier lines captured. The paths become repository-relative: an absolute
// path loses the prefix of the build directory or the working copy it was printed in, a relative one is read
// from the repository's root (a job runs there); any other path is dropped, whatever the matcher's
// `fileLocation` says (no path outside the repository can be shown as one of its files).
import { OWN_LINE, RAN_IN_LINE } from '../../engine/liveLog';
import { stripAnsi } from '../../shared/ansi';
import type { Group, Matcher, Pattern, Severity } from './matcherTypes';

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

/** What one run of matchLog reuses: the roots, the commit's files, and the paths already resolved. */
interface Context {
  roots: readonly string[];
  readonly files: ReadonlySet<string> | undefined;
  /** Raw path (after its prefix) → repository path or null: a log names the same files again and again. */
  readonly paths: Map<string, string | null>;
}

const MAX_CACHED_PATHS = 10_000;

/** The problems that `matchers` find in `text` (a whole log; ANSI escape sequences are stripped first). */
export function matchLog(text: string, matchers: readonly Matcher[], options: MatchOptions = {}): MatchResult {
  const max = options.max ?? DEFAULT_MAX_FINDINGS;
  const context: Context = { roots: (options.roots ?? []).map(normalRoot).filter((r) => r !== ''), files: options.files, paths: new Map() };
  const compiled = matchers.map((m) => ({ m, patterns: m.patterns.map(compile) }));
  const findings: Finding[] = [];
  let total = 0;
  const emit = (m: Matcher, data: Captures, line: string): void => {
    const f = finding(m, data, line, context, findings.length < max);
    if (f) {
      total++;
      if (f !== true) { findings.push(f); }
    }
  };
  const clean = text.includes('\x1b') ? stripAnsi(text) : text;
  const depth = Math.max(1, ...matchers.map((m) => m.patterns.length));
  const window: string[] = [];
  let active: { m: Matcher; loop: Compiled; data: Captures } | undefined;
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
      const ranIn = RAN_IN_LINE.exec(line)?.[1];
      if (ranIn !== undefined) { addRoot(context, ranIn); }
      active = undefined;
      continue;
    }
    if (active) {
      const groups = exec(active.loop, line);
      if (groups) {
        emit(active.m, fill(active.data.copy(), active.loop, groups), line);
        continue;
      }
      active = undefined;
    }
    if (depth === 1) {
      window[0] = line;
    } else {
      window.push(line);
      if (window.length > depth) { window.shift(); }
    }
    for (const { m, patterns } of compiled) {
      const data = matchAt(patterns, window);
      if (data) {
        emit(m, data.whole, line);
        const last = patterns[patterns.length - 1];
        if (patterns.length > 1 && m.patterns[patterns.length - 1].loop) { active = { m, loop: last, data: data.before }; }
        window.length = 0;
        break;
      }
    }
  }
  return { findings, total };
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
function finding(m: Matcher, data: Captures, line: string, context: Context, keep: boolean): Finding | true | undefined {
  if (data.file === undefined || data.file === '') { return undefined; }
  const file = cachedPath(data.file, m.fileLocation.prefix, context);
  if (file === undefined || (m.onlyKnownFiles && !context.files?.has(file))) { return undefined; }
  let message = data.message ?? '';
  let severity = data.severity === undefined ? undefined : severityOf(data.severity);
  let code = data.code;
  if (m.severityFromText && data.severity === undefined) {
    const word = /^(?:fatal\s+)?(error|warning|warn|info|note|hint)\b\s*(?:([A-Z]+\d+)\b)?\s*:?\s*/i.exec(message);
    if (word) {
      severity = severityOf(word[1]);
      code ??= word[2];
      message = message.slice(word[0].length);
    } else {
      severity = /\berror\b/i.test(line) ? 'error' : undefined;
    }
    if (message === '') { message = line.trim(); }
  }
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
  if (code) { f.code = code; }
  return f;
}

function number(value: string | undefined): number | undefined {
  const n = value === undefined ? Number.NaN : Number.parseInt(value, 10);
  return Number.isNaN(n) ? undefined : n;
}

function cachedPath(raw: string, prefix: string, context: Context): string | undefined {
  const key = prefix === '' ? raw : `${prefix}\0${raw}`;
  let file = context.paths.get(key);
  if (file === undefined) {
    file = repositoryPath(raw, prefix, context.roots) ?? null;
    if (context.paths.size >= MAX_CACHED_PATHS) { context.paths.clear(); }
    context.paths.set(key, file);
  }
  return file ?? undefined;
}

/** VS Code's reading of a severity word: error, warning (or warn), info, their initials E/W/I, hint and note. */
function severityOf(word: string): Severity | undefined {
  const w = word.toLowerCase();
  if (w === 'error' || word === 'E') { return 'error'; }
  if (w === 'warning' || w === 'warn' || word === 'W') { return 'warning'; }
  if (w === 'info' || w === 'hint' || w === 'note' || word === 'I') { return 'info'; }
  return undefined;
}

const isAbsolute = (p: string): boolean => p.startsWith('/') || /^[A-Za-z]:\//.test(p);
const driveLower = (p: string): string => (/^[A-Za-z]:\//.test(p) ? p[0].toLowerCase() + p.slice(1) : p);

function addRoot(context: Context, root: string): void {
  const r = normalRoot(root);
  if (r === '' || context.roots.includes(r)) { return; }
  context.roots = [...context.roots, r];
  context.paths.clear(); // a path that no root took before may be taken now
}

function normalRoot(root: string): string {
  const r = driveLower(root.replace(/\\/g, '/'));
  return r.endsWith('/') && r !== '/' ? r.slice(0, -1) : r;
}

/** `prefix` of a `fileLocation`: VS Code's variables for the folder a job runs in mean the repository root. */
function prefixPath(prefix: string): string {
  return prefix.replace(/^\$\{(?:workspaceFolder|workspaceRoot|cwd)\}\/?/, '');
}

/** The repository-relative path of `raw` as printed, or undefined when it is outside the repository. */
export function repositoryPath(raw: string, prefix: string, roots: readonly string[]): string | undefined {
  let p = driveLower(raw.includes('\\') ? raw.replace(/\\/g, '/') : raw);
  if (!isAbsolute(p)) {
    const base = prefixPath(prefix.replace(/\\/g, '/'));
    if (base !== '') { p = `${base}/${p}`; }
  }
  if (isAbsolute(p)) {
    const root = roots.find((r) => p.startsWith(r === '/' ? r : `${r}/`));
    if (root === undefined) { return undefined; }
    p = p.slice(root === '/' ? 1 : root.length + 1);
  }
  if (!DOTS_OR_EMPTY.test(p)) { return p === '' ? undefined : p; }
  const parts: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') { continue; }
    if (part === '..') {
      if (parts.length === 0) { return undefined; }
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts.length > 0 ? parts.join('/') : undefined;
}

/** A path that needs normalising: a `.` or `..` part, an empty one (`//`), a leading or trailing `/`. */
const DOTS_OR_EMPTY = /(?:^|\/)\.\.?(?:\/|$)|\/\/|^\/|\/$/;
