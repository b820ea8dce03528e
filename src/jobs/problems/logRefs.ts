// Places in source files that a build log names anywhere in a line — `src/a.ts:12:5`, `src/a.ts:12`,
// `src/a.ts(12,5)` — for the log's links (matchLog.repositoryPath maps them to the repository). The default
// problem matcher is stricter: a place that starts its line.

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
