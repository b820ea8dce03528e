// A job's declared outputs: found by glob inside its build directory, saved under value/, restored on
// request. Nothing outside the build directory is read or written: symbolic links are never followed and
// no path may climb out with `..`.
import { promises as fs } from 'node:fs';
import path = require('node:path');
import { BuildFailure } from '../../engine/builder';
import { DataKitError, unlessMissing } from '../../shared/errors';
import { compilePatterns } from '../config/patterns';

export const DEFAULT_OUTPUT_CAP = 100 * 1024 * 1024;

export interface OutputFile {
  /** Relative to the build directory, `/`-separated. */
  readonly path: string;
  readonly size: number;
  /** Its git mode: `100755` when any execute bit is set, `120000` for a symbolic link. */
  readonly mode: '100644' | '100755' | '120000';
  /** A symbolic link's target, as written in the link. */
  readonly target?: string;
}

function isSafeRelative(p: string): boolean {
  return p !== '' && !p.startsWith('/') && !/^[A-Za-z]:/.test(p) && !p.includes('\\') && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

export interface FoundOutputs {
  readonly files: OutputFile[];
  /** What a user should hear about: a pattern that matched nothing, a link that leaves the checkout. */
  readonly warnings: string[];
}

/**
 * The files under `dir` that `patterns` match (plain paths, globs, `!` exclusions): regular files, and
 * symbolic links that stay inside `dir` (kept as links; others are skipped with a warning). Nothing named
 * `.git` (in any case, at any depth) nor under it is ever an output, and no link is followed.
 */
export async function findOutputs(dir: string, patterns: readonly string[]): Promise<FoundOutputs> {
  if (patterns.length === 0) { return { files: [], warnings: [] }; }
  const set = compilePatterns(patterns);
  const found = new Map<string, OutputFile>();
  const warnings: string[] = [];
  const consider = async (rel: string, d: { isFile(): boolean; isSymbolicLink(): boolean }): Promise<void> => {
    if (found.has(rel) || !set.matches(rel)) { return; }
    const abs = path.join(dir, rel);
    if (d.isFile()) {
      const st = await fs.lstat(abs);
      found.set(rel, { path: rel, size: st.size, mode: st.mode & 0o111 ? '100755' : '100644' });
    } else if (d.isSymbolicLink()) {
      const target = await fs.readlink(abs);
      const resolved = path.relative(dir, path.resolve(path.dirname(abs), target)).split(path.sep).join('/');
      if (path.isAbsolute(target) || resolved === '' || !isSafeRelative(resolved) || resolved.split('/')[0] === '.git') {
        warnings.push(`Output "${rel}" is a symbolic link to ${target}, outside the checkout: not saved`);
      } else {
        found.set(rel, { path: rel, size: Buffer.byteLength(target), mode: '120000', target });
      }
    }
  };
  const walk = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const d of entries) {
      // A `.git` at any depth (a nested repository's, a submodule's file), in any case: the results repository
      // would refuse to save it, after the job ran; a glob such as `**` is not meant to reach it.
      if (d.name.toLowerCase() === '.git') { continue; }
      const child = rel === '' ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory()) {
        await walk(child);
      } else {
        await consider(child, d);
      }
    }
  };
  for (const base of set.bases) {
    if (base !== '' && (!isSafeRelative(base) || base.split('/').some((part) => part.toLowerCase() === '.git'))) { continue; }
    // Every component of the base must be a real directory inside `dir`, not a link out of it; a plain path
    // may also name a file (or a link) itself.
    let ok = true;
    let cur = '';
    const parts = base === '' ? [] : base.split('/');
    for (const [i, part] of parts.entries()) {
      cur = cur === '' ? part : `${cur}/${part}`;
      const st = await unlessMissing(fs.lstat(path.join(dir, cur)));
      if (st && i === parts.length - 1 && !st.isDirectory()) { await consider(cur, st); ok = false; break; }
      if (!st?.isDirectory()) { ok = false; break; }
    }
    if (ok) { await walk(base); }
  }
  const files = [...found.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
  for (const p of [...set.plain, ...set.globs]) {
    if (!files.some((f) => set.matchesPattern(p, f.path))) {
      warnings.push(`Output "${p}" matched no file${set.negated.length ? ' (after the exclusions)' : ''}: nothing was saved for it`);
    }
  }
  return { files, warnings };
}

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Fails the build when the outputs together exceed `cap`, naming the largest files. */
export function checkOutputCap(files: readonly OutputFile[], cap = DEFAULT_OUTPUT_CAP): void {
  const total = files.reduce((n, f) => n + f.size, 0);
  if (total <= cap) { return; }
  const largest = [...files].sort((a, b) => b.size - a.size).slice(0, 5).map((f) => `${f.path} (${mib(f.size)})`);
  throw new BuildFailure(`Outputs total ${mib(total)}, over the ${mib(cap)} cap; largest: ${largest.join(', ')}`);
}

/** A saved output as restored: its path under `value/`, its bytes and its git mode (`100755` is executable). */
export interface SavedOutput {
  readonly path: string;
  /** The file's bytes, or a symbolic link's target. */
  readonly data: Uint8Array;
  /** `100755` is executable, `120000` a symbolic link. */
  readonly mode?: string;
}

/**
 * Whether a path component names a git directory, as git itself checks (`is_ntfs_dotgit`, `is_hfs_dotgit`):
 * `.git` in any case, with trailing dots or spaces (Windows drops them), or its NTFS short name `git~1`.
 */
function isDotGit(part: string): boolean {
  const p = part.toLowerCase().replace(/[. ]+$/, '');
  return p === '.git' || p === 'git~1';
}

/** Why `p` may not be restored into a work tree (it leaves it, or writes into a `.git`), or undefined. */
export function restoreProblem(p: string): string | undefined {
  if (!isSafeRelative(p)) { return 'it is not a path inside the work tree'; }
  if (p.split('/').some(isDotGit)) { return 'it would write into a .git directory'; }
  return undefined;
}

/** Why a symbolic link may not be restored (its target leaves the work tree or enters a .git), or undefined. */
function linkProblem(p: string, target: string): string | undefined {
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(p), target));
  return path.posix.isAbsolute(target) || restoreProblem(resolved) ? `it is a link to ${target}, outside the work tree` : undefined;
}

/** The outputs' paths split into those that would overwrite a file of `target` and those that are new. */
export async function plannedRestore(paths: readonly string[], target: string): Promise<{ overwritten: string[]; created: string[] }> {
  const overwritten: string[] = [];
  const created: string[] = [];
  for (const p of paths) {
    const exists = await fs.lstat(path.join(target, p)).then(() => true, () => false);
    (exists ? overwritten : created).push(p);
  }
  return { overwritten, created };
}

/**
 * Writes saved outputs (`value/<path>` → `<target>/<path>`), with their executable bit, refusing any path
 * or link that leaves `target` and anything under a `.git`. Every path is checked before anything is written.
 */
export async function restoreOutputs(files: readonly SavedOutput[], target: string): Promise<string[]> {
  for (const f of files) {
    const problem = restoreProblem(f.path) ?? (f.mode === '120000' ? linkProblem(f.path, Buffer.from(f.data).toString('utf8')) : undefined);
    if (problem) { throw new DataKitError('UnsafePath', `Refusing to restore "${f.path}": ${problem}`); }
  }
  const written: string[] = [];
  const root = await fs.realpath(target);
  for (const f of files) {
    const parts = f.path.split('/');
    let cur = root;
    for (const part of parts.slice(0, -1)) {
      cur = path.join(cur, part);
      const st = await unlessMissing(fs.lstat(cur));
      if (!st) {
        await fs.mkdir(cur);
      } else if (!st.isDirectory()) {
        throw new DataKitError('UnsafePath', `Refusing to restore "${f.path}": ${path.relative(root, cur)} is not a directory`);
      }
    }
    const dest = path.join(cur, parts[parts.length - 1]);
    const st = await unlessMissing(fs.lstat(dest));
    if (st?.isSymbolicLink() || (f.mode === '120000' && st)) { await fs.rm(dest, { recursive: true, force: true }); }
    if (f.mode === '120000') {
      await fs.symlink(Buffer.from(f.data).toString('utf8'), dest);
      written.push(f.path);
      continue;
    }
    await fs.writeFile(dest, f.data);
    // As git checks out: executable where it may be read if the output was, never otherwise, whatever the
    // file was before (writeFile keeps an existing file's mode).
    const now = (await fs.stat(dest)).mode & 0o777;
    const wanted = f.mode === '100755' ? now | ((now & 0o444) >> 2) : now & ~0o111;
    if (wanted !== now) { await fs.chmod(dest, wanted); }
    written.push(f.path);
  }
  return written;
}

export { isSafeRelative };
