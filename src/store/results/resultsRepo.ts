// Locates the results repository, `<git-common-dir>/datakit-ci/`, and creates it on first use.
import { childProcess } from '../../shared/lazy';
import { randomBytes } from 'node:crypto';
import fs = require('node:fs');
import { promises as fsp } from 'node:fs';
import path = require('node:path');
import { DataKitError } from '../../shared/errors';
import { isomorphicGit } from '../git/isomorphicGit';

export const RESULTS_DIR_NAME = 'datakit-ci';

/**
 * The common git directory of the repository that holds `dir` (a work tree or any subdirectory, a linked
 * worktree, or a bare repository). One `git rev-parse`: git knows every layout (gitfiles, `commondir`,
 * GIT_DIR from a hook) better than a re-implementation would.
 */
export function findCommonDir(dir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    childProcess().execFile('git', ['rev-parse', '--git-common-dir'], { cwd: dir, encoding: 'utf8', windowsHide: true }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          // execFile reports a missing cwd the same way; tell the two apart.
          fsp.stat(dir).then(
            () => reject(new DataKitError('GitNotFound', 'git was not found on the PATH; DataKit CI needs the git command-line tool.')),
            () => reject(new DataKitError('NotFound', `The directory ${dir} does not exist.`)),
          );
          return;
        }
        const why = stderr.trim() || err.message;
        reject(new DataKitError('NotARepository', `${dir} is not in a git repository: ${why}`));
        return;
      }
      resolve(path.resolve(dir, stdout.trim()));
    });
  });
}

/** The results repository's path for a repository's common git directory. */
export function resultsDirOf(commonDir: string): string {
  return path.join(commonDir, RESULTS_DIR_NAME);
}

/**
 * Makes `dir` a bare git repository unless it already is one: laid out by isomorphic-git's `init` in a
 * temporary directory beside it and renamed into place, so that two processes creating it at once never see
 * a half-made repository. (Its config also says `filemode = false`, `symlinks = false` and `ignorecase =
 * true`: settings for a work tree and its index, which a bare repository has none of; branches whose names
 * differ only in case still stay apart.)
 */
export async function ensureBareRepo(dir: string): Promise<void> {
  if (await isGitDir(dir)) {
    return;
  }
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await isomorphicGit().init({ fs, dir: tmp, bare: true, defaultBranch: 'main' });
    await fsp.writeFile(path.join(tmp, 'description'), 'DataKit CI results: one branch per cache entry.\n');
    try {
      await fsp.rename(tmp, dir);
    } catch (e) {
      // Another process won the race (ENOTEMPTY/EEXIST), or an empty directory is in the way.
      if (!(await isGitDir(dir))) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') {
          throw e;
        }
        // Only an empty directory goes; whatever stops it (not empty, gone) the rename below tells apart.
        await fsp.rmdir(dir).catch(() => undefined);
        await fsp.rename(tmp, dir).catch(async (e2) => {
          if (!(await isGitDir(dir))) {
            // Not the user's repository that is wrong: a folder in the results repository's place.
            throw new DataKitError('InTheWay', `${dir} is in the way of the results repository: it is not a git repository and is not empty (${(e2 as NodeJS.ErrnoException).code ?? (e2 as Error).message}). Move it away: the results repository is made again on the next build`);
          }
        });
      }
    }
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

async function isGitDir(dir: string): Promise<boolean> {
  // Synchronous: two stats, on every open.
  return fs.existsSync(path.join(dir, 'objects')) && fs.existsSync(path.join(dir, 'HEAD'));
}
