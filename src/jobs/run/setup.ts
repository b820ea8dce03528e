// The top-level setup (e.g. `npm ci`): run once per distinct key of its own inputs, in a checkout of the
// commit, and kept in `<build root>/deps/<key>/`. What it creates that git does not track (node_modules at
// any depth…) is its product: made read-only there and hard-linked into each job's checkout before the job
// starts, which takes no disk space for the files and well under a second for tens of thousands of them; an
// installed package's folder that can be shared whole (sharedFolders.ts) is one symbolic link instead, so that
// checkouts do not each hold a copy of node_modules' folders.
// How the products are sealed, and checked for changes a job made in place, is products.ts's.
import { randomUUID } from 'node:crypto';
import fsSync = require('node:fs');
import { promises as fs } from 'node:fs';
import path = require('node:path');
import { BuildFailure } from '../../engine/builder';
import { DataKitError, unlessMissing } from '../../shared/errors';
import { CANCELLED_MESSAGE } from '../../shared/resultCommit';
import { LiveLog } from '../../engine/liveLog';
import { runGit } from '../../store/git/git';
import type { SourceRepo } from '../../store/source/sourceRepo';
import { checkoutInto } from './checkout';
import type { WorktreeFiles } from '../../store/source/worktree';
import { compilePatterns } from '../config/patterns';
import { jobEnvironment, RUN_VARIABLE } from './environment';
import type { SetupKey } from '../keys/key';
import { killLeftovers } from './leftovers';
import { acquireLock, readLockHolder } from './lockFile';
import { runsDir, withRunRecord } from './orphans';
import { runJobProcess } from './process';
import { platform } from '../platform';
import { dropOldLinks, onlyLinksTo, packageFolderOf, shareableFolders } from './sharedFolders';
import { changedProducts, checkAfterJob, readSealed, runDir, sealProducts, someFiles, unseal, type ProductChange, type SetupProducts } from './products';

export type { SetupProducts } from './products';

/** The folder of one setup key's products: the key's first 16 hex digits. */
export function setupDirName(key: SetupKey): string {
  return key.digest.slice(0, 16);
}

export class Setups {
  /**
   * One run per key in this process (a failure is kept for this process only: the next build tries again),
   * and when its command started.
   */
  private readonly running = new Map<string, { products: Promise<SetupProducts>; started: Promise<void> }>();
  /** The runs whose products were found changed and said so (once each). */
  private readonly told = new Set<string>();

  /** `warn`: what the user is told besides the job's log (the command line's warnings). */
  constructor(private readonly root: string, private readonly repo: () => Promise<SourceRepo>, private readonly warn: (message: string) => void = () => undefined) {}

  /**
   * The products of the setup, run if no process has yet (waiting, with a reason, for one that is running
   * it). Its output streams into `log` under `=== setup`; its failure fails the job with a clear message.
   * `started` resolves once the setup's command has started (or it is over, or another process runs it):
   * what competes with it for the machine, other jobs' checkouts, waits for that, the setup being the first
   * thing every job waits for.
   */
  ensure(key: SetupKey, commit: string, log: LiveLog, signal: AbortSignal, worktree?: WorktreeFiles): { products: Promise<SetupProducts>; started: Promise<void> } {
    let started!: () => void;
    const whenStarted = new Promise<void>((r) => { started = r; });
    const products = this.products(key, commit, log, signal, started, worktree);
    products.then(started, started);
    return { products, started: whenStarted };
  }

  private async products(key: SetupKey, commit: string, log: LiveLog, signal: AbortSignal, started: () => void, worktree?: WorktreeFiles): Promise<SetupProducts> {
    log.heading(`setup: ${key.setup.run}`);
    const dir = path.join(this.root, 'deps', setupDirName(key));
    const done = await readSealed(dir, key.digest);
    const change = done && await changedProducts(done);
    if (done && !change) {
      log.write(done.log);
      log.log(`Setup ${key.digest.slice(0, 12)} reused (${done.files.length} files)`);
      return done;
    }
    if (done && change) { this.tellChange(key, done, change, log); }
    let run = this.running.get(key.digest);
    if (!run) {
      const setupLog = new LiveLog(`setup/${key.digest}`, 'setup');
      let runStarted!: () => void;
      const whenStarted = new Promise<void>((r) => { runStarted = r; });
      const products = log.withPendingReason(`Running the setup (${key.setup.run})`, () => this.runOnce(key, commit, dir, setupLog, signal, runStarted, worktree))
        .finally(() => { setupLog.finish(); runStarted(); });
      run = { products, started: whenStarted };
      this.running.set(key.digest, run);
      // A setup interrupted (its working tree moved while it was copied) is no result of its key: run again when asked.
      products.then(() => this.running.delete(key.digest), (e: unknown) => { if (DataKitError.is(e) && e.data.reason === 'interrupted') { this.running.delete(key.digest); } });
      void whenStarted.then(started);
      const sub = setupLog.subscribe(0, (chunk) => log.write(chunk));
      try {
        return await products;
      } finally {
        sub.dispose();
      }
    }
    void run.started.then(started);
    const products = await log.withPendingReason('Waiting for the setup', () => run!.products);
    log.write(products.log);
    return products;
  }

  private async runOnce(key: SetupKey, commit: string, dir: string, setupLog: LiveLog, signal: AbortSignal, started: () => void, worktree?: WorktreeFiles): Promise<SetupProducts> {
    // Across processes: whoever holds the key's lock runs it; the others wait, then find it done.
    const lockFile = path.join(this.root, 'deps', `${setupDirName(key)}.lock`);
    const holder = await readLockHolder(lockFile);
    if (holder) { started(); } // it runs elsewhere: nothing here to give way to
    const waitReason = holder ? setupLog.pushPendingReason(`Waiting for the setup in another process (pid ${holder.pid})`) : undefined;
    const run = randomUUID();
    const lock = await acquireLock(lockFile, {
      signal, data: run,
      // A setup whose process died (kill -9 of the command line) may have left its command running.
      onTakeOver: (stale) => killLeftovers(`the setup ${key.digest.slice(0, 12)}`, stale, (m) => setupLog.log(m)),
    });
    waitReason?.dispose();
    if (!lock) { throw new DataKitError('Cancelled', CANCELLED_MESSAGE); }
    try {
      const done = await readSealed(dir, key.digest);
      if (done && !(await changedProducts(done))) {
        setupLog.write(done.log);
        return done;
      }
      // Earlier runs go (their processes are gone: see onTakeOver); this one writes into a folder of its own.
      await unseal(dir);
      const tree = path.join(runDir(dir, run), 'tree');
      await fs.mkdir(tree, { recursive: true });
      // From a working tree, only the changes to the setup's own inputs are laid over the commit: its products
      // depend on nothing else, and the files laid are not products.
      const inputs = key.setup.inputs ? compilePatterns(key.setup.inputs) : undefined;
      const laid = new Set(await checkoutInto(tree, await this.repo(), commit, worktree, (f) => inputs?.matches(f) ?? true));
      setupLog.log(`Running: ${key.setup.run}`);
      setImmediate(started); // once the command is spawned, below
      try {
        await withRunRecord(runsDir(this.root), { run, what: `the setup ${key.digest.slice(0, 12)}` }, () => runJobProcess({
          command: key.setup.run,
          cwd: tree,
          env: jobEnvironment(process.env, key.setup.env, { job: 'setup', commit, key: key.digest, run, ceiling: dir }),
          run: { name: RUN_VARIABLE, value: run },
          signal,
          timeoutMs: key.setup.timeoutMs,
          timeoutLabel: key.setup.timeout,
          onOutput: (text) => setupLog.write(text),
        }));
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        setupLog.log(`Failed: ${why}`);
        if (DataKitError.is(e, 'Cancelled')) { throw e; }
        throw new BuildFailure(`Setup failed: ${why} (see the "=== setup" section of this log)`);
      }
      const files = (await untrackedFiles(tree)).filter((f) => !laid.has(f));
      for (const f of laid) { await fs.rm(path.join(tree, f), { recursive: true, force: true }); }
      await keepOnlyProducts(tree);
      const links = new Set<string>();
      for (const f of files) { if (readOnly(path.join(tree, f)) === 'link') { links.add(f); } }
      // Symbolic links to folders need privileges on Windows: each job gets its files there.
      const shared = platform().name === 'windows' ? [] : shareableFolders(tree, files, links);
      setupLog.log(`Setup done: ${files.length} files that git does not track`);
      if (shared.length > 0) { setupLog.log(`Package folders a job's checkout gets as one link each: ${shared.length}`); }
      return await sealProducts(dir, { key: key.digest, run, tree, files, links, shared, log: setupLog.contents() });
    } finally {
      await lock.release();
    }
  }

  /**
   * Looks at the products after a job that used them ended: a change it made in place is said in its log
   * and to the user, and recorded for the next job (which runs the setup again first).
   */
  async checkAfter(products: SetupProducts, job: string, commit: string, log: LiveLog): Promise<void> {
    let change: ProductChange | undefined;
    try {
      change = await checkAfterJob(products, job, commit);
    } catch (e) {
      // The job's outcome stands; the next job looks at the products again before it links them.
      log.log(`Warning: could not look at the setup's products after the job: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!change) { return; }
    const message = `Job ${job} changed ${change.files.length} file${change.files.length === 1 ? '' : 's'} of the setup's products in place (${someFiles(change.files)}): the setup runs again before the next job uses them`;
    log.log(`Warning: ${message}`);
    this.told.add(products.run);
    this.warn(message);
  }

  /** Says, in the job's log and to the user, that a job changed the products in place: the setup runs again. */
  private tellChange(key: SetupKey, done: SetupProducts, change: ProductChange, log: LiveLog): void {
    const by = change.by ? `job ${change.by.job} (at ${change.by.commit.slice(0, 7)})` : 'a job still running, or another program';
    const message = `The products of setup ${key.digest.slice(0, 12)} were changed in place by ${by} (${someFiles(change.files)}): running the setup again`;
    log.log(`Warning: ${message}`);
    if (!this.told.has(done.run)) {
      this.told.add(done.run);
      this.warn(message);
    }
  }
}

/** What git does not track in the checkout (ignored files included): the setup's products. */
async function untrackedFiles(tree: string): Promise<string[]> {
  const r = await runGit([`--git-dir=${path.join(tree, '.git')}`, `--work-tree=${tree}`, 'ls-files', '--others', '-z'], { cwd: tree });
  return r.stdout.toString('utf8').split('\0').filter((f) => f !== '').sort();
}

/** Removes the checkout's tracked files and its repository: only the products stay. */
async function keepOnlyProducts(tree: string): Promise<void> {
  const r = await runGit([`--git-dir=${path.join(tree, '.git')}`, `--work-tree=${tree}`, 'ls-files', '-z'], { cwd: tree });
  for (const f of r.stdout.toString('utf8').split('\0').filter((x) => x !== '')) {
    await fs.rm(path.join(tree, f), { force: true });
  }
  await fs.rm(path.join(tree, '.git'), { recursive: true, force: true });
}

/** No one may write a shared product in place (a job gets a link to the same file). Says what the path is. */
function readOnly(file: string): 'file' | 'link' | 'gone' {
  try {
    const st = fsSync.lstatSync(file);
    if (st.isFile() && st.mode & 0o222) { fsSync.chmodSync(file, st.mode & ~0o222); }
    return st.isSymbolicLink() ? 'link' : 'file';
  } catch {
    return 'gone'; // nothing to protect
  }
}

const STATE_FILE = 'datakit-ci-setup';

/**
 * The key of the setup whose products are linked in a job's checkout, their paths, and the file that records
 * them; undefined when none are.
 */
export async function linkedProducts(checkout: string): Promise<{ key: string; files: string[]; record: string } | undefined> {
  const record = path.join(checkout, '.git', STATE_FILE);
  const text = await unlessMissing(fs.readFile(record, 'utf8'));
  if (!text) { return undefined; }
  const [key, ...lines] = text.split('\n');
  const files = lines.filter((f) => f !== '');
  // Written by us, but inside the checkout, where a job's command may write too: its paths are removed later
  // (by the next setup's links and by clean), so one that leaves the checkout makes the record unusable.
  const outside = files.find((f) => path.isAbsolute(f) || f.split(/[\\/]/).includes('..'));
  if (outside !== undefined) {
    throw new DataKitError('InvalidPath', `${record} names a path outside its checkout (${JSON.stringify(outside.slice(0, 200))}): nothing it lists is removed; delete the checkout ${checkout} to go on`);
  }
  return { key: key!, files, record };
}

/**
 * A hard link (or a copy of a symbolic link) of `src` at `dst`, creating the folders on the way and
 * replacing what is in the way; false if `src` is gone.
 */
function placeLink(src: string, dst: string, symbolic: boolean): boolean {
  for (let attempt = 1; ; attempt++) {
    try {
      if (symbolic) { fsSync.symlinkSync(fsSync.readlinkSync(src), dst); } else { fsSync.linkSync(src, dst); }
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (attempt > 3 || (code !== 'ENOENT' && code !== 'EEXIST')) { throw e; }
      if (code === 'ENOENT') {
        if (!fsSync.lstatSync(src, { throwIfNoEntry: false })) { return false; }
        fsSync.mkdirSync(path.dirname(dst), { recursive: true });
      } else {
        fsSync.rmSync(dst, { recursive: true, force: true });
      }
    }
  }
}

/** The link in each node_modules folder of a checkout to the setup's (`node_modules/.datakit-ci`): see linkShared. */
const ALIAS = '.datakit-ci';

/**
 * A symbolic link at `dst` (`target`, reaching the shared folder `src`): 'in place' when there already,
 * 'fallback' when `dst` is a folder holding something else than links to `src`'s files (a tracked file, one
 * the job wrote: those are not removed, and the folder's products are linked file by file), 'linked' when
 * made now.
 */
function placeFolder(target: string, src: string, dst: string): 'linked' | 'in place' | 'fallback' {
  const st = fsSync.lstatSync(dst, { throwIfNoEntry: false });
  if (isLinkTo(st, dst, target)) { return 'in place'; }
  if (st?.isDirectory() && !onlyLinksTo(dst, src)) { return 'fallback'; }
  replaceWithLink(target, dst, st);
  return 'linked';
}

/** Whether `at` (whose lstat is `st`) is a symbolic link to `target`. */
function isLinkTo(st: fsSync.Stats | undefined, at: string, target: string): boolean {
  return st?.isSymbolicLink() === true && fsSync.readlinkSync(at) === target;
}

/** A symbolic link to the folder `target` at `at`, in place of what is there (`st`: its lstat). */
function replaceWithLink(target: string, at: string, st: fsSync.Stats | undefined): void {
  if (st) { fsSync.rmSync(at, { recursive: true, force: true }); }
  fsSync.mkdirSync(path.dirname(at), { recursive: true });
  fsSync.symlinkSync(target, at, 'dir');
}

/**
 * Links the shared package folders into `checkout`; returns those linked (not those left to be linked file by
 * file) and the paths placed. Each goes through a link beside it to the setup's node_modules folder it is in
 * (`node_modules/x -> .datakit-ci/x`, `node_modules/.datakit-ci -> <setup>/node_modules`): a symbolic link's
 * target of under 60 bytes is kept in its inode, a longer one (the absolute path) takes a 4 KiB block of its
 * own, as much as the folder it saves. The link is inside node_modules, so that a tool that follows links to
 * folders (remark walking `.`) sees the packages' files under node_modules, which it leaves out, and not under a
 * name of its own.
 */
function linkShared(products: SetupProducts, checkout: string): { shared: Set<string>; placed: string[]; linked: number; unshared: string[] } {
  const aliases = new Map<string, string>();
  const shared = new Set<string>();
  const placed: string[] = [];
  const unshared: string[] = [];
  let linked = 0;
  for (const folder of products.shared) {
    const parent = folder.slice(0, folder.lastIndexOf('node_modules/') + 'node_modules'.length);
    let alias = aliases.get(parent);
    if (alias === undefined) {
      alias = `${parent}/${ALIAS}`;
      aliases.set(parent, alias);
      const to = path.join(products.tree, parent);
      const at = path.join(checkout, alias);
      const st = fsSync.lstatSync(at, { throwIfNoEntry: false });
      if (!isLinkTo(st, at, to)) { replaceWithLink(to, at, st); }
      placed.push(alias);
    }
    const dst = path.join(checkout, folder);
    const target = path.relative(path.dirname(dst), path.join(checkout, alias, folder.slice(parent.length + 1)));
    const how = placeFolder(target, path.join(products.tree, folder), dst);
    if (how === 'fallback') {
      unshared.push(folder);
      continue;
    }
    shared.add(folder);
    placed.push(folder);
    if (how === 'linked') { linked++; }
  }
  return { shared, placed, linked, unshared };
}

/**
 * Puts the products in a job's checkout: a shared package folder as one symbolic link, the other files as
 * hard links (symbolic links are copied as links). When the checkout holds the products of another key,
 * those go first. When the same key's are in place, each is checked (by its link's target, or its inode: a
 * job may have removed or replaced some); otherwise each is linked at once, one system call a file, and
 * only a path already taken is looked at. `yieldEvery` lets other work run every so many files. `unshared`:
 * the shared folders linked file by file here, the checkout holding other files in them.
 */
export async function linkProducts(products: SetupProducts | undefined, checkout: string, options: { yieldEvery?: number } = {}): Promise<{ linked: number; removed: number; unshared?: string[] }> {
  const state = path.join(checkout, '.git', STATE_FILE);
  const previous = await unlessMissing(fs.readFile(state, 'utf8')) ?? '';
  const previousKey = previous === '' ? undefined : previous.split('\n')[0];
  let removed = 0;
  if (previousKey !== undefined && previousKey !== products?.key) {
    // The previous key's products: their paths were recorded with the key. The folders they leave empty go too.
    const folders = new Set<string>();
    for (const f of previous.split('\n').slice(1).filter((x) => x !== '')) {
      try { fsSync.unlinkSync(path.join(checkout, f)); removed++; } catch { /* already gone */ }
      for (let d = path.dirname(f); d !== '.' && d !== path.dirname(d); d = path.dirname(d)) { folders.add(d); }
    }
    for (const d of [...folders].sort((a, b) => b.length - a.length)) {
      try { fsSync.rmdirSync(path.join(checkout, d)); } catch { /* not empty: the checkout's own files, or the job's */ }
    }
    await fs.rm(state, { force: true });
  }
  if (!products) { return { linked: 0, removed }; }
  const inPlace = previousKey === products.key;
  let done = 0;
  /** What is placed: the shared folders' links and the other files, recorded for their removal. */
  const { shared, placed, linked: linkedShared, unshared } = linkShared(products, checkout);
  let linked = linkedShared;
  for (const f of products.files) {
    if (options.yieldEvery && ++done % options.yieldEvery === 0) { await new Promise((r) => setImmediate(r)); }
    if (shared.size > 0) {
      const folder = packageFolderOf(f);
      if (folder !== undefined && shared.has(folder)) { continue; }
    }
    placed.push(f);
    const src = path.join(products.tree, f);
    const dst = path.join(checkout, f);
    if (inPlace) {
      const srcStat = fsSync.lstatSync(src, { throwIfNoEntry: false });
      const dstStat = fsSync.lstatSync(dst, { throwIfNoEntry: false });
      if (!srcStat || (dstStat && dstStat.ino === srcStat.ino && dstStat.dev === srcStat.dev)) { continue; }
    }
    if (placeLink(src, dst, products.links.has(f))) { linked++; }
  }
  if (inPlace) { removed += dropOldLinks(previous, placed, checkout); }
  await fs.writeFile(state, [products.key, ...placed].join('\n'));
  return { linked, removed, ...(unshared.length > 0 ? { unshared } : {}) };
}
