// The shapes of problem matchers: as a job writes them (VS Code's tasks.json shape) and as they run.

export type Severity = 'error' | 'warning' | 'info';

/** A pattern as written: group indexes of a JavaScript regular expression (VS Code's tasks.json shape). */
export interface PatternSpec {
  readonly regexp: string;
  readonly kind?: 'file' | 'location';
  readonly file?: number;
  readonly location?: number;
  readonly line?: number;
  readonly column?: number;
  readonly endLine?: number;
  readonly endColumn?: number;
  readonly severity?: number;
  readonly code?: number;
  readonly message?: number;
  readonly loop?: boolean;
}

export interface MatcherObjectSpec {
  readonly owner?: string;
  readonly source?: string;
  readonly severity?: Severity;
  /** `absolute`, `relative`, `autoDetect`, or `[kind, prefix]`; see matchLog.ts for what each means here. */
  readonly fileLocation?: string | readonly string[];
  readonly pattern: PatternSpec | readonly PatternSpec[];
}

/** What a job's `problemMatcher` may hold: a built-in's name, a matcher, or a list of them (`[]`: none). */
export type MatcherSpec = string | MatcherObjectSpec | readonly (string | MatcherObjectSpec)[];

export const GROUPS = ['file', 'location', 'line', 'column', 'endLine', 'endColumn', 'severity', 'code', 'message'] as const;
export type Group = typeof GROUPS[number];

export interface Pattern {
  readonly regexp: RegExp;
  readonly kind: 'file' | 'location';
  readonly groups: Readonly<Partial<Record<Group, number>>>;
  readonly loop: boolean;
  /** Strings a matching line must hold, checked before the expression runs (see BUILTIN_NEEDS). */
  readonly needs?: readonly string[];
}

export interface Matcher {
  /** `$tsc` for a built-in; the owner for a declared one. */
  readonly name: string;
  readonly owner: string;
  /** For a pattern without a severity group, or a severity word it does not know. */
  readonly severity: Severity;
  readonly fileLocation: { readonly kind: 'absolute' | 'relative' | 'autoDetect'; readonly prefix: string };
  readonly patterns: readonly Pattern[];
  /**
   * A matcher that reads the log itself, line by line, with what the lines before said (the default matcher):
   * its `patterns` are none, and `severity` and `fileLocation` are not used.
   */
  readonly read?: (host: ReaderHost) => LineReader;
}

/** A problem that a reading matcher found, at a file of the commit. */
export interface ReadFinding {
  /** Repository-relative, `/`-separated, a file of the commit. */
  readonly file: string;
  readonly line: number;
  readonly column?: number;
  readonly endLine?: number;
  readonly endColumn?: number;
  /** Undefined when the log says none: the job's result decides (`MatchOptions.failed`). */
  readonly severity?: Severity;
  readonly message: string;
  readonly code?: string;
}

/** What a reading matcher is given by matchLog. */
export interface ReaderHost {
  /** `raw` as a repository path (an absolute one under a root, a relative one from the root), not checked against the commit's files. */
  repositoryPath(raw: string): string | undefined;
  /** The files of the commit (undefined: unknown, and nothing is a file of it). */
  readonly files: ReadonlySet<string> | undefined;
  /** A problem; the same file, line, column and message again is not another one. */
  emit(finding: ReadFinding): void;
}

/** A reading matcher at work on one log. */
export interface LineReader {
  /** The next line of the job's output: escape sequences stripped, cut at MAX_LINE, without its line break. */
  line(text: string): void;
  /** A line of the build's own (`[time] Running: …`) came between: what the lines before began has ended. */
  boundary(): void;
  /** The log has ended. */
  end(): void;
}
