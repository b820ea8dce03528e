// Build directories of jobs that the current configuration no longer has (renamed, deleted), and setup
// products of keys no longer current, are removed; what a build is using (its lock is held) is left alone.
import { promises as fs } from 'node:fs';
import path = require('node:path');
import { jobDirName } from './checkout';
import { killLeftovers } from './leftovers';
import { acquireLock, type StaleHolder } from './lockFile';
import { unlessMissing } from '../../shared/errors';

export interface CleanResult {
  /** The directories removed (or that would be, in a dry run), relative to the build root. */
  readonly removed: string[];
  /** Their size in bytes, counted before removal. */
  readonly bytes: number;
  /** Directories left because a build holds them. */
  readonly busy: string[];
  /** Locks of dead builds taken over on the way, and what of theirs was killed. */
  readonly tookOver: string[];
}

/** What remains in use: the jobs of the current configuration(s), and the current setup keys (their folder names). */
export interface InUse {
  readonly jobs: Iterable<string>;
  readonly setups?: Iterable<string>;
}

/**
 * Removes from `root` the build directories of jobs not in `inUse`, the setup products not in it, and what
 * earlier layouts left (`index/`). A directory whose lock a live build holds is kept.
 */
export async function cleanBuildRoot(root: string, inUse: InUse, options: { dryRun?: boolean } = {}): Promise<CleanResult> {
  const keepJobs = new Set([...inUse.jobs].map(jobDirName));
  const keepSetups = new Set(inUse.setups ?? []);
  const removed: string[] = [];
  const busy: string[] = [];
  const tookOver: string[] = [];
  let bytes = 0;
  const remove = async (rel: string, lockName: string | undefined): Promise<void> => {
    // A build or setup that died (kill -9) may have left its command running there: it goes first.
    const onTakeOver = (stale: StaleHolder): Promise<void> => killLeftovers(`${rel} of ${root}`, stale, (m) => tookOver.push(m));
    const lock = lockName === undefined ? undefined : await acquireLock(path.join(root, 'locks', lockName), { wait: false, onTakeOver });
    if (lockName !== undefined && !lock) { busy.push(rel); return; }
    try {
      bytes += await sizeOf(path.join(root, rel));
      removed.push(rel);
      if (!options.dryRun) {
        await fs.rm(path.join(root, rel), { recursive: true, force: true });
      }
    } finally {
      await lock?.release();
      if (lock && !options.dryRun) { await fs.rm(lock.file, { force: true }); }
    }
  };
  for (const name of await unlessMissing(fs.readdir(path.join(root, 'work'))) ?? []) {
    if (!keepJobs.has(name.replace(/\.\d+$/, ''))) { await remove(path.join('work', name), `${name}.lock`); }
  }
  for (const name of await unlessMissing(fs.readdir(path.join(root, 'deps'))) ?? []) {
    if (!name.endsWith('.lock') && !keepSetups.has(name)) { await remove(path.join('deps', name), path.join('..', 'deps', `${name}.lock`)); }
  }
  // An earlier layout's private indexes (build directories are repositories of their own now).
  if (await unlessMissing(fs.stat(path.join(root, 'index')))) { await remove('index', undefined); }
  return { removed: removed.sort(), bytes, busy: busy.sort(), tookOver };
}

/** Bytes of the files under `p` (links not followed; a file with several links counted once per link). */
async function sizeOf(p: string): Promise<number> {
  const st = await unlessMissing(fs.lstat(p));
  if (!st) { return 0; }
  if (!st.isDirectory()) { return st.size; }
  let total = 0;
  for (const e of await fs.readdir(p)) { total += await sizeOf(path.join(p, e)); }
  return total;
}
