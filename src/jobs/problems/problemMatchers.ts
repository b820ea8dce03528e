// Problem matchers: how a job's log becomes problems at file positions. A job names one of the matchers VS Code
// users already write in tasks.json (`"$tsc"`), or declares one in the same shape (`owner`, `severity`,
// `fileLocation`, `pattern`: one pattern or several lines' worth, the last of which may `loop`). This file holds
// the checks of a declared matcher (configChecks.ts reports them at their position) and its resolution (the
// shapes are in matcherTypes.ts, the built-in table in builtinMatchers.ts); matchLog.ts runs them. The
// matcher only presents a log: it is not part of any key.
import { DataKitError } from '../../shared/errors';
import { BUILTIN_MATCHERS, BUILTIN_NAMES, BUILTIN_NEEDS, DEFAULT_MATCHERS } from './builtinMatchers';
import { GROUPS, type Group, type Matcher, type MatcherObjectSpec, type MatcherSpec, type Pattern, type PatternSpec } from './matcherTypes';

export { BUILTIN_MATCHERS, BUILTIN_NAMES, DEFAULT_MATCHERS } from './builtinMatchers';
export * from './matcherTypes';

/** A problem of a declared matcher: where in the value (keys and indexes below `problemMatcher`), and what. */
export interface SpecProblem {
  readonly at: readonly (string | number)[];
  readonly message: string;
}

const MATCHER_FIELDS = new Set(['owner', 'source', 'severity', 'fileLocation', 'pattern']);
const PATTERN_FIELDS = new Set(['regexp', 'kind', 'loop', ...GROUPS]);
const SEVERITIES = new Set(['error', 'warning', 'info']);
const LOCATION_KINDS = new Set(['absolute', 'relative', 'autoDetect']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Everything wrong with a `problemMatcher` value, each where it is written; empty when it can be resolved. */
export function matcherSpecProblems(value: unknown): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const say = (at: (string | number)[], message: string): void => { problems.push({ at, message }); };
  const one = (v: unknown, at: (string | number)[]): void => {
    if (typeof v === 'string') {
      if (!Object.hasOwn(BUILTIN_MATCHERS, v)) {
        say(at, `Unknown problem matcher "${v}": the known ones are ${BUILTIN_NAMES.join(', ')}`);
      }
    } else if (isObject(v)) {
      objectProblems(v, at, say);
    } else {
      say(at, '"problemMatcher" must be the name of a matcher such as "$tsc", a matcher object, or an array of them');
    }
  };
  if (Array.isArray(value)) {
    value.forEach((v, i) => one(v, [i]));
  } else {
    one(value, []);
  }
  return problems;
}

function objectProblems(v: Record<string, unknown>, at: (string | number)[], say: (at: (string | number)[], message: string) => void): void {
  for (const key of Object.keys(v)) {
    if (!MATCHER_FIELDS.has(key)) { say([...at, key], `Unknown field "${key}" in the problem matcher`); }
  }
  if (v.owner !== undefined && typeof v.owner !== 'string') { say([...at, 'owner'], '"owner" must be a string'); }
  if (v.source !== undefined && typeof v.source !== 'string') { say([...at, 'source'], '"source" must be a string'); }
  if (v.severity !== undefined && !SEVERITIES.has(v.severity as string)) { say([...at, 'severity'], '"severity" must be "error", "warning" or "info"'); }
  if (v.fileLocation !== undefined && fileLocation(v.fileLocation) === undefined) {
    say([...at, 'fileLocation'], '"fileLocation" must be "absolute", "relative" or "autoDetect", or ["relative" or "autoDetect", a folder]');
  }
  if (v.pattern === undefined) {
    say(at, 'The problem matcher needs a "pattern"');
    return;
  }
  const list = Array.isArray(v.pattern) ? v.pattern : [v.pattern];
  const where = (i: number): (string | number)[] => (Array.isArray(v.pattern) ? [...at, 'pattern', i] : [...at, 'pattern']);
  if (list.length === 0 || !list.every(isObject)) {
    say([...at, 'pattern'], '"pattern" must be a pattern object with "regexp", or a non-empty array of them');
    return;
  }
  let bad = false;
  list.forEach((p: Record<string, unknown>, i) => {
    for (const key of Object.keys(p)) {
      if (!PATTERN_FIELDS.has(key)) { say([...where(i), key], `Unknown field "${key}" in the pattern`); bad = true; }
    }
    if (typeof p.regexp !== 'string') {
      say(p.regexp === undefined ? where(i) : [...where(i), 'regexp'], 'The pattern needs "regexp", a regular expression in a string');
      bad = true;
    } else {
      const problem = regexpProblem(p.regexp);
      if (problem) { say([...where(i), 'regexp'], `"regexp" is not a valid regular expression: ${problem}`); bad = true; }
    }
    for (const g of GROUPS) {
      if (p[g] !== undefined && !(Number.isInteger(p[g]) && (p[g] as number) >= 0)) { say([...where(i), g], `"${g}" must be the number of a group (0 for the whole match)`); bad = true; }
    }
    if (p.kind !== undefined && p.kind !== 'file' && p.kind !== 'location') { say([...where(i), 'kind'], '"kind" must be "file" or "location"'); bad = true; }
    if (p.kind !== undefined && i > 0) { say([...where(i), 'kind'], '"kind" may only be given on the first pattern'); bad = true; }
    if (p.loop !== undefined && typeof p.loop !== 'boolean') { say([...where(i), 'loop'], '"loop" must be true or false'); bad = true; }
    if (p.loop === true && i !== list.length - 1) { say([...where(i), 'loop'], '"loop" may only be set on the last pattern'); bad = true; }
  });
  if (!bad) {
    const patterns = list.map((p) => pattern(p as unknown as PatternSpec, !Array.isArray(v.pattern)));
    const has = (g: Group): boolean => patterns.some((p) => p.groups[g] !== undefined);
    if (!has('file') || !has('message')) {
      say([...at, 'pattern'], 'The pattern must capture at least a "file" and a "message"');
    } else if (patterns[0].kind === 'location' && !has('line') && !has('location')) {
      say([...at, 'pattern'], 'The pattern must capture a "line" or a "location", or be of "kind": "file"');
    }
  }
}

/** Why `source` is not a JavaScript regular expression (the language VS Code's patterns are written in), or undefined. */
export function regexpProblem(source: string): string | undefined {
  try {
    new RegExp(source);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function fileLocation(v: unknown): Matcher['fileLocation'] | undefined {
  const kind = Array.isArray(v) ? v[0] : v;
  const prefix = Array.isArray(v) ? v[1] : undefined;
  if (!LOCATION_KINDS.has(kind as string) || (Array.isArray(v) && (v.length > 2 || (v.length === 2 && typeof prefix !== 'string')))) {
    return undefined;
  }
  return { kind: kind as Matcher['fileLocation']['kind'], prefix: (prefix as string | undefined) ?? '' };
}

/** A pattern as VS Code reads it: a lone pattern's groups (not in an array) default to file 1, line 2, column 3, message 0. */
function pattern(p: PatternSpec, alone: boolean): Pattern {
  const groups: Partial<Record<Group, number>> = {};
  for (const g of GROUPS) {
    if (p[g] !== undefined) { groups[g] = p[g]; }
  }
  const kind = p.kind ?? 'location';
  if (alone) {
    const defaults: Partial<Record<Group, number>> = groups.location !== undefined || kind === 'file' ? { file: 1, message: 0 } : { file: 1, line: 2, column: 3, message: 0 };
    for (const [g, n] of Object.entries(defaults) as [Group, number][]) { groups[g] ??= n; }
  }
  return { regexp: new RegExp(p.regexp), kind, groups, loop: p.loop === true };
}

/** One matcher object, checked. */
function resolveObject(spec: MatcherObjectSpec, name: string | undefined): Matcher {
  const problems = matcherSpecProblems(spec);
  if (problems.length > 0) {
    throw new DataKitError('InvalidProblemMatcher', `Problem matcher${name ? ` ${name}` : ''}: ${problems[0].message}`);
  }
  const list: readonly PatternSpec[] = Array.isArray(spec.pattern) ? spec.pattern : [spec.pattern as PatternSpec];
  return {
    name: name ?? spec.owner ?? 'external',
    owner: spec.owner ?? 'external',
    severity: spec.severity ?? 'error',
    fileLocation: spec.fileLocation === undefined ? { kind: 'relative', prefix: '' } : fileLocation(spec.fileLocation)!,
    patterns: list.map((p, i) => {
      const needs = name === undefined ? undefined : BUILTIN_NEEDS[name]?.[i];
      return needs ? { ...pattern(p, !Array.isArray(spec.pattern)), needs } : pattern(p, !Array.isArray(spec.pattern));
    }),
  };
}

/**
 * The matchers a job's `problemMatcher` means: a built-in by name, a declared one, a list of them (`[]`: none),
 * and for a job that declares none (`undefined`), the default matcher. Throws `InvalidProblemMatcher`.
 */
export function resolveMatcher(spec: MatcherSpec | undefined): Matcher[] {
  if (spec === undefined) { return [...DEFAULT_MATCHERS]; }
  const list = Array.isArray(spec) ? spec : [spec];
  return list.map((item: string | MatcherObjectSpec) => {
    if (typeof item === 'string') {
      if (!Object.hasOwn(BUILTIN_MATCHERS, item)) {
        throw new DataKitError('InvalidProblemMatcher', matcherSpecProblems(item)[0].message);
      }
      return resolveObject(BUILTIN_MATCHERS[item], item);
    }
    return resolveObject(item, undefined);
  });
}
