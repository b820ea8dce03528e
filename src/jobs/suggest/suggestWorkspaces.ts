// Which folders are the packages of a JavaScript workspace: the patterns of package.json's `workspaces` (a
// list, or yarn's `{ "packages": [...] }`) or of pnpm-workspace.yaml's `packages:`, resolved against the
// folders that exist, as npm, yarn and pnpm do (a folder is a package when it holds a package.json). Only
// reads files.
import fs = require('node:fs');
import path = require('node:path');
import { globWithoutDots, isGlob, listingOf } from '../config/patterns';

/** Something `init` could not use, and why. */
export interface Skipped {
  /** Relative to the repository's root, with `/`. */
  readonly file: string;
  readonly reason: string;
}

/** A workspace's patterns as written, and the file they are written in. */
export interface WorkspacePatterns {
  readonly file: string;
  readonly patterns: string[];
}

/** How deep a `**` pattern is followed: a workspace's packages are a few levels down, never dozens. */
const MAX_DEPTH = 8;

/**
 * The `packages:` list of pnpm-workspace.yaml, in block (`- "packages/*"`) or flow (`["a/*", "b"]`) style;
 * undefined when the file has no such list this small reader understands (the file is otherwise ignored:
 * pnpm reads other keys there, such as `catalog:`).
 */
export function pnpmPackages(text: string): string[] | undefined {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const at = lines.findIndex((l) => /^packages\s*:/.test(l));
  if (at < 0) { return undefined; }
  const rest = uncomment(lines[at].replace(/^packages\s*:/, '')).trim();
  if (rest.startsWith('[')) {
    if (!rest.endsWith(']')) { return undefined; }
    const items = rest.slice(1, -1).split(',').map((s) => s.trim()).filter((s) => s !== '');
    const values = items.map(scalar);
    return values.every((v): v is string => v !== undefined) ? values : undefined;
  }
  if (rest !== '') { return undefined; }
  const out: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (/^\s*(#.*)?$/.test(line)) { continue; }
    const item = /^\s*-\s+(.*)$/.exec(line) ?? /^\s*-()$/.exec(line);
    if (!item) {
      if (/^\S/.test(line)) { break; } // the next top-level key
      return undefined;
    }
    const value = scalar(uncomment(item[1]).trim());
    if (value === undefined) { return undefined; }
    out.push(value);
  }
  return out;
}

/** A YAML scalar of a list: plain, 'single' ('' is a quote) or "double" (with \" and \\). */
function scalar(s: string): string | undefined {
  if (s.startsWith("'")) { return /^'((?:[^']|'')*)'$/.exec(s)?.[1].replace(/''/g, "'"); }
  if (s.startsWith('"')) { return /^"((?:[^"\\]|\\["\\])*)"$/.exec(s)?.[1].replace(/\\(["\\])/g, '$1'); }
  return s === '' ? undefined : s;
}

/** The text before a ` #` comment that is outside quotes. */
function uncomment(s: string): string {
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) { quote = undefined; }
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]))) {
      return s.slice(0, i);
    }
  }
  return s;
}

/** A pattern as the package managers take it: without a leading `./` or a trailing `/`. */
function normalize(pattern: string): string {
  return pattern.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

/**
 * The package folders (relative, with `/`, sorted) that the patterns name: folders that exist and hold a
 * package.json, that a positive pattern matches and no `!pattern` does. A pattern that matches none, or that
 * points outside the repository, is skipped and said. `used`: the patterns that matched, normalized, and the
 * negations, for the setup's inputs.
 */
export function resolveWorkspaces(repoDir: string, ws: WorkspacePatterns): { folders: string[]; skipped: Skipped[]; used: string[] } {
  const skipped: Skipped[] = [];
  const used: string[] = [];
  const listings = new Map<string, fs.Dirent[]>();
  const list = (rel: string): fs.Dirent[] => {
    let entries = listings.get(rel);
    if (!entries) {
      try { entries = fs.readdirSync(path.join(repoDir, rel), { withFileTypes: true }); } catch { entries = []; }
      listings.set(rel, entries);
    }
    return entries;
  };
  const isPackage = (rel: string): boolean => fs.existsSync(path.join(repoDir, rel, 'package.json'));
  const negated = ws.patterns.filter((p) => p.startsWith('!')).map((p) => normalize(p.slice(1)));
  const excluded = negated.map((n) => (isGlob(n) ? globWithoutDots(n) : (f: string) => f === n || f.startsWith(`${n}/`)));
  const found = new Set<string>();
  for (const raw of ws.patterns) {
    if (raw.startsWith('!')) { continue; }
    const pattern = normalize(raw);
    if (pattern === '' || pattern === '.') { continue; } // the root itself: its scripts are suggested anyway
    if (pattern.startsWith('/') || pattern.split('/').includes('..') || pattern.includes('\\')) {
      skipped.push({ file: ws.file, reason: `workspace pattern "${raw}" points outside the repository` });
      continue;
    }
    const matches: string[] = [];
    if (!isGlob(pattern)) {
      if (isPackage(pattern)) { matches.push(pattern); }
    } else {
      const match = globWithoutDots(pattern);
      const { base, depth } = listingOf(pattern);
      const walk = (dir: string, levels: number): void => {
        for (const e of list(dir)) {
          if (!e.isDirectory() || e.name === 'node_modules' || e.name.startsWith('.')) { continue; }
          const rel = dir === '' ? e.name : `${dir}/${e.name}`;
          if (match(rel) && isPackage(rel)) { matches.push(rel); }
          if (levels > 1) { walk(rel, levels - 1); }
        }
      };
      walk(base, depth ?? MAX_DEPTH);
    }
    if (matches.length === 0) {
      skipped.push({ file: ws.file, reason: `workspace pattern "${raw}" matches no folder with a package.json` });
      continue;
    }
    used.push(pattern);
    for (const m of matches) {
      if (!excluded.some((x) => x(m))) { found.add(m); }
    }
  }
  used.push(...negated.map((n) => `!${n}`));
  return { folders: [...found].sort(), skipped, used };
}
