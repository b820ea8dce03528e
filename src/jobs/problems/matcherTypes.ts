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
  /** The default matcher's rule: only files of the commit count (`MatchOptions.files`). */
  readonly onlyKnownFiles?: boolean;
  /** Picks the severity from the message's words when the pattern has no severity group (the default matcher). */
  readonly severityFromText?: boolean;
}
