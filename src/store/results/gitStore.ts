// The results repository: one branch per cache entry, each commit one saved result.
import fs = require('node:fs');
import path = require('node:path');
import { DataKitError } from '../../shared/errors';
import { checkName, checkRefPrefix, entryRefName, splitTreePath } from '../git/names';
import type { Tree, TreeEntry } from '../git/objectFormat';
import { ObjectStore, sweepTemporaryObjects } from '../git/objects';
import { runGit } from '../git/git';
import { Refs } from '../git/refLock';
import { ensureBareRepo, findCommonDir, resultsDirOf } from './resultsRepo';
import { removeDeadGcLocks } from './staleLocks';
import { GitStoreTransaction, type TransactionOptions } from './storeTransaction';
import { parseResultMessage } from '../../shared/resultCommit';
import type { CommitTimes, EntryInfo, EntrySnapshot, HistoryItem, SavedRef } from '../../shared/results';

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
}

export const REBUILD_FILE = 'rebuild-requested';
export const FAILURE_FILE = 'failure';
export const LOG_FILE = 'log';

export class GitStore {
  private readonly objects: ObjectStore;
  private readonly refs: Refs;

  private readonly now: () => number;
  private readonly onWarning?: (message: string) => void;
  private readonly readOnly: boolean;
  /** Fetched results found unreadable, already said. */
  private readonly unreadableFetched = new Set<string>();

  private constructor(readonly dir: string, readonly refPrefix: string, options: GitStoreOptions) {
    this.onWarning = options.onWarning;
    this.readOnly = options.create === false;
    this.objects = new ObjectStore(dir);
    this.refs = new Refs(dir, { lockTimeoutMs: options.lockTimeoutMs, onWarning: options.onWarning });
    this.now = options.now ?? Date.now;
  }

  static async open(options: GitStoreOptions): Promise<GitStore> {
    const refPrefix = options.refPrefix ?? 'refs/heads/';
    checkRefPrefix(refPrefix);
    let dir: string;
    if (options.resultsDir !== undefined) {
      dir = path.resolve(options.resultsDir);
    } else if (options.dir !== undefined) {
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

  private checkWritable(): void {
    if (this.readOnly) { throw new DataKitError('InvalidArgument', `The results repository ${this.dir} was opened to read only.`); }
  }

  /** The branch of an entry; throws `InvalidRefName` for a name git would refuse. */
  refName(builder: string, entry: string): string {
    return entryRefName(this.refPrefix, builder, entry);
  }

  async head(builder: string, entry: string): Promise<EntrySnapshot | undefined> {
    const ref = this.refName(builder, entry);
    const commit = await this.refs.resolve(ref) ?? await this.adopt(builder, entry, ref);
    return commit === undefined ? undefined : this.snapshot(commit, ref);
  }

  /**
   * No result of ours: one fetched from a remote (`refs/fetched/<remote>/<builder>/<entry>`, origin first),
   * made ours (the entry's branch now points at it, so a rebuild continues its history). Undefined if none.
   */
  private async adopt(builder: string, entry: string, ref: string): Promise<string | undefined> {
    const fetched = await this.fetchedHeads(builder, entry);
    if (fetched.length === 0) { return undefined; }
    const [first] = fetched;
    try {
      await this.objects.readCommit(first!.commit);
    } catch (e) {
      const said = `${first!.remote} ${builder}/${entry} ${first!.commit}`;
      if (!this.unreadableFetched.has(said)) { // said once, however often it is looked up
        this.unreadableFetched.add(said);
        this.onWarning?.(`The result fetched from ${first!.remote} for ${builder}/${entry} cannot be read (${(e as Error).message}): it is not used`);
      }
      return undefined;
    }
    // Read-only (`status`, `log`): shown as it is, not made ours.
    if (this.readOnly) { return first!.commit; }
    // Another process may adopt or save at the same moment: whatever the branch holds then wins.
    return await this.refs.compareAndSwap(ref, undefined, first!.commit) ?? await this.refs.resolve(ref);
  }

  /** The results fetched from remotes for an entry, `origin` first: `{ remote, commit }`. */
  async fetchedHeads(builder: string, entry: string): Promise<{ remote: string; commit: string }[]> {
    checkName('builder', builder);
    const remotes = await this.fetchedRemotes();
    const out: { remote: string; commit: string }[] = [];
    for (const remote of remotes) {
      const commit = await this.refs.resolve(`${FETCHED_PREFIX}${remote}/${builder}/${entry}`);
      if (commit !== undefined) { out.push({ remote, commit }); }
    }
    return out.sort((a, b) => (a.remote === 'origin' ? -1 : b.remote === 'origin' ? 1 : a.remote < b.remote ? -1 : 1));
  }

  /**
   * The remotes fetched from: folders under refs/fetched, and packed refs there. Read again only when that
   * folder or packed-refs changed: every row of a tree asks.
   */
  private async fetchedRemotes(): Promise<ReadonlySet<string>> {
    const dir = path.join(this.dir, ...FETCHED_PREFIX.split('/').filter(Boolean));
    const mtime = (await fs.promises.stat(dir).catch(() => undefined))?.mtimeMs ?? -1;
    const packed = await this.refs.packed(); // the same map while packed-refs is unchanged
    const known = this.remotesMemo;
    if (known && known.mtime === mtime && known.packed === packed) { return known.remotes; }
    const remotes = new Set(mtime < 0 ? [] : await fs.promises.readdir(dir).catch(() => [] as string[]));
    for (const r of packed.keys()) {
      if (r.startsWith(FETCHED_PREFIX)) { remotes.add(r.slice(FETCHED_PREFIX.length).split('/')[0]!); }
    }
    this.remotesMemo = { mtime, packed, remotes };
    return remotes;
  }

  private remotesMemo: { mtime: number; packed: ReadonlyMap<string, string>; remotes: ReadonlySet<string> } | undefined;

  /**
   * Sends every result to `remote` under `refs/datakit-ci/<builder>/<entry>`, through git with the user's
   * repository's configuration (`userConfig`: its remotes, `insteadOf`, credentials and SSH settings; never
   * its hooks). A result the remote already has from another machine is left as it is (not forced).
   */
  async pushTo(remote: string, userConfig: string, options: { timeoutMs?: number } = {}): Promise<{ sent: number; upToDate: number; alreadyShared: number }> {
    checkRemoteName(remote);
    const r = await runGit([`--git-dir=${this.dir}`, '-c', `include.path=${userConfig}`, '-c', 'core.hooksPath=/dev/null', '-c', 'core.bare=true',
      'push', '--porcelain', '--no-verify', remote, `${this.refPrefix}*:${SHARED_PREFIX}*`], { cwd: this.dir, allowFailure: true, timeoutMs: options.timeoutMs ?? REMOTE_TIMEOUT_MS, env: { GIT_TERMINAL_PROMPT: '0' } });
    const lines = r.stdout.toString('utf8').split('\n').filter((l) => /^[ +\-*!=]\t/.test(l));
    const count = (flags: string) => lines.filter((l) => flags.includes(l[0]!)).length;
    const rejected = lines.filter((l) => l.startsWith('!'));
    let other = rejected.filter((l) => !/\((non-fast-forward|fetch first|already exists)\)$/.test(l));
    if (other.length > 0) {
      // Another machine may have pushed the same key a moment before (the remote could not lock the ref, or
      // found it created): what the remote holds now says whether it is shared.
      const dst = other.map((l) => l.split('\t')[1]!.split(':')[1]!);
      const there = await runGit([`--git-dir=${this.dir}`, '-c', `include.path=${userConfig}`, 'ls-remote', remote, ...dst], { cwd: this.dir, allowFailure: true, timeoutMs: options.timeoutMs ?? REMOTE_TIMEOUT_MS, env: { GIT_TERMINAL_PROMPT: '0' } });
      const present = new Set(there.code === 0 ? there.stdout.toString('utf8').split('\n').map((l) => l.split('\t')[1]).filter(Boolean) : []);
      other = other.filter((l) => !present.has(l.split('\t')[1]!.split(':')[1]!));
    }
    if ((r.code !== 0 && lines.length === 0) || other.length > 0) {
      throw new DataKitError('RemoteFailed', `Could not push the results to ${remote}: ${remoteError(r.stderr) || other.join('; ')}`);
    }
    return { sent: count(' +*'), upToDate: count('='), alreadyShared: rejected.length };
  }

  /**
   * Brings the results of `remote` (its `refs/datakit-ci/*`) into `refs/fetched/<remote>/`, a namespace no
   * build writes: a lookup that has no result of its own takes one from there (see `adopt`).
   */
  async fetchFrom(remote: string, userConfig: string, options: { timeoutMs?: number } = {}): Promise<{ results: number; changed: number }> {
    checkRemoteName(remote);
    const before = await this.refs.list(`${FETCHED_PREFIX}${remote}/`);
    const r = await runGit([`--git-dir=${this.dir}`, '-c', `include.path=${userConfig}`, '-c', 'core.hooksPath=/dev/null', '-c', 'core.bare=true',
      'fetch', '--no-tags', '--prune', '--quiet', remote, `+${SHARED_PREFIX}*:${FETCHED_PREFIX}${remote}/*`], { cwd: this.dir, allowFailure: true, timeoutMs: options.timeoutMs ?? REMOTE_TIMEOUT_MS, env: { GIT_TERMINAL_PROMPT: '0' } });
    if (r.code !== 0) { throw new DataKitError('RemoteFailed', `Could not fetch the results of ${remote}: ${remoteError(r.stderr)}`); }
    const after = await this.refs.list(`${FETCHED_PREFIX}${remote}/`);
    let changed = 0;
    for (const [ref, c] of after) { if (before.get(ref) !== c) { changed++; } }
    return { results: after.size, changed };
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
    if (await this.snapshot(base, ref).exists(REBUILD_FILE).catch(() => false)) {
      return base;
    }
    const tx = new GitStoreTransaction(this.objects, this.refs, ref, { base, now: this.now, onWarning: this.onWarning });
    await tx.writeFile(REBUILD_FILE, '');
    return tx.commit('Marked for rebuild');
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
  async history(builder: string, entry: string, options: { limit?: number } = {}): Promise<HistoryItem[]> {
    const limit = options.limit ?? Infinity;
    const items: HistoryItem[] = [];
    let commit = await this.refs.resolve(this.refName(builder, entry));
    while (commit !== undefined && items.length < limit) {
      let info: Awaited<ReturnType<ObjectStore['readCommit']>>;
      let tree: Tree;
      try {
        info = await this.objects.readCommit(commit);
        tree = await this.objects.readTree(info.tree);
      } catch (e) {
        if (DataKitError.is(e, 'ObjectMissing') || DataKitError.is(e, 'CorruptObject')) { break; }
        throw e;
      }
      const m = parseResultMessage(info.message);
      const base = { commit, message: m.subject, trailers: m.trailers, time: info.time, started: info.authorTime };
      const failure = tree.get(FAILURE_FILE);
      if (tree.has(REBUILD_FILE)) {
        items.push({ ...base, result: 'rebuild' });
      } else if (failure) {
        // The whole message from the tree; its reason from the commit's message.
        const text = (await this.objects.read(failure.oid)).content.toString('utf8');
        items.push({ ...base, result: 'failure', reason: m.reason ?? 'failed', failure: text });
      } else {
        items.push({ ...base, result: 'success' });
      }
      commit = info.parents[0];
    }
    return items;
  }

  /**
   * The most recent builds of every entry of `builder` whose name starts with `under` (e.g. `lint/`: every
   * key of the job), newest first, rebuild marks left out: the branches' histories merged by commit time,
   * reading only as many commits as it returns plus one head per entry. Each build's result is read from
   * its message's subject (`…: passed`, `…: failed…`, `Cached failure: …`), not from its tree.
   */
  async recentBuilds(builder: string, under: string, limit: number): Promise<(HistoryItem & { readonly entry: string })[]> {
    checkName('builder', builder);
    if (/[*?[\\\s]/.test(under)) { throw new DataKitError('InvalidArgument', `Not an entry prefix: ${under}`); }
    // git merges the branches' histories by date in one pass over the packs (6 ms among 10,000 results, where
    // reading each entry's head here took 750 ms); a results repository git cannot read is read here instead.
    const prefix = `${this.refPrefix}${builder}/`;
    const r = await runGit([`--git-dir=${this.dir}`, 'log', '--date-order', '--source', '-z', `--max-count=${limit}`,
      '--invert-grep', '--grep=^Marked for rebuild$', '--format=%H%x00%S%x00%at%x00%ct%x00%B', `--glob=${prefix}${under}*`, '--'], { cwd: this.dir, allowFailure: true });
    if (r.code === 0) {
      const fields = r.stdout.toString('utf8').split('\0');
      const out: (HistoryItem & { entry: string })[] = [];
      for (let i = 0; i + 4 < fields.length; i += 5) {
        const [commit, ref, at, ct, body] = fields.slice(i, i + 5) as [string, string, string, string, string];
        const item = historyItem(commit.replace(/^\n/, ''), body, Number(at) * 1000, Number(ct) * 1000);
        if (item.result === 'rebuild' || !ref.startsWith(prefix)) { continue; }
        out.push({ entry: ref.slice(prefix.length), ...item });
      }
      return out;
    }
    return this.recentBuildsHere(builder, under, limit);
  }

  /** `recentBuilds` with this process's own object reader. */
  private async recentBuildsHere(builder: string, under: string, limit: number): Promise<(HistoryItem & { readonly entry: string })[]> {
    const entries = await this.listEntries(builder, under);
    type Next = { entry: string; commit: string; info: Awaited<ReturnType<ObjectStore['readCommit']>> };
    const heads: Next[] = [];
    const read = async (entry: string, commit: string | undefined): Promise<Next | undefined> => {
      if (commit === undefined) { return undefined; }
      try {
        return { entry, commit, info: await this.objects.readCommit(commit) };
      } catch (e) {
        if (DataKitError.is(e, 'ObjectMissing') || DataKitError.is(e, 'CorruptObject')) { return undefined; } // as history(): stop there
        throw e;
      }
    };
    for (const e of entries) {
      const h = await read(e.entry, e.commit);
      if (h) { heads.push(h); }
    }
    const out: (HistoryItem & { entry: string })[] = [];
    // Few entries have more than one build: a sorted array, re-sorted on each insertion, is enough.
    heads.sort((a, b) => b.info.time - a.info.time);
    while (out.length < limit && heads.length > 0) {
      const top = heads.shift()!;
      const item = historyItem(top.commit, top.info.message, top.info.authorTime, top.info.time);
      if (item.result !== 'rebuild') { out.push({ entry: top.entry, ...item }); }
      const parent = await read(top.entry, top.info.parents[0]);
      if (parent) {
        const at = heads.findIndex((h) => h.info.time < parent.info.time);
        heads.splice(at < 0 ? heads.length : at, 0, parent);
      }
    }
    return out;
  }

  /**
   * Retention: removes the entries of `builder` that are neither kept (`keep`: the current targets' keys)
   * nor younger than `maxAgeMs`, trims every other entry's history to its last `keepBuilds` commits, then
   * has git prune and repack; with `maxBytes`, removes the oldest remaining entries that are not kept until
   * the objects fit. An entry `busy` says is being written (a build's lock) is left whole. Results are
   * removed by moving their refs with the old value checked (an entry saved meanwhile stays), and pruned
   * objects that a concurrent save still needs are written again by that save (see gcGuard.ts).
   */
  async gc(builder: string, options: GcOptions): Promise<GcReport> {
    checkName('builder', builder);
    const now = options.now ?? Date.now();
    const bytesBefore = objectBytes(this.dir);
    const entries = await this.listEntries(builder);
    const heads: { entry: string; ref: string; commit: string; time: number }[] = [];
    for (const e of entries) {
      let time = 0; // unreadable: as old as can be
      try { time = (await this.objects.readCommit(e.commit)).time; } catch { /* removed below unless kept */ }
      heads.push({ entry: e.entry, ref: this.refName(builder, e.entry), commit: e.commit, time });
    }
    const report: GcReport = { entries: heads.length, removed: 0, trimmed: 0, commitsDropped: 0, busy: 0, bytesBefore, bytesAfter: bytesBefore, overCap: false };
    const busy = new Set<string>();
    for (const h of heads) { if (await options.busy(h.entry)) { busy.add(h.entry); } }
    report.busy = busy.size;
    const removable = (h: (typeof heads)[number]): boolean => !busy.has(h.entry) && !options.keep(h.entry);
    const old = heads.filter((h) => removable(h) && now - h.time > options.maxAgeMs);
    report.removed += await this.deleteRefs(old);
    const gone = new Set(old.map((h) => h.entry));
    for (const h of heads) {
      if (gone.has(h.entry) || busy.has(h.entry)) { continue; }
      const dropped = await this.trimHistory(h.ref, h.commit, options.keepBuilds);
      if (dropped > 0) { report.trimmed++; report.commitsDropped += dropped; }
    }
    await this.repack();
    report.bytesAfter = objectBytes(this.dir);
    if (options.maxBytes !== undefined) {
      // Oldest first, a tenth at a time, until the objects fit or only kept (or busy) results are left.
      const rest = heads.filter((h) => !gone.has(h.entry) && removable(h)).sort((a, b) => a.time - b.time);
      while (report.bytesAfter > options.maxBytes && rest.length > 0) {
        const batch = rest.splice(0, Math.max(1, Math.ceil(rest.length / 10)));
        report.removed += await this.deleteRefs(batch);
        await this.repack();
        report.bytesAfter = objectBytes(this.dir);
      }
      report.overCap = report.bytesAfter > options.maxBytes;
    }
    return report;
  }

  /** Deletes refs that still hold the given commits (one transaction; one at a time if one moved). */
  private async deleteRefs(heads: readonly { ref: string; commit: string }[]): Promise<number> {
    if (heads.length === 0) { return 0; }
    const git = (input: string) => runGit([`--git-dir=${this.dir}`, 'update-ref', '--stdin'], { cwd: this.dir, input, allowFailure: true });
    const all = await git(heads.map((h) => `delete ${h.ref} ${h.commit}\n`).join(''));
    if (all.code === 0) { return heads.length; }
    let n = 0;
    for (const h of heads) { if ((await git(`delete ${h.ref} ${h.commit}\n`)).code === 0) { n++; } } // one saved meanwhile stays
    return n;
  }

  /**
   * Keeps the last `keep` commits of an entry's history: the kept ones are written again on a new root (same
   * trees, messages and times), and the ref moves only if it still holds `head`. Returns how many commits
   * were dropped.
   */
  private async trimHistory(ref: string, head: string, keep: number): Promise<number> {
    const chain: { commit: string; info: Awaited<ReturnType<ObjectStore['readCommit']>> }[] = [];
    let total = 0;
    for (let c: string | undefined = head; c !== undefined;) {
      let info: Awaited<ReturnType<ObjectStore['readCommit']>>;
      try { info = await this.objects.readCommit(c); } catch { break; } // history ends where it cannot be read
      total++;
      if (chain.length < keep) { chain.push({ commit: c, info }); }
      if (total > keep) { break; }
      c = info.parents[0];
    }
    if (total <= keep) { return 0; }
    let parent: string | undefined;
    for (const { info } of chain.reverse()) {
      parent = await this.objects.writeCommit(info.tree, parent ? [parent] : [], info.message, new Date(info.authorTime), new Date(info.time));
    }
    const moved = await this.refs.compareAndSwap(ref, head, parent!);
    if (moved === undefined) { return 0; } // saved meanwhile: trimmed next time
    const count = await runGit([`--git-dir=${this.dir}`, 'rev-list', '--count', '--first-parent', head], { cwd: this.dir, allowFailure: true });
    return count.code === 0 ? Number(count.stdout.toString('utf8').trim()) - keep : total - keep;
  }

  /** git prunes what no ref reaches and packs the rest (`gc.pid` tells concurrent saves; see gcGuard.ts). */
  private async repack(): Promise<void> {
    const dead = await removeDeadGcLocks(this.dir);
    if (dead) { this.onWarning?.(`Removed ${dead.removed.join(', ')} from ${this.dir}: git gc (pid ${dead.pid}) was stopped before it ended and left ${dead.removed.length === 1 ? 'it' : 'them'}`); }
    const r = await runGit([`--git-dir=${this.dir}`, '-c', 'gc.autoDetach=false', '-c', 'gc.reflogExpire=now', '-c', 'gc.reflogExpireUnreachable=now', 'gc', '--prune=now', '--quiet'], { cwd: this.dir, allowFailure: true });
    if (r.code === 0) { return; }
    const running = /gc is already running on machine '([^']*)' pid (\d+)/.exec(r.stderr);
    throw new DataKitError('GitFailed', running
      ? `Another git gc is running on this results repository (${running[1]}, pid ${running[2]}): the results were removed; run gc again once it has ended to reclaim their space`
      : `git gc failed on the results repository: ${r.stderr.trim()}`);
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

/** A build as its commit's message says it (the failure's first line from the subject). */
function historyItem(commit: string, message: string, started: number, time: number): HistoryItem {
  const m = parseResultMessage(message);
  return {
    commit, message: m.subject, trailers: m.trailers, time, started, result: m.result,
    ...(m.result === 'failure' ? { reason: m.reason, failure: m.failure } : {}),
  };
}

export interface GcOptions {
  /** Entries never removed (the current targets' keys): their history is only trimmed. */
  keep(entry: string): boolean;
  /** Whether an entry is being written now (a build holds its lock): it is left whole. */
  busy(entry: string): Promise<boolean>;
  maxAgeMs: number;
  keepBuilds: number;
  maxBytes?: number;
  now?: number;
}

export interface GcReport {
  entries: number;
  removed: number;
  trimmed: number;
  commitsDropped: number;
  busy: number;
  bytesBefore: number;
  bytesAfter: number;
  /** Still over `maxBytes` with only kept or busy results left. */
  overCap: boolean;
}

/** The bytes of a git directory's objects (loose and packed). */
export function objectBytes(gitDir: string): number {
  let total = 0;
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) { walk(p); } else if (e.isFile()) { try { total += fs.statSync(p).size; } catch { /* gone meanwhile */ } }
    }
  };
  try { walk(path.join(gitDir, 'objects')); } catch { /* no objects yet */ }
  return total;
}

/** Where results are shared on a remote, and where those fetched from a remote are kept here. */
export const SHARED_PREFIX = 'refs/datakit-ci/';
export const FETCHED_PREFIX = 'refs/fetched/';
/** How long a push or fetch may go without finishing. */
const REMOTE_TIMEOUT_MS = 120_000;

function checkRemoteName(remote: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(remote) || remote.includes('..')) {
    throw new DataKitError('InvalidArgument', `Not a remote name: ${JSON.stringify(remote)}`);
  }
}

/** git's own words on a failed push or fetch, without its `fatal:` prefixes. */
function remoteError(stderr: string): string {
  return stderr.split('\n').map((l) => l.replace(/^(fatal|error): /, '').trim()).filter((l) => l && !/^To |^hint: /.test(l)).slice(0, 4).join('; ');
}

/** How often an opened store looks for temporary object files that interrupted writes left behind. */
const SWEEP_EVERY_MS = 60 * 60 * 1000;

/** At most hourly (a stamp file says when it last ran), in the background: never on a command's path. */
function sweepNow(dir: string, onWarning?: (message: string) => void): void {
  const stamp = path.join(dir, 'info', 'last-sweep');
  let due = true;
  try {
    due = Date.now() - fs.statSync(stamp).mtimeMs > SWEEP_EVERY_MS;
  } catch {
    // never swept
  }
  if (!due) { return; }
  try {
    fs.mkdirSync(path.dirname(stamp), { recursive: true });
    fs.writeFileSync(stamp, '');
  } catch {
    return; // read-only: nothing to sweep either
  }
  void sweepTemporaryObjects(path.join(dir, 'objects')).then(
    (n) => { if (n > 0) { onWarning?.(`Removed ${n} temporary object file${n === 1 ? '' : 's'} that interrupted writes left in ${dir}`); } },
    () => undefined);
}

class Snapshot implements EntrySnapshot {
  constructor(private readonly objects: ObjectStore, readonly commit: string, readonly ref: string, private readonly repo: string) {}

  async message(): Promise<string> {
    return (await this.objects.readCommit(this.commit)).message;
  }

  async verify(): Promise<void> {
    await this.objects.verify(this.commit);
    const walk = async (treeOid: string): Promise<void> => {
      await this.objects.verify(treeOid);
      for (const e of (await this.objects.readTree(treeOid)).values()) {
        if (e.type === 'tree') {
          await walk(e.oid);
        } else if (e.type === 'blob') {
          await this.objects.verify(e.oid);
        }
      }
    };
    await walk((await this.objects.readCommit(this.commit)).tree);
  }

  async readFile(file: string): Promise<Uint8Array> {
    const e = await this.find(file);
    if (!e || e.type !== 'blob') {
      throw new DataKitError('NotFound', `${file} ${e ? 'is a directory' : 'does not exist'} in commit ${this.commit}${this.ref ? ` of ${this.ref}` : ''} in ${this.repo}.`);
    }
    return (await this.objects.read(e.oid)).content;
  }

  async exists(file: string): Promise<boolean> {
    return (await this.find(file)) !== undefined;
  }

  async paths(): Promise<string[]> {
    return (await this.files()).map((f) => f.path);
  }

  async files(): Promise<{ path: string; mode: string }[]> {
    const out: { path: string; mode: string }[] = [];
    const walk = async (tree: Tree, prefix: string): Promise<void> => {
      for (const [name, e] of tree) {
        if (e.type === 'tree') {
          await walk(await this.objects.readTree(e.oid), `${prefix}${name}/`);
        } else {
          out.push({ path: `${prefix}${name}`, mode: e.mode });
        }
      }
    };
    await walk(await this.root(), '');
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  private async root(): Promise<Tree> {
    return this.objects.readTree((await this.objects.readCommit(this.commit)).tree);
  }

  private async find(file: string): Promise<TreeEntry | undefined> {
    const parts = splitTreePath(file);
    let tree = await this.root();
    for (let i = 0; ; i++) {
      const e = tree.get(parts[i]);
      if (!e || i === parts.length - 1) {
        return e;
      }
      if (e.type !== 'tree') {
        return undefined;
      }
      tree = await this.objects.readTree(e.oid);
    }
  }
}
