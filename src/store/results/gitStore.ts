// The results repository: one branch per cache entry, each commit one saved result. GitStore is its one
// door; sharing, retention, history and snapshots live in files of their own, and it hands them its parts.
import fs = require('node:fs');
import path = require('node:path');
import { DataKitError } from '../../shared/errors';
import { checkName, checkRefPrefix, entryRefName } from '../git/names';
import { isUnreadableObject, ObjectStore, sweepTemporaryObjects } from '../git/objects';
import { ObjectCache } from '../git/objectCache';
import { runGit } from '../git/git';
import { Refs } from '../git/refLock';
import { deadWriters, forgetWriters } from '../git/tempWriters';
import { ensureBareRepo, findCommonDir, resultsDirOf } from './resultsRepo';
import { sweepTemporaryPacks } from './fetchGuard';
import { runningGcSince } from '../git/gcGuard';
import { GitStoreTransaction, type TransactionOptions } from './storeTransaction';
import { parseResultMessage } from '../../shared/resultCommit';
import type { CommitTimes, EntryInfo, EntrySnapshot, HistoryItem, SavedRef } from '../../shared/results';
import { LOG_FILE, REBUILD_FILE, Snapshot } from './entrySnapshot';
import { EntryHistory } from './history';
import { Retention, type GcOptions, type GcReport } from './retention';
import { Sharing } from './sharing';
import { Claims, type ClaimsOptions } from './claims';
import type { StoreContext } from './storeContext';
import type { ResultTrust, Verification } from './trust';

export { FAILURE_FILE, LOG_FILE, REBUILD_FILE } from './entrySnapshot';
export { objectBytes, type GcOptions, type GcReport } from './retention';
export { FETCHED_PREFIX, SHARED_PREFIX } from './sharing';

export interface GitStoreOptions {
  /** A directory of the user's repository: a work tree (or a subdirectory), a linked worktree, or a bare repository. */
  dir?: string;
  /** The results repository itself (created if missing); instead of `dir`. */
  resultsDir?: string;
  /** Where entry branches live; `refs/heads/` by default. */
  refPrefix?: string;
  /** How long a commit waits for a ref lock that someone else holds before failing with `RefLocked`. */
  lockTimeoutMs?: number;
  /** The clock for commit times, in ms since the epoch (tests inject one). */
  now?: () => number;
  /** Told of what the store repaired by itself (a stale ref lock removed, an unreadable head set aside…). */
  onWarning?: (message: string) => void;
  /**
   * false: never create the results repository (a read-only command): one that does not exist reads as
   * empty, and nothing can be saved in it.
   */
  create?: boolean;
  /**
   * false: the store starts no process, ever — for an untrusted workspace, where a crafted configuration of
   * the results repository could make a git command run code. Everything is read in this process (recent
   * builds too); push, fetch and gc refuse with `Untrusted`, and the repository is named by `resultsDir`
   * (finding it from `dir` asks git). Saves, which start no process, stay as `create` says.
   */
  processes?: boolean;
  /** Which fetched results may be adopted (signed by a trusted builder, or any); none: every one, unverified. */
  trust?: ResultTrust;
  /** Signs each result commit saved (an armoured SSH signature of the commit); none: unsigned. */
  signer?: (payload: Buffer) => Promise<string | undefined>;
}

export class GitStore {
  private readonly objects: ObjectStore;
  private readonly refs: Refs;
  private readonly now: () => number;
  private readonly onWarning?: (message: string) => void;
  private readonly readOnly: boolean;
  private readonly sharing: Sharing;
  private readonly retention: Retention;
  private readonly entryHistory: EntryHistory;
  private readonly trust: ResultTrust | undefined;
  private readonly ctx: StoreContext;

  private constructor(readonly dir: string, readonly refPrefix: string, options: GitStoreOptions) {
    this.onWarning = options.onWarning;
    this.readOnly = options.create === false;
    this.objects = new ObjectStore(dir);
    this.objects.signer = options.signer;
    this.objects.cache = new ObjectCache(dir, !this.readOnly, options.onWarning);
    this.trust = options.trust;
    this.refs = new Refs(dir, { lockTimeoutMs: options.lockTimeoutMs, onWarning: options.onWarning });
    this.now = options.now ?? Date.now;
    const ctx = this.context(options.processes !== false);
    this.ctx = ctx;
    this.sharing = new Sharing(ctx);
    this.retention = new Retention(ctx);
    this.entryHistory = new EntryHistory(ctx);
  }

  static async open(options: GitStoreOptions): Promise<GitStore> {
    const refPrefix = options.refPrefix ?? 'refs/heads/';
    checkRefPrefix(refPrefix);
    let dir: string;
    if (options.resultsDir !== undefined) {
      dir = path.resolve(options.resultsDir);
    } else if (options.dir !== undefined) {
      if (options.processes === false) {
        throw new DataKitError('Untrusted', `Finding the repository of ${options.dir} runs git, and this store may start no process: name the results repository (resultsDir).`);
      }
      dir = resultsDirOf(await findCommonDir(path.resolve(options.dir)));
    } else {
      throw new DataKitError('InvalidArgument', 'GitStore.open needs `dir` or `resultsDir`.');
    }
    if (options.create === false) {
      return new GitStore(dir, refPrefix, options);
    }
    await ensureBareRepo(dir);
    sweepNow(dir, options.onWarning);
    return new GitStore(dir, refPrefix, options);
  }

  /** What sharing, retention and history use of this store; the only way they run git. */
  private context(processes: boolean): StoreContext {
    const { dir } = this;
    const checkProcesses = (doing: string): void => {
      if (!processes) { throw new DataKitError('Untrusted', `Cannot ${doing}: the results repository ${dir} was opened to start no process (an untrusted workspace).`); }
    };
    return {
      dir, refPrefix: this.refPrefix, objects: this.objects, refs: this.refs, processes, onWarning: this.onWarning, trust: this.trust,
      refName: (builder, entry) => this.refName(builder, entry),
      listEntries: (builder, under) => this.listEntries(builder, under),
      checkProcesses,
      git: (doing, args, options = {}) => {
        checkProcesses(doing);
        return runGit([`--git-dir=${dir}`, ...args], { ...options, cwd: dir });
      },
    };
  }

  private checkWritable(): void {
    if (this.readOnly) { throw new DataKitError('InvalidArgument', `The results repository ${this.dir} was opened to read only.`); }
  }

  /** The branch of an entry; throws `InvalidRefName` for a name git would refuse. */
  refName(builder: string, entry: string): string {
    return entryRefName(this.refPrefix, builder, entry);
  }

  /** The entry's saved head: ours, else one fetched from a remote (made ours unless read-only; see Sharing.adopt). */
  async head(builder: string, entry: string): Promise<EntrySnapshot | undefined> {
    const ref = this.refName(builder, entry);
    const commit = await this.refs.resolve(ref) ?? await this.sharing.adopt(builder, entry, ref, this.readOnly);
    return commit === undefined ? undefined : this.snapshot(commit, ref);
  }

  /** The results fetched from remotes for an entry, `origin` first: `{ remote, commit }`. */
  fetchedHeads(builder: string, entry: string): Promise<{ remote: string; commit: string }[]> {
    return this.sharing.fetchedHeads(builder, entry);
  }

  /** What the signature of a fetched result commit says (see trust.ts); undefined when no policy is set. */
  async verification(commit: string): Promise<Verification | undefined> {
    return this.trust?.verify(this.objects, commit);
  }

  /** See Sharing.pushTo. */
  pushTo(remote: string, userConfig: string, options: { timeoutMs?: number } = {}): Promise<{ sent: number; upToDate: number; alreadyShared: number }> {
    return this.sharing.pushTo(remote, userConfig, options);
  }

  /** Claims of runners that share one commit's jobs on a remote (see claims.ts). */
  claims(options: ClaimsOptions): Claims {
    return new Claims(this.ctx, options);
  }

  /** See Sharing.fetchFrom. */
  fetchFrom(remote: string, userConfig: string, options: { timeoutMs?: number; claims?: boolean } = {}): Promise<{ results: number; changed: number }> {
    return this.sharing.fetchFrom(remote, userConfig, options);
  }

  /**
   * Before a build: removes a `<ref>.lock` that a crashed writer left on the entry's branch, so that the
   * build's result can be saved. Returns what was done, naming the file.
   */
  recoverLocks(builder: string, entry: string): string | undefined {
    return this.refs.removeStaleLock(this.refName(builder, entry));
  }

  snapshot(commit: string, ref = ''): EntrySnapshot {
    return new Snapshot(this.objects, commit, ref, this.dir);
  }

  /** Begins the entry's next commit; its author time is now (the build's start), its committer time the commit's. */
  begin(builder: string, entry: string, options: Pick<TransactionOptions, 'base'> = {}): GitStoreTransaction {
    this.checkWritable();
    return new GitStoreTransaction(this.objects, this.refs, this.refName(builder, entry), { ...options, now: this.now, onWarning: this.onWarning });
  }

  /** When the result of a commit started (author time) and finished (committer time), ms since the epoch. */
  async commitTimes(commit: string): Promise<CommitTimes> {
    const info = await this.objects.readCommit(commit);
    const m = parseResultMessage(info.message);
    return {
      started: info.authorTime, finished: info.time,
      ...(m.runMs !== undefined ? { runMs: m.runMs } : {}), ...(m.queuedMs !== undefined ? { queuedMs: m.queuedMs } : {}), ...(m.builtBy ? { builtBy: m.builtBy } : {}),
    };
  }

  /**
   * Commits an empty `rebuild-requested` on an existing entry, once per result (the seed's lazy rebuild): an
   * entry already marked keeps its head. Undefined (nothing written) if the entry has no branch.
   */
  async markForRebuild(builder: string, entry: string): Promise<string | undefined> {
    this.checkWritable();
    const ref = this.refName(builder, entry);
    const base = await this.refs.resolve(ref);
    if (base === undefined) {
      return undefined;
    }
    if (await this.isMarked(base, ref)) {
      return base;
    }
    const tx = new GitStoreTransaction(this.objects, this.refs, ref, { base, now: this.now, onWarning: this.onWarning });
    await tx.writeFile(REBUILD_FILE, '');
    return tx.commit('Marked for rebuild');
  }

  /** Whether the head is marked for rebuild; a head that cannot be read is not (the mark's commit sets it aside). */
  private async isMarked(head: string, ref: string): Promise<boolean> {
    try {
      return await this.snapshot(head, ref).exists(REBUILD_FILE);
    } catch (e) {
      if (isUnreadableObject(e)) { return false; }
      throw e;
    }
  }

  /** The build log saved in a commit. */
  async readLog(saved: SavedRef): Promise<string> {
    return Buffer.from(await this.readLogBytes(saved)).toString('utf8');
  }

  /** The build log saved in a commit, as its UTF-8 bytes (to hand to a worker without decoding it here). */
  readLogBytes(saved: SavedRef): Promise<Uint8Array> {
    return this.snapshot(saved.commit).readFile(LOG_FILE);
  }

  /** The entry's commits, newest first (first parents from the head), up to the first that cannot be read. */
  history(builder: string, entry: string, options: { limit?: number } = {}): Promise<HistoryItem[]> {
    return this.entryHistory.history(builder, entry, options);
  }

  /** See EntryHistory.recentBuilds. */
  recentBuilds(builder: string, under: string, limit: number): Promise<(HistoryItem & { readonly entry: string })[]> {
    return this.entryHistory.recentBuilds(builder, under, limit);
  }

  /** See Retention.gc. */
  gc(builder: string, options: GcOptions): Promise<GcReport> {
    return this.retention.gc(builder, options);
  }

  /** Every entry (of one builder, if given; whose name starts with `under`, if given), sorted by ref. */
  async listEntries(builder?: string, under = ''): Promise<EntryInfo[]> {
    if (builder !== undefined) {
      checkName('builder', builder);
    }
    const refs = await this.refs.list(builder === undefined ? this.refPrefix : `${this.refPrefix}${builder}/${under}`);
    const entries: EntryInfo[] = [];
    for (const [ref, commit] of refs) {
      const rest = ref.slice(this.refPrefix.length);
      const slash = rest.indexOf('/');
      if (slash > 0) {
        entries.push({ builder: rest.slice(0, slash), entry: rest.slice(slash + 1), ref, commit });
      }
    }
    return entries.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
  }
}

/** How often an opened store looks for temporary object files that interrupted writes left behind. */
const SWEEP_EVERY_MS = 60 * 60 * 1000;

/**
 * At most hourly (a stamp file says when it last ran): temp objects in the background, never on a command's
 * path, and temp packs; at once when a process that wrote objects here died without saying so (kill -9),
 * which may have left its temporary files.
 */
function sweepNow(dir: string, onWarning?: (message: string) => void): void {
  const stamp = path.join(dir, 'info', 'last-sweep');
  let due = true;
  try {
    due = Date.now() - fs.statSync(stamp).mtimeMs > SWEEP_EVERY_MS;
  } catch {
    // never swept (or the stamp cannot be read: then sweeping is due too)
  }
  const dead = deadWriters(dir);
  if (!due && dead.length === 0) { return; }
  try {
    fs.mkdirSync(path.dirname(stamp), { recursive: true });
    fs.writeFileSync(stamp, '');
  } catch {
    return; // read-only (or full): nothing to sweep either, and opening to read must not fail for it
  }
  void sweepTemporaryObjects(path.join(dir, 'objects')).then(
    (n) => {
      forgetWriters(dead);
      if (n > 0) { onWarning?.(`Removed ${n} temporary object file${n === 1 ? '' : 's'} that interrupted writes left in ${dir}`); }
    },
    (e: unknown) => { onWarning?.(`Could not sweep the temporary object files of ${dir}: ${(e as Error).message}`); });
  // A killed fetch's temp pack (tens of MiB) stayed until a gc; now it goes like a temp object.
  try {
    const packs = sweepTemporaryPacks(dir, () => runningGcSince(dir) !== undefined);
    if (packs.files > 0) { onWarning?.(`Removed ${packs.files} temporary pack file${packs.files === 1 ? '' : 's'} (${(packs.bytes / 1024 / 1024).toFixed(1)} MiB) that interrupted fetches or repacks left in ${dir}`); }
  } catch (e) {
    onWarning?.(`Could not sweep the temporary pack files of ${dir}: ${(e as Error).message}`);
  }
}
