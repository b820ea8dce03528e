// What `inputs` and `outputs` mean: plain paths (a file, or a folder and all beneath it) and globs, in the
// one dialect of picomatch, with `!pattern` excluding what the others matched. Dot files match like any
// other file: a change to `.babelrc` must reach a job whose inputs say `**`.
import type picomatchType from 'picomatch';

const OPTIONS = { dot: true } as const;

let loaded: typeof picomatchType | undefined;

/** picomatch, loaded when a configuration first has a glob (most runs have plain paths only). */
function picomatch(): typeof picomatchType {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded when first needed
  return (loaded ??= require('picomatch') as typeof picomatchType);
}

/**
 * Whether a pattern is a glob (has `*`, `?`, `[…]`, `{…}`, `(…)` or an extglob), as opposed to a plain
 * path. A path with none of these characters is plain without asking picomatch.
 */
export function isGlob(pattern: string): boolean {
  return /[*?[\]{}()!+@]/.test(pattern) && picomatch().scan(pattern).isGlob;
}

/**
 * A matcher of one glob in picomatch's default dialect, where `*` and `**` do not match a name starting with
 * a dot: how npm, yarn and pnpm read the globs of a workspace's packages (unlike inputs and outputs).
 */
export function globWithoutDots(pattern: string): (path: string) => boolean {
  return picomatch()(pattern);
}

/** The folder a pattern cannot match outside of: its static part ('' for the whole tree). */
export function baseOf(pattern: string): string {
  return listingOf(pattern).base;
}

/** Where a pattern's matches can be: under `base`, at most `depth` levels down (undefined: any depth). */
export interface Listing {
  readonly base: string;
  readonly depth?: number;
}

/**
 * What must be listed to match `pattern`: for a plain path, everything under it; for a glob, its base, as
 * deep as its other part has levels (`*.js`: the base's own files), or entirely when that part can cross
 * folders (`**`, braces and extglobs may hold a `/`).
 */
export function listingOf(pattern: string): Listing {
  if (!isGlob(pattern)) { return { base: pattern.replace(/\/$/, '') }; }
  const scan = picomatch().scan(pattern);
  const base = scan.base === '.' ? '' : scan.base;
  const rest = scan.glob;
  if (/\*\*|[{}()]|\[[^\]]*\//.test(rest)) { return { base }; }
  return { base, depth: rest.split('/').length };
}

export interface PatternSet {
  /** As written, without the `!` of negations, in order. */
  readonly plain: readonly string[];
  readonly globs: readonly string[];
  readonly negated: readonly string[];
  /** Whether a repository path (a file) is matched: by a plain path or a glob, and by no negation. */
  matches(file: string): boolean;
  /** Whether the path matches this one positive pattern (before negations). */
  matchesPattern(pattern: string, file: string): boolean;
  /** The folders to list to find every match ('' is the root). */
  readonly bases: readonly string[];
}

export function compilePatterns(patterns: readonly string[]): PatternSet {
  const plain: string[] = [];
  const globs: string[] = [];
  const negated: string[] = [];
  for (const p of patterns) {
    if (p.startsWith('!')) { negated.push(p.slice(1)); } else if (isGlob(p)) { globs.push(p); } else { plain.push(p.replace(/\/$/, '')); }
  }
  const globMatch = new Map(globs.map((g) => [g, picomatch()(g, OPTIONS)]));
  const notMatch = negated.map((n) => (isGlob(n) ? picomatch()(n, OPTIONS) : underPlain(n.replace(/\/$/, ''))));
  const matchesPattern = (pattern: string, file: string): boolean =>
    globMatch.get(pattern)?.(file) ?? underPlain(pattern.replace(/\/$/, ''))(file);
  const positive = [...plain, ...globs];
  return {
    plain, globs, negated,
    matchesPattern,
    matches: (file) => positive.some((p) => matchesPattern(p, file)) && !notMatch.some((m) => m(file)),
    bases: minimalBases(positive.map(baseOf)),
  };
}

/** A plain path matches itself and everything beneath it. */
function underPlain(p: string): (file: string) => boolean {
  return (file) => file === p || file.startsWith(`${p}/`) || p === '';
}

/** The bases without those inside another ('' covers everything). */
function minimalBases(bases: string[]): string[] {
  const sorted = [...new Set(bases)].sort();
  if (sorted.includes('')) { return ['']; }
  return sorted.filter((b, i) => !sorted.slice(0, i).some((a) => b.startsWith(`${a}/`)));
}
