// Build directories: one per job, reused by every build of the job whatever its commit, outside the
// repository and its .git, filled with exactly a commit's files. A build of the job that finds it in use
// (two commits of a range at once) gets a spare directory, removed when that build is over: builds of
// many commits leave one directory per job, not one per commit. A private index per directory lets git write only what
// changed since the previous build; the user's index, work tree and refs are never touched.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path = require('node:path');
import { DataKitError, unlessMissing } from '../../shared/errors';
import { ID_DIGITS, isObjectId } from '../../shared/objectId';
import { runGit } from '../../store/git/git';
import type { SourceRepo } from '../../store/source/sourceRepo';
import type { WorktreeFiles } from '../../store/source/worktree';
import { killLeftovers } from './leftovers';
import { acquireLock, type LockHandle } from './lockFile';
import { platform } from '../platform';
import { layWorktree, unlayWorktree } from './worktreeCopy';

/** A short stable name for a repository: its folder's name and a digest of its common git dir. */
export function repoId(commonDir: string): string {
  const base = path.basename(commonDir) === '.git' ? path.basename(path.dirname(commonDir)) : path.basename(commonDir, '.git');
  const readable = base.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '').slice(0, 32) || 'repo';
  return `${readable}-${createHash('sha256').update(path.resolve(commonDir)).digest('hex').slice(0, 8)}`;
}

/** The folders whose children are checkouts: the jobs' build directories and the setups'. */
export function checkoutFolders(root: string): string[] {
  return [path.join(root, 'work'), path.join(root, 'deps')];
}

/** `<cache>/datakit-ci/<repoId>`: the root of one repository's build directories. */
export function buildRoot(id: string, base: string = platform().cacheBase()): string {
  return path.join(base, id);
}

/**
 * A job's folder name: a short digest of its name, never the name itself, so that no tool mistakes the
 * checkout for something else (a folder named `test` is a test folder to `node --test`). Stable across
 * commits, so that ignored products (node_modules) stay from one build of the job to the next.
 */
export function jobDirName(job: string): string {
  return createHash('sha256').update(`job:${job}`).digest('hex').slice(0, 12);
}

export interface PrepareOptions {
  repo: SourceRepo;
  commit: string;
  job: string;
  /** Empty the directory first (build products kept from earlier builds are removed). */
  clean?: boolean;
  /** The repository's build root (default: `buildRoot(repoId(repo.commonDir))`). */
  root?: string;
  /** The marker of the run that will use the directory (see environment.ts), recorded in its lock. */
  run?: string;
  /** Told when the directory's lock was taken over from a dead or departed build, and what was killed. */
  onTakeOver?: (message: string) => void;
  /** The working tree's changes to lay over the commit (a build of the working tree). */
  worktree?: WorktreeFiles;
  /** Which of the working tree's changed paths the checkout gets (default: all): what the job's key covers. */
  only?: (file: string) => boolean;
  /** Told what copying the working tree's files costs (a huge file), or that they could not be taken out again. */
  onNote?: (message: string) => void;
  /** The directory, locked already by claimBuildDir (default: the first free one is locked here). */
  claim?: DirClaim;
}

/** A build directory's name under `work/`, locked for one build. */
export interface DirClaim {
  readonly name: string;
  readonly lock: LockHandle;
}

export interface BuildDir {
  readonly dir: string;
  /** Takes the working tree's files out of it (if it got any), then frees it for the next build of the job. */
  release(): Promise<void>;
}

const MAX_DIRS_PER_JOB = 64;

/**
 * Locks a build directory of the job and makes it a git checkout of the commit: its own repository in
 * `.git` (its own index and HEAD, the user's objects borrowed through `objects/info/alternates`, the
 * user's `origin` and tags), holding exactly the commit's tracked files. Nothing is written into the
 * user's repository.
 */
export async function prepareBuildDir(options: PrepareOptions): Promise<BuildDir> {
  const { repo, commit } = options;
  if (!isObjectId(commit)) {
    await options.claim?.lock.release();
    throw new DataKitError('UnknownRevision', `Unknown revision: ${commit}`);
  }
  const root = options.root ?? buildRoot(repoId(repo.commonDir));
  const { name, lock } = options.claim ?? (await claimBuildDir(root, options, false))!;
  const spare = name !== jobDirName(options.job);
  try {
    const dir = path.join(root, 'work', name);
    if (options.clean) {
      await fs.rm(dir, { recursive: true, force: true });
    }
    const laid = await checkoutInto(dir, repo, commit, options.worktree, options.only, options.onNote).catch(async (e: unknown) => {
      if (options.worktree) { await unlayWorktree(dir).catch(() => undefined); } // a refused copy is not left either; the next checkout retries
      throw e;
    });
    // The working tree's files go when the build is over: an untracked file copied in (however big) does not
    // stay in the directory, nor does a changed file stay for the next build of another commit.
    const release = async (): Promise<void> => {
      try {
        if (laid.length > 0) { await unlayWorktree(dir); }
      } catch (e) {
        options.onNote?.(`Could not take the working tree's files out of ${dir} (the next build there does): ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        await removeSpare(spare, dir, options.onNote).finally(() => lock.release());
      }
    };
    return { dir, release };
  } catch (e) {
    await lock.release();
    throw e;
  }
}

/**
 * Makes `dir` a checkout of the commit (see prepareBuildDir); the caller holds whatever lock keeps others
 * out of `dir`.
 */
export async function checkoutInto(dir: string, repo: SourceRepo, commit: string, worktree?: WorktreeFiles, only?: (file: string) => boolean, tell?: (message: string) => void): Promise<string[]> {
  const gitDir = path.join(dir, '.git');
  await ensureCheckoutRepo(gitDir, repo);
  // The caller holds the directory's lock, so an index.lock left here is a crashed git's.
  await fs.rm(path.join(gitDir, 'index.lock'), { force: true });
  // What a build of a working tree laid over the commit goes first (a build that crashed left it): read-tree
  // restores tracked files, not the untracked ones it added.
  await unlayWorktree(dir);
  await checkOut(gitDir, dir, commit);
  return worktree ? layWorktree(dir, repo.gitDir, worktree, { ...(only ? { only } : {}), ...(tell ? { tell } : {}) }) : [];
}

/**
 * Locks the job's directory, or when a build holds it, a spare one (`<name>.2`…); with `firstOnly`, only the
 * job's own directory, and undefined if it is in use (what readies a directory ahead of time does not make a
 * spare one: the build gets one when it runs, if it must).
 */
export async function claimBuildDir(root: string, options: Pick<PrepareOptions, 'job' | 'run' | 'onTakeOver'>, firstOnly: boolean): Promise<DirClaim | undefined> {
  const base = jobDirName(options.job);
  for (let n = 1; n <= (firstOnly ? 1 : MAX_DIRS_PER_JOB); n++) {
    const name = n === 1 ? base : `${base}.${n}`;
    const lock = await acquireLock(path.join(root, 'locks', `${name}.lock`), {
      wait: false,
      data: options.run,
      // A build that died (kill -9) may have left its job running here: it must not share the directory.
      onTakeOver: (stale) => killLeftovers(`the build directory ${path.join(root, 'work', name)}`, stale, options.onTakeOver),
    });
    if (lock) { return { name, lock }; }
  }
  if (firstOnly) { return undefined; }
  throw new DataKitError('BuildDirBusy', `All ${MAX_DIRS_PER_JOB} build directories of job ${options.job} are in use`);
}

/** A spare directory goes with its build (its lock still held); one that cannot be removed is said, and gc removes it. */
async function removeSpare(spare: boolean, dir: string, tell?: (message: string) => void): Promise<void> {
  if (!spare) { return; }
  try {
    await fs.rm(dir, { recursive: true, force: true });
  } catch (e) {
    tell?.(`Could not remove the spare build directory ${dir} (gc and clean do): ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * The checkout's own repository: created once; its `origin`, tags and shallow boundary copied from the
 * user's repository each time, so that `git describe`, `git remote -v` and `git log` say what they say
 * there.
 */
async function ensureCheckoutRepo(gitDir: string, repo: SourceRepo): Promise<void> {
  const fresh = !(await fs.stat(path.join(gitDir, 'HEAD')).then(() => true, () => false));
  if (fresh) {
    for (const sub of ['objects/info', 'refs/heads', 'refs/tags', 'info']) {
      await fs.mkdir(path.join(gitDir, sub), { recursive: true });
    }
    // No commit checked out yet (the first checkOut reads none from it: zeros are not an id it knows).
    await fs.writeFile(path.join(gitDir, 'HEAD'), `${'0'.repeat(ID_DIGITS.sha1)}\n`);
    await fs.writeFile(path.join(gitDir, 'description'), 'A DataKit CI build directory: a checkout of one commit of the repository.\n');
  }
  await writeIfChanged(path.join(gitDir, 'objects', 'info', 'alternates'), `${path.join(repo.commonDir, 'objects')}\n`);
  const origin = await repo.remoteUrl('origin');
  const config = ['[core]', '\trepositoryformatversion = 0', '\tfilemode = true', '\tbare = false', '\tlogallrefupdates = false'];
  if (origin !== undefined) { config.push('[remote "origin"]', `\turl = ${origin}`, '\tfetch = +refs/heads/*:refs/remotes/origin/*'); }
  await writeIfChanged(path.join(gitDir, 'config'), config.join('\n') + '\n');
  await writeIfChanged(path.join(gitDir, 'packed-refs'), await repo.packedTags());
  const shallow = await unlessMissing(fs.readFile(path.join(repo.commonDir, 'shallow'), 'utf8'));
  if (shallow !== undefined) {
    await writeIfChanged(path.join(gitDir, 'shallow'), shallow);
  } else {
    await fs.rm(path.join(gitDir, 'shallow'), { force: true });
  }
}

async function writeIfChanged(file: string, text: string): Promise<void> {
  if ((await unlessMissing(fs.readFile(file, 'utf8'))) !== text) { await fs.writeFile(file, text); }
}

/**
 * `read-tree --reset -u` against the checkout's own index writes only the entries that differ from the
 * index, deletes files the commit no longer has, overwrites untracked files in the way, and leaves other
 * untracked files alone. First `update-index --refresh` re-stats the files (so that a file a build touched
 * but did not change is not rewritten) and tells whether the build changed tracked files. If it did not,
 * a two-tree read-tree from the previous commit (HEAD) only visits what changed between the commits; if it
 * did, the one-tree form compares every file and restores the changed ones. HEAD moves last, so that a
 * crash half-way leaves a checkout that the next one repairs.
 */
async function checkOut(gitDir: string, dir: string, commit: string): Promise<void> {
  const git = (args: string[]) => runGit([`--git-dir=${gitDir}`, `--work-tree=${dir}`, ...args], { cwd: dir, allowFailure: true });
  const previous = (await unlessMissing(fs.readFile(path.join(gitDir, 'HEAD'), 'utf8')) ?? '').trim();
  const hasIndex = await fs.stat(path.join(gitDir, 'index')).then(() => true, () => false);
  // Exit code 1 ("needs update"): a tracked file was modified or deleted; the others are re-stated anyway.
  const untouched = hasIndex && (await git(['update-index', '--refresh'])).code === 0;
  const readTree = ['read-tree', '--reset', '-u', '--no-sparse-checkout'];
  const known = isObjectId(previous) && !/^0+$/.test(previous);
  let r = untouched && known ? await git([...readTree, previous, commit]) : undefined;
  if (r?.code !== 0) { r = await git([...readTree, commit]); } // also when the previous commit is gone
  if (r.code !== 0) {
    const msg = r.stderr.trim();
    throw /not a valid object name|failed to unpack tree object|not a tree object/i.test(msg)
      ? new DataKitError('UnknownRevision', `Unknown revision: ${commit}`)
      : new DataKitError('CheckoutFailed', `Could not fill the build directory ${dir}: ${msg}`);
  }
  await fs.writeFile(path.join(gitDir, 'HEAD'), `${commit}\n`);
}
