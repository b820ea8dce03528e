// What build directories hold that nothing current needs is removed: the directories of jobs that the current
// configuration no longer has (renamed, deleted), spare directories (see checkout.ts) a build left, setup
// products of keys no longer current (and the links to them in jobs' directories, which would keep their
// files on disk), and runs of a setup that its products no longer name. What a build is using (its lock is
// held) is left alone. What is freed is counted as the disk gets it back: a file linked from elsewhere too
// is freed only when all its links go.
import { promises as fs } from 'node:fs';
import path = require('node:path');
import { jobDirName } from './checkout';
import { killLeftovers } from './leftovers';
import { acquireLock, type StaleHolder } from './lockFile';
import { oldRuns } from './products';
import { linkedProducts, linkProducts } from './setup';
import { unlessMissing } from '../../shared/errors';

export interface CleanResult {
  /** What was removed (or would be, in a dry run), relative to the build root. */
  readonly removed: string[];
  /** The bytes the disk gets back (or would), counted before removal. */
  readonly bytes: number;
  /** The files and folders the disk gets back (or would): each counted once, however many links it had. */
  readonly entries: number;
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

/** What the disk gets back when paths go: an inode counts once all its links are among them. */
class Freed {
  private readonly inodes = new Map<bigint, { links: bigint; seen: bigint; bytes: number }>();
  private dirs = { bytes: 0, entries: 0 };

  /** Counts `p` and what is under it (links not followed). */
  async add(p: string): Promise<void> {
    const st = await unlessMissing(fs.lstat(p, { bigint: true }));
    if (!st) { return; }
    const bytes = st.blocks > 0n ? Number(st.blocks) * 512 : Number(st.size);
    if (st.isDirectory()) {
      this.folder(bytes);
      for (const e of await unlessMissing(fs.readdir(p)) ?? []) { await this.add(path.join(p, e)); }
      return;
    }
    const id = (st.dev << 64n) | st.ino;
    const known = this.inodes.get(id) ?? { links: st.nlink, seen: 0n, bytes };
    this.inodes.set(id, { ...known, seen: known.seen + 1n });
  }

  /** A folder of `bytes` that goes, its content counted apart. */
  folder(bytes: number): void {
    this.dirs = { bytes: this.dirs.bytes + bytes, entries: this.dirs.entries + 1 };
  }

  total(): { bytes: number; entries: number } {
    let { bytes, entries } = this.dirs;
    for (const i of this.inodes.values()) {
      if (i.seen >= i.links) { bytes += i.bytes; entries++; }
    }
    return { bytes, entries };
  }
}

/**
 * Removes from `root` the build directories of jobs not in `inUse`, spare directories, the setup products not
 * in it, the links to those in the directories that stay, the runs of current setups that are no longer
 * theirs, and what earlier layouts left (`index/`). A directory whose lock a live build holds is kept.
 */
export async function cleanBuildRoot(root: string, inUse: InUse, options: { dryRun?: boolean } = {}): Promise<CleanResult> {
  const keepJobs = new Set([...inUse.jobs].map(jobDirName));
  const keepSetups = new Set(inUse.setups ?? []);
  const removed: string[] = [];
  const busy: string[] = [];
  const tookOver: string[] = [];
  const freed = new Freed();
  /** Runs `work` under the lock of `rel` (none for undefined); false when a build holds it. */
  const locked = async (rel: string, lockName: string | undefined, work: () => Promise<void>): Promise<boolean> => {
    // A build or setup that died (kill -9) may have left its command running there: it goes first.
    const onTakeOver = (stale: StaleHolder): Promise<void> => killLeftovers(`${rel} of ${root}`, stale, (m) => tookOver.push(m));
    const lock = lockName === undefined ? undefined : await acquireLock(path.join(root, 'locks', lockName), { wait: false, onTakeOver });
    if (lockName !== undefined && !lock) { busy.push(rel); return false; }
    try {
      await work();
      return true;
    } finally {
      await lock?.release();
    }
  };
  const rm = async (rel: string): Promise<void> => {
    await freed.add(path.join(root, rel));
    removed.push(rel);
    if (!options.dryRun) { await fs.rm(path.join(root, rel), { recursive: true, force: true }); }
  };
  for (const name of await unlessMissing(fs.readdir(path.join(root, 'work'))) ?? []) {
    const rel = path.join('work', name);
    if (!keepJobs.has(name)) { // a spare directory's name (`<job>.2`) is never a job's
      await locked(rel, `${name}.lock`, () => rm(rel));
      continue;
    }
    const linked = await linkedProducts(path.join(root, rel));
    if (linked && !keepSetups.has(linked.key.slice(0, 16))) {
      await locked(rel, `${name}.lock`, () => unlinkProducts(root, rel, linked, freed, removed, options.dryRun));
    }
  }
  for (const name of await unlessMissing(fs.readdir(path.join(root, 'deps'))) ?? []) {
    if (name.endsWith('.lock')) { continue; }
    const rel = path.join('deps', name);
    const lockName = path.join('..', 'deps', `${name}.lock`);
    if (!keepSetups.has(name)) {
      await locked(rel, lockName, () => rm(rel));
    } else {
      await locked(rel, lockName, async () => { for (const run of await oldRuns(path.join(root, rel))) { await rm(path.join(rel, run)); } });
    }
  }
  // An earlier layout's private indexes (build directories are repositories of their own now).
  if (await unlessMissing(fs.stat(path.join(root, 'index')))) { await rm('index'); }
  return { removed: removed.sort(), ...freed.total(), busy: [...new Set(busy)].sort(), tookOver };
}

/**
 * Takes the products of a setup no longer current out of a job's directory, which stays (the folders they
 * leave empty go too, counted once gone: a dry run does not count them).
 */
async function unlinkProducts(root: string, rel: string, linked: { files: readonly string[]; record: string }, freed: Freed, removed: string[], dryRun?: boolean): Promise<void> {
  const dir = path.join(root, rel);
  const { files } = linked;
  const folders = new Map<string, number>();
  await freed.add(linked.record);
  for (const f of files) {
    await freed.add(path.join(dir, f));
    for (let d = path.dirname(f); d !== '.' && d !== path.dirname(d) && !folders.has(d); d = path.dirname(d)) {
      const st = await unlessMissing(fs.lstat(path.join(dir, d)));
      folders.set(d, st ? (st.blocks > 0 ? st.blocks * 512 : st.size) : -1);
    }
  }
  removed.push(`${rel} (${files.length} link${files.length === 1 ? '' : 's'} to the products of an old setup)`);
  if (dryRun) { return; }
  await linkProducts(undefined, dir);
  for (const [d, bytes] of folders) {
    if (bytes >= 0 && !(await unlessMissing(fs.lstat(path.join(dir, d))))) { freed.folder(bytes); }
  }
}
