// Finds a repository's directories and its HEAD by reading files only — no `git` process — so that an
// untrusted workspace can show cached results without running anything.
import fs = require('node:fs');
import path = require('node:path');
import { isObjectId } from '../../shared/objectId';
import { parsePackedRefs } from '../git/packedRefs';

export interface RepositoryDirs {
  /** The work tree's root, or undefined for a bare repository. */
  readonly topLevel?: string;
  /** This work tree's git directory (`.git`, or `.git/worktrees/<name>` for a linked worktree). */
  readonly gitDir: string;
  /** The directory shared by all worktrees (objects, refs). */
  readonly commonDir: string;
}

function isGitDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'HEAD')) && (fs.existsSync(path.join(dir, 'objects')) || fs.existsSync(path.join(dir, 'commondir')));
}

function commonDirOf(gitDir: string): string {
  try {
    const rel = fs.readFileSync(path.join(gitDir, 'commondir'), 'utf8').trim();
    return path.resolve(gitDir, rel);
  } catch {
    return gitDir;
  }
}

/** Walks up from `start` to the repository that contains it; undefined if none. */
export function locateRepository(start: string): RepositoryDirs | undefined {
  let dir = path.resolve(start);
  for (;;) {
    const dotGit = path.join(dir, '.git');
    let st: fs.Stats | undefined;
    try { st = fs.statSync(dotGit); } catch { /* not here */ }
    if (st?.isDirectory() && isGitDir(dotGit)) {
      return { topLevel: dir, gitDir: dotGit, commonDir: commonDirOf(dotGit) };
    }
    if (st?.isFile()) {
      // A linked worktree or a submodule: ".git" is a file saying "gitdir: <path>".
      const m = /^gitdir:\s*(.+?)\s*$/m.exec(fs.readFileSync(dotGit, 'utf8'));
      if (m) {
        const gitDir = path.resolve(dir, m[1]);
        if (isGitDir(gitDir)) { return { topLevel: dir, gitDir, commonDir: commonDirOf(gitDir) }; }
      }
    }
    if (path.basename(dir) !== '.git' && isGitDir(dir) && fs.existsSync(path.join(dir, 'refs'))) {
      return { gitDir: dir, commonDir: commonDirOf(dir) }; // a bare repository
    }
    const parent = path.dirname(dir);
    if (parent === dir) { return undefined; }
    dir = parent;
  }
}

function readPackedRef(commonDir: string, ref: string): string | undefined {
  let text: string;
  try { text = fs.readFileSync(path.join(commonDir, 'packed-refs'), 'utf8'); } catch { return undefined; }
  return parsePackedRefs(text).get(ref);
}

/** A ref's commit id (following symbolic refs), read from loose ref files or packed-refs. */
export function readRef(dirs: RepositoryDirs, ref: string, depth = 0): string | undefined {
  if (depth > 5) { return undefined; }
  // HEAD and other per-worktree refs live in the worktree's git dir; branches in the common dir.
  const base = ref === 'HEAD' || !ref.startsWith('refs/') ? dirs.gitDir : dirs.commonDir;
  let text: string | undefined;
  try { text = fs.readFileSync(path.join(base, ref), 'utf8').trim(); } catch { /* maybe packed */ }
  if (text === undefined) { return readPackedRef(dirs.commonDir, ref); }
  const sym = /^ref:\s*(\S+)$/.exec(text);
  if (sym) { return readRef(dirs, sym[1], depth + 1); }
  return isObjectId(text) ? text : undefined;
}

/** HEAD's commit and branch (undefined branch when detached; undefined result when unborn). */
export function readHead(dirs: RepositoryDirs): { commit: string; branch?: string } | undefined {
  let text: string;
  try { text = fs.readFileSync(path.join(dirs.gitDir, 'HEAD'), 'utf8').trim(); } catch { return undefined; }
  const sym = /^ref:\s*refs\/heads\/(\S+)$/.exec(text);
  const commit = readRef(dirs, 'HEAD');
  if (!commit) { return undefined; }
  return sym ? { commit, branch: sym[1] } : { commit };
}
