// Places in source files that a build log names — `src/a.ts:12:5`, `src/a.ts:12`, `src/a.ts(12,5)` — found in
// a line of the log, and mapped to a path of the repository: a path printed inside the job's build directory
// or the working copy is made relative to it. Used for the log's links and by the default problem matcher.
import * as path from 'path';

export interface FileRef {
  /** Where the reference is in the line (UTF-16 code units). */
  readonly index: number;
  readonly length: number;
  /** As printed. */
  readonly path: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based, when printed. */
  readonly column?: number;
}

// A path: no spaces, quotes or brackets; at least one `.ext` or `/` so that `a:1` in prose is not one. The
// location follows directly: `:line[:col]` or `(line,col)` (TypeScript's and MSBuild's form).
const REF = /(?<![\w./\\-])((?:[A-Za-z]:)?[\w.@+~-]*(?:[/\\][\w.@+~-]+)*\.[A-Za-z0-9]+|(?:[\w.@+~-]+[/\\])+[\w.@+~-]+)(?::(\d{1,7})(?::(\d{1,5}))?|\((\d{1,7}),(\d{1,5})\))/g;
/** Longer lines are not searched (a minified bundle in a log): the pattern stays cheap. */
const MAX_LINE = 4096;

/** The file references of one line of a log, in order. */
export function fileRefs(text: string): FileRef[] {
  if (text.length > MAX_LINE || !/[:(]\d/.test(text)) { return []; }
  const refs: FileRef[] = [];
  for (const m of text.matchAll(REF)) {
    const line = Number(m[2] ?? m[4]);
    if (line === 0) { continue; }
    const col = m[3] ?? m[5];
    refs.push({ index: m.index, length: m[0].length, path: m[1]!, line, ...(col !== undefined && Number(col) > 0 ? { column: Number(col) } : {}) });
  }
  return refs;
}

/**
 * A printed path as a path of the repository ('/'-separated, no `./`), or undefined when it is outside:
 * relative paths are taken from the repository's root (where jobs run); an absolute one must be inside one of
 * `roots` (the working copy) or of the checkouts in `checkoutsIn` (the build directories' folder).
 */
export function repoPath(printed: string, roots: readonly string[], checkoutsIn: readonly string[] = []): string | undefined {
  let p = printed.replace(/\\/g, '/');
  if (path.posix.isAbsolute(p) || /^[A-Za-z]:\//.test(p)) {
    const slashed = (r: string): string => `${r.replace(/\\/g, '/').replace(/\/+$/, '')}/`;
    const root = roots.map(slashed).find((r) => p.startsWith(r));
    // `checkoutsIn`: folders whose every child is a checkout (the build directories).
    const parent = root === undefined ? checkoutsIn.map(slashed).find((r) => p.startsWith(r) && p.indexOf('/', r.length) > r.length) : undefined;
    if (root !== undefined) { p = p.slice(root.length); }
    else if (parent !== undefined) { p = p.slice(p.indexOf('/', parent.length) + 1); }
    else { return undefined; }
  }
  const normal = path.posix.normalize(p);
  return normal === '.' || normal.startsWith('../') || normal === '..' ? undefined : normal;
}
