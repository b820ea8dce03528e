// A build of the working tree: its changes laid over a checkout of its HEAD, checked against its key, and
// taken away again after the build. What is laid is what the key covers (a job's inputs), so that the
// build's files are exactly its key's; what the copy wrote is hashed, never the working tree again (a file
// saved A → B → A while it was copied is B in the checkout and A in the working tree).
import { promises as fs } from 'node:fs';
import path = require('node:path');
import { DataKitError, unlessMissing } from '../../shared/errors';
import { runGit } from '../../store/git/git';
import { blobId, stdinPaths, type WorktreeFiles } from '../../store/source/worktree';
import { compilePatterns } from '../config/patterns';
import type { JobKey } from '../keys/key';

/** Lists, in a checkout's `.git`, the paths a working tree's changes put there (removed before the next checkout). */
export const OVERLAY_FILE = 'datakit-ci-worktree';

/** A copied file this big is said in the log, with its size: every build of a job that gets it pays for the copy. */
export const HUGE_COPY = 100 * 1024 * 1024;

export interface LayOptions {
  /** Which changed paths the checkout gets (default: all). */
  readonly only?: (file: string) => boolean;
  /** Told what a copy costs (a huge file). */
  readonly tell?: (message: string) => void;
}

/**
 * Which of the working tree's changed files a job's checkout gets: those its key covers — its inputs, its
 * setup's (the command reads the files its products were made from: a package.json's scripts) and, one
 * after another, those of the jobs it needs. Undefined (every file) when one of them has no inputs: it keys
 * the whole tree. A file no input covers stays as HEAD has it, as it would in a build of a commit whose
 * content differs from HEAD's only there.
 */
export function coveredByKey(key: JobKey, keyOf: (digest: string) => JobKey | undefined): ((file: string) => boolean) | undefined {
  const patterns: (readonly string[])[] = [];
  const seen = new Set<string>();
  const visit = (k: JobKey): boolean => {
    if (seen.has(k.digest)) { return true; }
    seen.add(k.digest);
    if (!k.job.inputs || (k.setup && !k.setup.setup.inputs)) { return false; }
    patterns.push(k.job.inputs);
    if (k.setup?.setup.inputs) { patterns.push(k.setup.setup.inputs); }
    return Object.values(k.needs).every((d) => { const need = keyOf(d); return need !== undefined && visit(need); });
  };
  if (!visit(key)) { return undefined; }
  const sets = patterns.map((p) => compilePatterns(p));
  return (file) => sets.some((set) => set.matches(file));
}

/**
 * Whether a path is a `.gitattributes`: laid whatever a job's inputs are, since the attributes decide the
 * blob id that the copies of the files they cover are checked against.
 */
function isAttributes(file: string): boolean {
  return file === '.gitattributes' || file.endsWith('/.gitattributes');
}

/**
 * Lays the working tree's changes over a checkout of its HEAD: changed and new files copied (with their
 * mode), deleted ones removed. The copies are then checked against the ids the key was computed from: a
 * copy of other content fails the build as `WorktreeChanged`, a failure that is not the key's (see
 * `verifyCopies`). Returns the paths it wrote or removed.
 */
export async function layWorktree(dir: string, gitDir: string, wt: WorktreeFiles, options: LayOptions = {}): Promise<string[]> {
  const only = options.only ?? (() => true);
  const changes = [...wt.state.changes].filter(([p]) => only(p) || isAttributes(p));
  await fs.writeFile(path.join(dir, '.git', OVERLAY_FILE), changes.map(([p]) => p).join('\0'));
  const copied: Copied[] = [];
  for (const [p, c] of changes) {
    const dst = path.join(dir, p);
    await fs.rm(dst, { recursive: true, force: true });
    if (c === null || c.mode === '160000') { continue; } // a submodule's folder stays as the commit has it
    await fs.mkdir(path.dirname(dst), { recursive: true });
    const src = path.join(wt.top, p);
    if (c.mode === '120000') {
      await fs.symlink(await fs.readlink(src), dst);
    } else {
      await fs.copyFile(src, dst);
      await fs.chmod(dst, c.mode === '100755' ? 0o755 : 0o644);
      const { size } = await fs.stat(dst);
      if (size > HUGE_COPY) {
        options.tell?.(`Copied ${p} (${Math.round(size / 1024 / 1024)} MiB) from the working tree into the build directory${options.only ? '' : ': a job without inputs keys, and gets, the whole working tree (inputs that leave it out spare the copy)'}`);
      }
    }
    copied.push({ path: p, mode: c.mode, oid: c.oid });
  }
  await verifyCopies(dir, gitDir, copied);
  return changes.map(([p]) => p);
}

/** A file laid into a checkout, with the mode and blob id its key was computed from. */
export interface Copied {
  readonly path: string;
  readonly mode: string;
  readonly oid: string;
}

/**
 * Checks what was written into the checkout `dir` against the ids the key was computed from: each file
 * hashed as `git add` would hash it in the repository of `gitDir` (its filters and line-ending rules), each
 * link by its target. Content other than the key's is `WorktreeChanged` with the reason `interrupted`: the
 * working tree moved during the copy, and the build's failure is not a result of the key (never saved).
 */
export async function verifyCopies(dir: string, gitDir: string, copied: readonly Copied[]): Promise<void> {
  const moved: string[] = [];
  const files = copied.filter((f) => f.mode !== '120000');
  for (const f of copied) {
    if (f.mode === '120000' && blobId(Buffer.from(await fs.readlink(path.join(dir, f.path)))) !== f.oid) { moved.push(f.path); }
  }
  let failed: string | undefined;
  if (files.length > 0) {
    const r = await runGit([`--git-dir=${gitDir}`, `--work-tree=${dir}`, 'hash-object', '--stdin-paths'], { cwd: dir, input: stdinPaths(files.map((f) => f.path)), allowFailure: true });
    const ids = r.stdout.toString('utf8').trim().split('\n');
    if (r.code !== 0) { failed = r.stderr.trim(); }
    files.forEach((f, i) => { if (r.code !== 0 || ids[i] !== f.oid) { moved.push(f.path); } });
  }
  if (moved.length === 0) { return; }
  const named = moved.slice(0, 3).join(', ') + (moved.length > 3 ? ` and ${moved.length - 3} more` : '');
  throw new DataKitError('WorktreeChanged',
    `The working tree changed while it was copied: ${failed ? `the copies could not be checked (${failed})` : named}; nothing saved, build again`,
    { reason: 'interrupted', files: moved });
}

/**
 * Takes a working tree's changes out of a checkout again (see `layWorktree`): the laid paths removed, and
 * what the commit has at them written back from the checkout's index. The build's other files (products it
 * keeps from one build to the next) stay.
 */
export async function unlayWorktree(dir: string): Promise<void> {
  const gitDir = path.join(dir, '.git');
  const marker = path.join(gitDir, OVERLAY_FILE);
  // The marker is in the job's checkout, which the job could write: only relative paths inside it are taken.
  const laid = (await unlessMissing(fs.readFile(marker, 'utf8')))?.split('\0').filter((f) => f !== '' && !path.isAbsolute(f) && !f.split(/[\\/]/).includes('..'));
  if (laid === undefined) { return; }
  for (const f of laid) { await fs.rm(path.join(dir, f), { recursive: true, force: true }); }
  const under = new Set(laid);
  const git = (args: string[], input?: string) => runGit([`--git-dir=${gitDir}`, `--work-tree=${dir}`, ...args], { cwd: dir, allowFailure: true, ...(input !== undefined ? { input } : {}) });
  const indexed = (await git(['ls-files', '-z'])).stdout.toString('utf8').split('\0').filter((f) => {
    for (let at = f.length; at > 0; at = f.lastIndexOf('/', at - 1)) { if (under.has(f.slice(0, at))) { return true; } }
    return false;
  });
  if (indexed.length > 0) {
    const r = await git(['checkout-index', '-f', '-u', '-z', '--stdin'], indexed.join('\0'));
    if (r.code !== 0) { throw new DataKitError('CheckoutFailed', `Could not restore the commit's files in the build directory ${dir}: ${r.stderr.trim()}`); }
  }
  for (const f of laid) { await removeEmptyParents(dir, f); }
  await fs.rm(marker, { force: true });
}

/** Removes the folders a laid file was the last thing in, up to the checkout's root. */
async function removeEmptyParents(dir: string, file: string): Promise<void> {
  for (let p = path.dirname(file); p !== '.' && p !== ''; p = path.dirname(p)) {
    const gone = await fs.rmdir(path.join(dir, p)).then(() => true, () => false);
    if (!gone) { return; }
  }
}
