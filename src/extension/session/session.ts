// One session per git repository among the workspace folders: its targets (HEAD first, the working tree
// above it when it differs) with their jobs, and the builds asked of them. What watches the repository is in
// watchers.ts, what shares and tidies its results in sharing.ts; a job's status is read from the cache.
import * as fs from 'fs';
import * as path from 'path';
import type * as vscode from 'vscode';
import { Emitter, type Disposable } from '../../shared/events';
import { DataKitError } from '../../shared/errors';
import { plain } from '../../shared/format';
import { CONFIG_FILE } from '../../jobs/config/config';
import { keyWarnings, type InputWarning, type JobKey } from '../../jobs/keys/key';
import { readWorkingConfig, type JobsAt, type JobStatus, type RepoJobs, type WorktreeState } from '../../jobs/repoJobs';
import { suggestJobs, type Suggestions } from '../../jobs/suggest/suggest';
import type { BranchInfo, Target } from '../../jobs/targets';
import { isRunning, JobView, jobState, keepUnchanged, WORKTREE_TARGET, type SessionChange, type SessionHost, type SessionOptions, type TargetView } from './model';
import { FirstBuild } from './firstBuild';
import { SessionSharing } from './sharing';
import { SessionWatchers } from './watchers';

export { JobView, WORKTREE_TARGET, type SessionChange, type SessionOptions, type TargetView } from './model';


export class Session implements Disposable, SessionHost {
  private readonly _onDidChange = new Emitter<SessionChange>();
  readonly onDidChange = this._onDidChange.event;
  targets: TargetView[] = [];
  /** With the `branch` targets: what the commits were counted against, and how many the branch has. */
  branch: BranchInfo | undefined;
  /**
   * With the `branch` targets: the commit before the oldest shown (where the branch left its base) and its
   * jobs, whose saved results say whether a job failing on the branch broke there or was failing already.
   */
  base: { readonly commit: string; readonly jobs: readonly JobView[] } | undefined;
  /** What HEAD's keys say about inputs that match nothing (for the Problems panel). */
  inputWarnings: InputWarning[] = [];
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  disposed = false;
  /** Whether the targets were read once (the first reading is told even when there are none). */
  private loaded = false;
  /** The working tree's changes as last read. */
  private worktreeState: WorktreeState | undefined;
  /** The key of each job's last working-tree build (a newer one cancels it). */
  private readonly worktreeBuilds = new Map<string, JobKey>();
  /** The last result of each HEAD job, by job name, across HEAD moves: a failure is told when it passed before. */
  private readonly headResults = new Map<string, 'success' | 'failure'>();
  /**
   * The HEAD jobs whose last build, seen finishing here, turned a pass into a failure: job name → the key it
   * failed for. Its next build (a rebuild, a new key) ends it, whatever its result.
   */
  private readonly newlyFailed = new Map<string, string>();
  /** The keys seen pending, to tell a build that finished from a result read. */
  private readonly pending = new Set<string>();
  readonly sharing: SessionSharing;
  private readonly watchers: SessionWatchers;
  /** Whether the first automatic build of a repository never built may run (it asks). */
  readonly firstBuild: FirstBuild;
  private readonly subscription: Disposable;
  /** The last refusal to read the working copy's configuration (see configEdited). */
  private configRefusal: string | undefined;

  constructor(readonly jobs: RepoJobs, readonly options: SessionOptions) {
    this.sharing = new SessionSharing(this, options);
    this.firstBuild = new FirstBuild(jobs, options);
    this.watchers = new SessionWatchers(this, options);
    this.subscription = jobs.onDidChange((change) => this.onStatus(change.key, change.status));
  }

  get folder(): vscode.Uri { return this.options.folder; }

  get dirs(): RepoJobs['dirs'] { return this.jobs.dirs; }

  /** The repository's name as shown in the tree: a folder's name, its control characters neutralised. */
  get name(): string {
    return plain(path.basename(this.dirs.topLevel ?? this.dirs.gitDir));
  }

  /** An opaque id for URIs: the results repository stands for the session. */
  get id(): string {
    return this.jobs.id;
  }

  get head(): TargetView | undefined {
    return this.targets.find((t) => t.target.isHead);
  }

  /** The working tree's target, if shown. */
  get worktree(): TargetView | undefined {
    return this.targets.find((t) => t.target.worktree);
  }

  /** The working tree's changes from HEAD, as last read. */
  get worktreeChanges(): WorktreeState | undefined {
    return this.worktreeState;
  }

  /** Every job view of a key, whatever target shows it. */
  viewsOfKey(digest: string): JobView[] {
    return this.targets.flatMap((t) => t.jobs.filter((j) => j.key.digest === digest));
  }

  private onStatus(key: JobKey, status: JobStatus | undefined): void {
    const views = this.viewsOfKey(key.digest);
    const finished = this.pending.has(key.digest) && status?.result.kind !== 'pending';
    if (status?.result.kind === 'pending') { this.pending.add(key.digest); } else { this.pending.delete(key.digest); }
    if (views.length === 0) { return; }
    const head = this.head;
    for (const j of head?.jobs ?? []) {
      if (j.key.digest !== key.digest) { continue; }
      // Told only when a job that passed fails (on this commit or the one HEAD was at before).
      const before = this.headResults.get(j.key.job.name);
      this.noteHeadResult(j);
      if (!finished) { continue; }
      if (before === 'success' && jobState(j) === 'failure') {
        this.newlyFailed.set(j.key.job.name, key.digest);
        this.options.onHeadBuildFailed(j);
      } else {
        this.newlyFailed.delete(j.key.job.name);
      }
    }
    if (finished && status?.output.kind === 'saved' && status.output.saved.built) { this.sharing.afterBuild(); }
    this._onDidChange.fire({ kind: 'jobs', jobs: views });
  }

  /** Jobs shown without a result (none was saved when read): the results repository may hold one now. */
  async readUnread(views: readonly JobView[]): Promise<void> {
    for (const j of views) { if (j.status === undefined) { await this.jobs.query(j.key); } }
  }

  /** Tells the views that jobs changed in a way the cache does not say (another process builds them). */
  jobsChanged(jobs: readonly JobView[]): void {
    if (jobs.length > 0) { this._onDidChange.fire({ kind: 'jobs', jobs }); }
  }

  /**
   * Whether a job of HEAD is a new failure: it passed before, and the build seen finishing here since failed
   * (the rule of the pass → fail notification). A failure that was already there when the window opened, or
   * that fails again when rebuilt, is not new.
   */
  isNewFailure(job: JobView): boolean {
    return jobState(job) === 'failure' && this.newlyFailed.get(job.key.job.name) === job.key.digest;
  }

  /** Remembers the last result of a HEAD job by name (a cancelled or pending one changes nothing). */
  private noteHeadResult(job: JobView): void {
    const state = jobState(job);
    if (state === 'success' || state === 'failure') { this.headResults.set(job.key.job.name, state); }
  }

  /** Re-reads targets, their jobs and the saved status of each job; coalesces concurrent calls. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        await this.load();
      } while (this.refreshAgain && !this.disposed);
    })().finally(() => { this.refreshing = undefined; });
    return this.refreshing;
  }

  /** The targets to show: HEAD alone (read from files) when untrusted, else as the settings say. */
  private async listTargets(): Promise<{ targets: Target[]; branch?: BranchInfo }> {
    const settings = this.options.settings();
    if (!this.jobs.trusted) { return { targets: this.jobs.headTarget() }; }
    if (settings.targets === 'branch') {
      const { targets, info } = await this.jobs.branchTargets(settings.maxBranchCommits);
      return { targets, branch: info };
    }
    return { targets: await this.jobs.targets(settings.targets === 'localBranches') };
  }

  private async load(): Promise<void> {
    const trusted = this.jobs.trusted;
    const { targets, branch } = await this.listTargets();
    // The commits of a branch that have no configuration of their own use the newest one on the branch.
    const borrowed = branch ? await this.jobs.jobsOfCommits(targets.map((t) => t.commit)) : undefined;
    const views: TargetView[] = [];
    const worktree = trusted && this.dirs.topLevel ? await this.worktreeView().catch((e: Error) => { this.options.log(`Could not read the working tree: ${e.message}`); return undefined; }) : undefined;
    if (worktree) { views.push(worktree); }
    for (const [i, target] of targets.entries()) {
      const at = borrowed ? borrowed[i]!.at : trusted ? await this.jobs.jobsAt(target.commit) : await this.jobs.cachedJobsAt(target.commit);
      const suggested = target.isHead && trusted && at?.config === 'missing' ? await this.suggestedAt(target.commit) : undefined;
      if (suggested) {
        views.push({ target, config: suggested.at.config, jobs: await this.viewsOf(suggested.at.keys), suggested: suggested.suggestions });
        continue;
      }
      const configEdited = target.isHead && trusted && at !== undefined ? await this.configEdited(target.commit) : undefined;
      views.push({ target, config: at ? at.config : 'unknown', jobs: await this.viewsOf(at?.keys ?? []), ...(configEdited ? { configEdited } : {}) });
    }
    if (this.disposed) { return; }
    // A target read again as it was stays the same object: the tree then keeps its rows (see keepUnchanged).
    const { targets: shown, changed } = keepUnchanged(this.targets, views);
    const branchChanged = JSON.stringify(branch) !== JSON.stringify(this.branch);
    const base = branch ? await this.baseOf(targets) : undefined;
    if (this.disposed) { return; }
    this.targets = shown;
    this.branch = branch;
    this.base = base;
    for (const j of this.head?.jobs ?? []) { this.noteHeadResult(j); }
    this.inputWarnings = keyWarnings(this.head?.jobs.map((j) => j.key) ?? []);
    this.preferShown();
    if (changed || branchChanged || !this.loaded) { this._onDidChange.fire({ kind: 'targets' }); }
    this.loaded = true;
  }

  /** The commit before the oldest target and its jobs (their saved results read, never built); undefined for a root commit. */
  private async baseOf(targets: readonly Target[]): Promise<Session['base']> {
    const oldest = targets[targets.length - 1];
    if (!oldest) { return undefined; }
    const commit = await this.jobs.resolve(`${oldest.commit}^`).catch((e: unknown) => { if (DataKitError.is(e, 'UnknownRevision')) { return undefined; } throw e; });
    if (commit === undefined) { return undefined; }
    const at = await this.jobs.cachedJobsAt(commit) ?? await this.jobs.jobsAt(commit);
    return { commit, jobs: await this.viewsOf(at.keys) };
  }

  /**
   * The working tree as a target, above HEAD, when it differs from HEAD (undefined otherwise). With `paths`,
   * only those were changed since the last reading (a file watcher's report).
   */
  private async worktreeView(paths?: readonly string[]): Promise<TargetView | undefined> {
    const wt = await this.jobs.worktreeJobs(paths && this.worktreeState ? { paths, previous: this.worktreeState } : {});
    this.worktreeState = wt.state;
    if (!wt.at) { return undefined; }
    const n = wt.state.changes.size;
    const target: Target = { name: WORKTREE_TARGET, commit: wt.state.head, isHead: false, worktree: true, label: `Working tree · ${n} changed file${n === 1 ? '' : 's'}` };
    return { target, config: wt.at.config, jobs: await this.viewsOf(wt.at.keys) };
  }

  /** Re-reads the paths a watcher reported (all of them when undefined) and puts the working tree's target in step. */
  async updateWorktree(paths: readonly string[] | undefined): Promise<void> {
    if (this.disposed || !this.jobs.trusted || !this.worktreeState) { return; }
    const view = await this.worktreeView(paths).catch((e: Error) => { this.options.log(`Could not read the working tree: ${e.message}`); return undefined; });
    if (this.disposed) { return; }
    const { targets, changed } = keepUnchanged(this.targets, [...(view ? [view] : []), ...this.targets.filter((t) => !t.target.worktree)]);
    this.targets = targets;
    this.preferShown();
    if (changed) { this._onDidChange.fire({ kind: 'targets' }); }
  }

  /**
   * Suggested jobs for `commit` (HEAD) when the working copy has no .datakit-ci.json either, keyed as if the
   * suggested file were committed (saving and committing it reuses what was built); undefined when there is
   * nothing to suggest. Read from the working copy's files: cheap (see bench/suggest.bench.mjs).
   */
  private async suggestedAt(commit: string): Promise<{ suggestions: Suggestions; at: JobsAt } | undefined> {
    const top = this.dirs.topLevel;
    if (!top || fs.existsSync(path.join(top, CONFIG_FILE))) { return undefined; }
    const suggestions = await suggestJobs(top).catch((e: Error) => { this.options.log(`Could not suggest jobs: ${e.message}`); return undefined; });
    if (!suggestions || suggestions.jobs.length === 0) { return undefined; }
    const at = await this.jobs.jobsWithConfig(commit, suggestions.text);
    return at.config !== 'missing' && at.config.ok ? { suggestions, at } : undefined;
  }

  /** Each key's job; its saved status read into the cache, where the views find it. */
  private async viewsOf(keys: readonly JobKey[]): Promise<JobView[]> {
    const jobs: JobView[] = [];
    for (const key of keys) {
      if (!this.jobs.peek(key)) { await this.jobs.query(key); }
      jobs.push(new JobView(key, this.jobs));
    }
    return jobs;
  }

  /** Whether the working copy's configuration differs from the one committed at `commit`. */
  private async configEdited(commit: string): Promise<boolean> {
    const top = this.dirs.topLevel;
    if (!top) { return false; }
    // A link to /dev/zero or a FIFO in its place is said (once until it changes), never read: the commit's runs.
    const mine = await readWorkingConfig(top).catch((e: Error) => {
      if (e.message !== this.configRefusal) { this.options.log(`${e.message}; the one committed is what runs`); }
      this.configRefusal = e.message;
    });
    if (mine !== undefined) { this.configRefusal = undefined; }
    return mine !== undefined && !await this.jobs.isCommittedConfig(commit, mine);
  }

  /**
   * Looks up (building what is missing) every job of the given targets: HEAD's, or every target shown (the
   * working tree's included) for `all`. Suggested jobs run only when asked for by name (`all`), never on a
   * HEAD move. Returns how many builds started; the Builds view shows progress until they have finished.
   */
  async build(which: 'head' | 'all' = 'head'): Promise<number> {
    let started = which === 'all' ? await this.buildWorktree() : 0;
    const chosen = this.targets.filter((v) => !v.target.worktree && (which === 'all' || (v.target.isHead && !v.suggested)));
    started += await this.lookupAll(chosen.flatMap((t) => t.jobs));
    return started;
  }

  /** Looks up each job (building what is missing); counts the builds it started, and shows their progress. */
  async lookupAll(jobs: readonly JobView[]): Promise<number> {
    const started: JobKey[] = [];
    for (const j of jobs) {
      const before = this.jobs.peek(j.key);
      const s = await this.jobs.lookup(j.key);
      if (s.result.kind === 'pending' && before?.result.kind !== 'pending') { started.push(j.key); }
    }
    if (started.length > 0) { this.options.ops.track(Promise.all(started.map((k) => untilSettled(this.jobs, k)))); }
    return started.length;
  }

  /**
   * Builds the working tree's jobs; a job's older working-tree build still running for other content is
   * cancelled first (a newer save supersedes it).
   */
  async buildWorktree(): Promise<number> {
    await this.watchers.flushWorktree();
    const view = this.worktree;
    if (!view) { return 0; }
    for (const j of view.jobs) {
      const older = this.worktreeBuilds.get(j.key.job.name);
      if (older && older.digest !== j.key.digest && this.jobs.peek(older)?.result.kind === 'pending') {
        this.options.log(`Cancelled the working-tree build of ${j.key.job.name} for ${older.digest.slice(0, 12)}: the working tree changed since`);
        this.jobs.cancel(older);
      }
      this.worktreeBuilds.set(j.key.job.name, j.key);
    }
    return this.lookupAll(view.jobs);
  }

  /** HEAD's and the working tree's builds take free slots before those of any other commit. */
  private preferShown(): void {
    this.jobs.preferKeys([...this.head?.jobs ?? [], ...this.worktree?.jobs ?? []].map((j) => j.key));
  }

  /**
   * HEAD moved: the builds of jobs no target shows any more (of the HEAD it left) that have not started yet
   * are dropped from the queue (saved as cancelled, built again if asked); those running finish. Returns how
   * many were dropped.
   */
  dropLeftBehind(before: readonly JobView[]): number {
    const shown = new Set(this.targets.flatMap((t) => t.jobs.map((j) => j.key.digest)));
    let dropped = 0;
    for (const j of before) {
      const r = j.status?.result;
      if (shown.has(j.key.digest) || r?.kind !== 'pending' || isRunning(r.reason)) { continue; }
      if (this.jobs.cancel(j.key)) { dropped++; }
    }
    if (dropped > 0) { this.options.log(`Dropped ${dropped} queued build${dropped === 1 ? '' : 's'} of ${before[0]!.key.commit.slice(0, 7)}, which HEAD left before they started`); }
    return dropped;
  }

  /** Cancels every build of a target that has not finished (running or waiting); returns how many. */
  cancelTarget(target: TargetView): number {
    let n = 0;
    for (const j of target.jobs) { if (this.jobs.cancel(j.key)) { n++; } }
    return n;
  }

  /** Marks a job for rebuild and builds it again at once. */
  async rebuild(key: JobKey): Promise<string> {
    const outcome = await this.jobs.rebuild(key);
    this.options.ops.track(untilSettled(this.jobs, key));
    return outcome;
  }

  cancel(key: JobKey): boolean {
    return this.jobs.cancel(key);
  }

  /** After the first refresh: watch the repository, and build HEAD if automatic builds are on. */
  async start(): Promise<void> {
    await this.refresh();
    this.watchers.start(this.head?.target.commit);
    this.sharing.start();
    await this.buildNewHead();
  }

  /**
   * HEAD moved (or the window opened): its jobs are built when automatic builds are on — after asking, for a
   * repository never built (see firstBuild.ts).
   */
  async buildNewHead(): Promise<void> {
    this.sharing.cleanInBackground();
    if (!this.options.settings().automaticBuilds) { return; }
    const build = (): Promise<number | undefined> => this.options.ops.run('Build the new HEAD', { runs: true, background: true }, () => this.build('head'));
    if (!this.jobs.trusted) { await build(); return; } // refused, and said, by the operation
    const allowed = await this.firstBuild.allowed(this.name, this.head?.jobs.length ?? 0);
    if (allowed === 'now') { await build(); } else if (allowed === 'later') { this.firstBuild.whenAnswered(() => build()); }
  }

  dispose(): void {
    this.disposed = true;
    this.watchers.dispose();
    this.sharing.dispose();
    this.subscription.dispose();
    this._onDidChange.dispose();
    this.jobs.dispose();
  }
}

/** Resolves once a key's status is no longer pending (its build saved its result). */
export async function untilSettled(jobs: RepoJobs, key: JobKey): Promise<void> {
  for (let s = jobs.peek(key); s?.result.kind === 'pending'; s = jobs.peek(key)) {
    await s.result.changed;
  }
}
