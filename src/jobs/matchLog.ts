// Runs problem matchers over a finished log, as VS Code's task system does over a terminal's lines: a matcher
// of n patterns matches n consecutive lines; when its last pattern loops, each following line it matches is
// one more problem with what the earlier lines captured. The paths become repository-relative: an absolute
// path loses the prefix of the build directory or the working copy it was printed in, a relative one is read
// from the repository's root (a job runs there); any other path is dropped, whatever the matcher's
// `fileLocation` says (no path outside the repository can be shown as one of its files).
import { stripAnsi } from '../shared/ansi';
import type { Group, Matcher, Pattern, Severity } from './problemMatchers';

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

/** What the lines of one problem captured, by group; `kind` marks a whole-file problem. */
type Data = Partial<Record<Group, string>> & { kind?: 'file' };

/** The problems that `matchers` find in `text` (a whole log; ANSI escape sequences are stripped first). */
export function matchLog(text: string, matchers: readonly Matcher[], options: MatchOptions = {}): MatchResult {
  const max = options.max ?? DEFAULT_MAX_FINDINGS;
  const roots = (options.roots ?? []).map(normalRoot).filter((r) => r !== '');
  const findings: Finding[] = [];
  let total = 0;
  const emit = (m: Matcher, data: Data, line: string): void => {
    const f = finding(m, data, line, roots, options.files);
    if (f) {
      total++;
      if (findings.length < max) { findings.push(f); }
    }
  };
  const clean = text.includes('\x1b') ? stripAnsi(text) : text;
  const depth = Math.max(1, ...matchers.map((m) => m.patterns.length));
  const window: string[] = [];
  let active: { m: Matcher; data: Data } | undefined;
  for (let start = 0; start < clean.length;) {
    let end = clean.indexOf('\n', start);
    if (end < 0) { end = clean.length; }
    let line = clean.slice(start, Math.min(end, start + MAX_LINE));
    if (line.endsWith('\r')) { line = line.slice(0, -1); }
    start = end + 1;
    if (active) {
      const loop = active.m.patterns[active.m.patterns.length - 1];
      const groups = loop.regexp.exec(line);
      if (groups) {
        emit(active.m, fill({ ...active.data }, loop, groups), line);
        continue;
      }
      active = undefined;
    }
    window.push(line);
    if (window.length > depth) { window.shift(); }
    for (const m of matchers) {
      const data = matchAt(m, window);
      if (data) {
        emit(m, data.whole, line);
        if (m.patterns[m.patterns.length - 1].loop) { active = { m, data: data.before }; }
        window.length = 0;
        break;
      }
    }
  }
  return { findings, total };
}

/**
 * What `m` captures when its patterns match the last lines of `window`: the whole, and (for a loop) what
 * the lines before the looping one captured. The last pattern is tried first: it is the most selective.
 */
function matchAt(m: Matcher, window: readonly string[]): { whole: Data; before: Data } | undefined {
  const n = m.patterns.length;
  if (window.length < n) { return undefined; }
  const found: RegExpExecArray[] = [];
  for (let i = n - 1; i >= 0; i--) {
    const groups = m.patterns[i].regexp.exec(window[window.length - n + i]);
    if (!groups) { return undefined; }
    found[i] = groups;
  }
  const before: Data = {};
  for (let i = 0; i < n - 1; i++) { fill(before, m.patterns[i], found[i]); }
  return { whole: fill({ ...before }, m.patterns[n - 1], found[n - 1]), before };
}

/** VS Code's rule: the first capture of a group wins, except the message, whose lines are joined. */
function fill(data: Data, p: Pattern, groups: RegExpExecArray): Data {
  for (const [g, index] of Object.entries(p.groups) as [Group, number][]) {
    const value = groups[index];
    if (value === undefined) { continue; }
    const v = g === 'line' || g === 'column' || g === 'endLine' || g === 'endColumn' ? value : value.trim();
    if (data[g] === undefined) {
      data[g] = v;
    } else if (g === 'message') {
      data.message += `\n${v}`;
    }
  }
  if (p.kind === 'file') { data.kind = 'file'; }
  return data;
}

function finding(m: Matcher, data: Data, line: string, roots: readonly string[], files: ReadonlySet<string> | undefined): Finding | undefined {
  if (data.file === undefined || data.file === '') { return undefined; }
  const file = repositoryPath(data.file, m.fileLocation.prefix, roots);
  if (file === undefined || (m.onlyKnownFiles && !files?.has(file))) { return undefined; }
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
  const where = location(data);
  if (!where) { return undefined; }
  return { file, ...where, severity: severity ?? m.severity, message, ...(code ? { code } : {}) };
}

function location(data: Data): Pick<Finding, 'line' | 'column' | 'endLine' | 'endColumn'> | undefined {
  if (data.kind === 'file') { return { line: 1, column: 1 }; }
  let parts: (string | undefined)[];
  if (data.location !== undefined) {
    if (!/^\d+(?:,\d+(?:,\d+,\d+)?)?$/.test(data.location)) { return undefined; }
    parts = data.location.split(',');
  } else {
    parts = [data.line, data.column, data.endLine, data.endColumn];
  }
  const [line, column, endLine, endColumn] = parts.map((p) => (p === undefined || p === '' ? undefined : Number.parseInt(p, 10)));
  if (line === undefined || Number.isNaN(line)) { return undefined; }
  return {
    line: Math.max(1, line),
    column: column === undefined || Number.isNaN(column) ? 1 : Math.max(1, column),
    ...(endLine !== undefined && !Number.isNaN(endLine) ? { endLine } : {}),
    ...(endColumn !== undefined && !Number.isNaN(endColumn) ? { endColumn } : {}),
  };
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
  let p = driveLower(raw.replace(/\\/g, '/'));
  if (!isAbsolute(p)) {
    const base = prefixPath(prefix.replace(/\\/g, '/'));
    if (base !== '') { p = `${base}/${p}`; }
  }
  if (isAbsolute(p)) {
    const root = roots.find((r) => p.startsWith(r === '/' ? r : `${r}/`));
    if (root === undefined) { return undefined; }
    p = p.slice(root === '/' ? 1 : root.length + 1);
  }
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
