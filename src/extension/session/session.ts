// One session per git repository among the workspace folders: its results store, the shell builder's
// cache, and the targets (HEAD first) with the status of each job.
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { Emitter, type Disposable } from '../../shared/events';
import { CONFIG_FILE, type ConfigResult } from '../../jobs/config/config';
import { entryName, keyWarnings, type InputWarning, type JobKey } from '../../jobs/keys/key';
import type { JobsAt, JobStatus, RepoJobs } from '../../jobs/repoJobs';
import { suggestJobs, type Suggestions } from '../../jobs/suggest/suggest';
import type { BranchInfo, Target } from '../../jobs/targets';
import type { RepositoryDirs } from '../../store/source/gitDirs';
import { objectBytes } from '../../store/results/gitStore';
import type { WorktreeState } from '../../store/source/worktree';
import type { Settings } from '../settings';
import { jobState } from '../tree/treeModel';

export interface JobView {
  readonly key: JobKey;
  status: JobStatus | undefined;
  /** The pid of another process (a terminal, another window) building this key now. */
  elsewhere?: number;
}

export interface TargetView {
  readonly target: Target;
  /** `unknown` when the keys cannot be computed without running git (an untrusted workspace). */
  readonly config: ConfigResult | 'missing' | 'unknown';
  readonly jobs: JobView[];
  /** HEAD only: the working copy's .datakit-ci.json differs from the one committed, which is what runs. */
  readonly configEdited?: boolean;
  /**
   * HEAD only, when neither it nor the working copy has a .datakit-ci.json: the jobs suggested from the
   * repository's files (package.json scripts, a Makefile), shown to be run on a click — never automatically.
   */
  readonly suggested?: Suggestions;
}

/** The working tree target's name (no branch can be named so: it has a space). */
export const WORKTREE_TARGET = 'working tree';
/** How long after the last reported change the working tree is read again. */
const WORKTREE_DEBOUNCE_MS = 300;
/** How long after the last save an `onSave` build of the working tree starts. */
const SAVE_DEBOUNCE_MS = 500;
const MAX_REPORTED_PATHS = 500;
/** How long after the last build finished results are pushed (`datakitCi.pushResults`). */
const PUSH_DEBOUNCE_MS = 2000;
/** How often the size of the results repository is looked at, at most. */
const GC_CHECK_MS = 60 * 60 * 1000;
/** How long after the window opened the results repository's size is first looked at. */
const GC_FIRST_CHECK_MS = 5000;
/** How long after the last change in the results repository it is read again. */
const RESULTS_DEBOUNCE_MS = 100;

export class Session implements Disposable {
  private readonly _onDidChange = new Emitter<void>();
  readonly onDidChange = this._onDidChange.event;
  targets: TargetView[] = [];
  /** With the `branch` targets: what the commits were counted against, and how many the branch has. */
  branch: BranchInfo | undefined;
  /** What HEAD's keys say about inputs that match nothing (for the Problems panel). */
  inputWarnings: InputWarning[] = [];
  private readonly disposables: Disposable[] = [];
  private watchers: fs.FSWatcher[] = [];
  private headTimer: NodeJS.Timeout | undefined;
  private lastHead: string | undefined;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  disposed = false;
  /** The working tree's changes as last read, and the paths reported changed since (see `watchWorktree`). */
  private worktreeState: WorktreeState | undefined;
  private readonly changedPaths = new Set<string>();
  private worktreeTimer: NodeJS.Timeout | undefined;
  private pushTimer: NodeJS.Timeout | undefined;
  private gcRunning = false;
  private gcTimer: NodeJS.Timeout | undefined;
  private lastGcCheck = 0;
  private saveTimer: NodeJS.Timeout | undefined;
  /** The key of each job's last working-tree build (a newer one cancels it). */
  private readonly worktreeBuilds = new Map<string, JobKey>();
  /** The last result of each HEAD job, by job name, across HEAD moves: a failure is told when it passed before. */
  private readonly headResults = new Map<string, 'success' | 'failure'>();

  constructor(
    readonly jobs: RepoJobs,
    readonly dirs: RepositoryDirs,
    readonly folder: vscode.Uri,
    private readonly trusted: () => boolean,
    private readonly settings: () => Settings,
    private readonly onHeadBuildFailed: (session: Session, job: JobView) => void,
    private readonly log?: (message: string) => void,
  ) {
    this.disposables.push(jobs.cache.onDidChange((change) => this.onStatus(change.key, change.status)));
  }

  /** The repository's name as shown in the tree. */
  get name(): string {
    return path.basename(this.dirs.topLevel ?? this.dirs.gitDir);
  }

  /** An opaque id for URIs: the results repository stands for the session. */
  get id(): string {
    return this.jobs.id;
  }

  get head(): TargetView | undefined {
    return this.targets.find((t) => t.target.isHead);
  }

  private onStatus(key: JobKey, status: JobStatus | undefined): void {
    let touched = false;
    let built = false;
    for (const t of this.targets) {
      for (const j of t.jobs) {
        if (j.key.digest === key.digest) {
          const was = j.status?.result.kind;
          j.status = status;
          touched = true;
          if (t.target.isHead) {
            // Told only when a job that passed fails (on this commit or the one HEAD was at before).
            const before = this.headResults.get(j.key.job.name);
            this.noteHeadResult(j);
            if (was === 'pending' && before === 'success' && jobState(j) === 'failure') { this.onHeadBuildFailed(this, j); }
          }
          if (was === 'pending' && status?.output.kind === 'saved' && status.output.saved.built) { built = true; }
        }
      }
    }
    if (built) { this.schedulePush(); this.gcIfOversized(); }
    if (touched) { this._onDidChange.fire(); }
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

  private async load(): Promise<void> {
    const trusted = this.trusted();
    const settings = this.settings();
    let targets: Target[];
    let branch: BranchInfo | undefined;
    if (!trusted) {
      targets = this.jobs.headTarget();
    } else if (settings.targets === 'branch') {
      ({ targets, info: branch } = await this.jobs.branchTargets(settings.maxRangeCommits));
    } else {
      targets = await this.jobs.targets(settings.targets === 'localBranches');
    }
    // The commits of a branch that have no configuration of their own use the newest one on the branch.
    const borrowed = branch ? await this.jobs.jobsOfCommits(targets.map((t) => t.commit)) : undefined;
    const views: TargetView[] = [];
    const worktree = trusted && this.dirs.topLevel ? await this.worktreeView().catch((e: Error) => { this.log?.(`Could not read the working tree: ${e.message}`); return undefined; }) : undefined;
    if (worktree) { views.push(worktree); }
    for (const [i, target] of targets.entries()) {
      const at = borrowed ? borrowed[i]!.at : trusted ? await this.jobs.jobsAt(target.commit) : await this.jobs.cachedJobsAt(target.commit);
      const jobs = await this.viewsOf(at?.keys ?? []);
      const configEdited = target.isHead && trusted && at !== undefined ? await this.configEdited(target.commit) : undefined;
      const suggested = target.isHead && trusted && at?.config === 'missing' ? await this.suggestedAt(target.commit) : undefined;
      if (suggested) {
        views.push({ target, config: suggested.at.config, jobs: await this.viewsOf(suggested.at.keys), suggested: suggested.suggestions });
        continue;
      }
      views.push({ target, config: at ? at.config : 'unknown', jobs, ...(configEdited ? { configEdited } : {}) });
    }
    if (this.disposed) { return; }
    // A status that changed while this load ran was told to the views it replaces: read the cache again.
    for (const v of views) { for (const j of v.jobs) { j.status = this.jobs.cache.peek(j.key) ?? j.status; } }
    this.targets = views;
    this.branch = branch;
    this.syncResultWatches();
    for (const j of this.head?.jobs ?? []) { this.noteHeadResult(j); }
    this.inputWarnings = keyWarnings(views.find((v) => v.target.isHead)?.jobs.map((j) => j.key) ?? []);
    this._onDidChange.fire();
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

  /** The working tree's changes from HEAD, as last read. */
  get worktreeChanges(): WorktreeState | undefined {
    return this.worktreeState;
  }

  /** The working tree's target, if shown. */
  get worktree(): TargetView | undefined {
    return this.targets.find((t) => t.target.worktree);
  }

  /** Re-reads the paths a watcher reported and puts the working tree's target in step with them. */
  private async updateWorktree(): Promise<void> {
    // Past a few hundred paths (a dependency install, a branch switch), one full reading is cheaper.
    const paths = this.changedPaths.size > MAX_REPORTED_PATHS ? undefined : [...this.changedPaths];
    this.changedPaths.clear();
    if (this.disposed || !this.trusted() || !this.worktreeState) { return; }
    const view = await this.worktreeView(paths).catch((e: Error) => { this.log?.(`Could not read the working tree: ${e.message}`); return undefined; });
    if (this.disposed) { return; }
    this.targets = [...(view ? [view] : []), ...this.targets.filter((t) => !t.target.worktree)];
    this._onDidChange.fire();
  }

  /**
   * Builds the working tree's jobs; a job's older working-tree build still running for other content is
   * cancelled first (a newer save supersedes it). Trusted only.
   */
  async buildWorktree(): Promise<number> {
    if (!this.trusted()) { return 0; }
    if (this.changedPaths.size > 0) { await this.updateWorktree(); }
    const view = this.worktree;
    if (!view) { return 0; }
    let started = 0;
    for (const j of view.jobs) {
      const older = this.worktreeBuilds.get(j.key.job.name);
      if (older && older.digest !== j.key.digest && this.jobs.cache.peek(older)?.result.kind === 'pending') {
        this.log?.(`Cancelled the working-tree build of ${j.key.job.name} for ${older.digest.slice(0, 12)}: the working tree changed since`);
        this.jobs.cache.cancel(older);
      }
      this.worktreeBuilds.set(j.key.job.name, j.key);
      const before = this.jobs.cache.peek(j.key);
      const s = await this.jobs.lookup(j.key);
      if (s.result.kind === 'pending' && before?.result.kind !== 'pending') { started++; }
    }
    return started;
  }

  /**
   * Fetches the results of the repository's `origin` (when it has one), then shows them: a job with no
   * result of its own takes the fetched one. Trusted only (it runs git against the remote). Returns what
   * was fetched, or undefined when there was nothing to fetch from.
   */
  async fetchResults(): Promise<{ results: number; changed: number } | undefined> {
    if (!this.trusted() || this.disposed) { return undefined; }
    if ((await (await this.jobs.repo()).remoteUrl('origin')) === undefined) { return undefined; }
    const r = await this.jobs.fetch('origin');
    this.log?.(`Fetched ${r.results} results from origin (${r.changed} new or moved)`);
    if (r.changed > 0) {
      // A job shown without a result may have one now; one shown with its own keeps it.
      await this.readUnread(this.targets.flatMap((t) => t.jobs));
      this._onDidChange.fire();
    }
    return r;
  }

  /** Pushes the results to `origin` (when it has one). Trusted only. */
  async pushResults(): Promise<{ sent: number; upToDate: number; alreadyShared: number } | undefined> {
    if (!this.trusted() || this.disposed) { return undefined; }
    if ((await (await this.jobs.repo()).remoteUrl('origin')) === undefined) { return undefined; }
    const r = await this.jobs.push('origin');
    this.log?.(`Pushed results to origin: ${r.sent} sent, ${r.upToDate} already there${r.alreadyShared ? `, ${r.alreadyShared} left as origin has them from another machine` : ''}`);
    return r;
  }

  /**
   * When the results repository has grown over `datakitCi.maxResultsSizeMiB`, runs the retention (see
   * RepoJobs.gc) in the background, with that cap; looked at on start and after builds, at most hourly.
   */
  private gcIfOversized(): void {
    if (!this.trusted() || this.gcRunning || Date.now() - this.lastGcCheck < GC_CHECK_MS) { return; }
    this.lastGcCheck = Date.now();
    const cap = this.settings().maxResultsSizeMiB * 1024 * 1024;
    const size = objectBytes(this.jobs.store.dir);
    if (size <= cap) { return; }
    this.gcRunning = true;
    this.log?.(`The results repository holds ${(size / 1048576).toFixed(0)} MiB, over datakitCi.maxResultsSizeMiB (${this.settings().maxResultsSizeMiB}): removing old results`);
    void this.jobs.gc({ maxBytes: cap }).then(
      (r) => this.log?.(`Removed ${r.removed} old results and ${r.commitsDropped} older builds: ${(r.bytesBefore / 1048576).toFixed(0)} → ${(r.bytesAfter / 1048576).toFixed(0)} MiB${r.overCap ? ' (still over: what is left belongs to HEAD and the branches)' : ''}`),
      (e: Error) => this.log?.(`Could not remove old results: ${e.message}`),
    ).finally(() => { this.gcRunning = false; });
  }

  /** With `datakitCi.pushResults`, pushes once builds have settled for a moment. */
  private schedulePush(): void {
    if (!this.settings().pushResults || !this.trusted()) { return; }
    clearTimeout(this.pushTimer);
    this.pushTimer = setTimeout(() => {
      void this.pushResults().catch((e: Error) => this.log?.(`Could not push the results: ${e.message}`));
    }, PUSH_DEBOUNCE_MS);
  }

  /**
   * Suggested jobs for `commit` (HEAD) when the working copy has no .datakit-ci.json either, keyed as if the
   * suggested file were committed (saving and committing it reuses what was built); undefined when there is
   * nothing to suggest. Read from the working copy's files: cheap (see bench/suggest.bench.mjs).
   */
  private async suggestedAt(commit: string): Promise<{ suggestions: Suggestions; at: JobsAt } | undefined> {
    const top = this.dirs.topLevel;
    if (!top || fs.existsSync(path.join(top, CONFIG_FILE))) { return undefined; }
    const suggestions = await suggestJobs(top).catch((e: Error) => { this.log?.(`Could not suggest jobs: ${e.message}`); return undefined; });
    if (!suggestions || suggestions.jobs.length === 0) { return undefined; }
    const at = await this.jobs.jobsWithConfig(commit, suggestions.text);
    return at.config !== 'missing' && at.config.ok ? { suggestions, at } : undefined;
  }

  /** Each key's job with its status: the cache's, else what the results repository holds. */
  private async viewsOf(keys: readonly JobKey[]): Promise<JobView[]> {
    const jobs: JobView[] = [];
    for (const key of keys) { jobs.push({ key, status: this.jobs.cache.peek(key) ?? await this.jobs.query(key) }); }
    return jobs;
  }

  /** Whether the working copy's configuration differs from the one committed at `commit`. */
  private async configEdited(commit: string): Promise<boolean> {
    const top = this.dirs.topLevel;
    if (!top) { return false; }
    const mine = await fs.promises.readFile(path.join(top, CONFIG_FILE), 'utf8').catch(() => undefined);
    return mine !== undefined && mine !== await this.jobs.configText(commit);
  }

  /** Looks up (building what is missing) every job of the given targets, or of HEAD. Trusted only. */
  async build(which: 'head' | 'all' = 'head'): Promise<number> {
    if (!this.trusted()) { return 0; }
    let started = which === 'all' ? await this.buildWorktree() : 0;
    // Suggested jobs run on a click (Build Now, the ▶ of a job or of the suggestions), never on a HEAD move.
    for (const t of this.targets.filter((v) => !v.target.worktree && (which === 'all' || (v.target.isHead && !v.suggested)))) {
      for (const j of t.jobs) {
        const before = this.jobs.cache.peek(j.key);
        const s = await this.jobs.lookup(j.key);
        if (s.result.kind === 'pending' && before?.result.kind !== 'pending') { started++; }
      }
    }
    return started;
  }

  /** Marks a job for rebuild and, in a trusted workspace, builds it again at once. */
  async rebuild(key: JobKey): Promise<string> {
    const outcome = await this.jobs.cache.markForRebuild(key);
    if (this.trusted() && outcome !== 'pending') { await this.jobs.lookup(key); }
    return outcome;
  }

  cancel(key: JobKey): boolean {
    return this.jobs.cache.cancel(key);
  }

  /** Watches HEAD and the branches: a move refreshes the targets and, if enabled, builds the new HEAD. */
  watch(): void {
    const onChange = (): void => {
      clearTimeout(this.headTimer);
      this.headTimer = setTimeout(() => { void this.onRefsChanged(); }, 250);
    };
    // In the git directory only HEAD (git locks it on every commit, checkout and reset, so HEAD.lock shows
    // each move) and packed-refs matter: the index changes all the time (VS Code's own git view refreshes
    // it) and must not make us re-read the repository. Watches are not recursive: Node's recursive watch
    // on Linux loses a file once git replaces it by renaming its lock file over it.
    // FETCH_HEAD: a fetch moved remote-tracking branches, an upstream among them (the `branch` targets are
    // the commits it does not have); a push from here to it rewrites packed or loose refs/remotes, see below.
    const GIT_DIR_FILES = new Set(['HEAD', 'HEAD.lock', 'ORIG_HEAD', 'packed-refs', 'FETCH_HEAD']);
    const watches: [string, boolean, (file: string | null) => boolean][] = [
      [this.dirs.gitDir, false, (file) => file === null || GIT_DIR_FILES.has(file)],
      [path.join(this.dirs.commonDir, 'refs', 'heads'), false, () => true],
    ];
    if (this.dirs.commonDir !== this.dirs.gitDir) { // a linked worktree: branches are packed in the common dir
      watches.push([this.dirs.commonDir, false, (file) => file === null || file === 'packed-refs' || file === 'FETCH_HEAD']);
    }
    // Each remote's folder of remote-tracking branches (a push updates the upstream there, without FETCH_HEAD).
    const remotes = path.join(this.dirs.commonDir, 'refs', 'remotes');
    let remoteFolders: string[] = [];
    try { remoteFolders = fs.readdirSync(remotes, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => path.join(remotes, d.name)); } catch { /* no remote */ }
    for (const folder of remoteFolders) { watches.push([folder, false, () => true]); }
    for (const [dir, recursive, relevant] of watches) {
      try {
        this.watchers.push(fs.watch(dir, { recursive }, (_event, file) => { if (relevant(file)) { onChange(); } }));
      } catch {
        // A directory that cannot be watched (e.g. refs/heads missing in a fresh repository).
      }
    }
  }

  private async onRefsChanged(): Promise<void> {
    if (this.disposed) { return; }
    const head = this.jobs.headTarget()[0]?.commit;
    await this.refresh();
    if (head !== this.lastHead) {
      this.lastHead = head;
      this.cleanInBackground();
      if (this.trusted() && this.settings().automaticBuilds) { await this.build('head'); }
    }
  }

  /**
   * Watches the working tree: what changes is read again (those paths only) shortly after; with
   * `buildWorkingTree: onSave`, a save builds the working tree once the saves stop for a moment.
   */
  private watchWorktree(): void {
    const top = this.dirs.topLevel;
    if (!top) { return; }
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(top), '**'));
    const onPath = (uri: vscode.Uri): void => {
      const rel = path.relative(top, uri.fsPath).split(path.sep).join('/');
      if (rel === '' || rel.startsWith('..') || rel === '.git' || rel.startsWith('.git/')) { return; }
      this.changedPaths.add(rel);
      clearTimeout(this.worktreeTimer);
      this.worktreeTimer = setTimeout(() => { void this.updateWorktree(); }, WORKTREE_DEBOUNCE_MS);
    };
    this.disposables.push(watcher, watcher.onDidChange(onPath), watcher.onDidCreate(onPath), watcher.onDidDelete(onPath));
    this.disposables.push(vscode.workspace.onDidSaveTextDocument((doc) => {
      if (this.settings().buildWorkingTree !== 'onSave' || !this.trusted() || doc.uri.scheme !== 'file') { return; }
      const rel = path.relative(top, doc.uri.fsPath);
      if (rel.startsWith('..') || path.isAbsolute(rel)) { return; }
      onPath(doc.uri);
      clearTimeout(this.saveTimer);
      this.saveTimer = setTimeout(() => {
        clearTimeout(this.worktreeTimer);
        this.log?.(`Building the working tree: ${rel} was saved (datakitCi.buildWorkingTree is onSave)`);
        void this.buildWorktree();
      }, SAVE_DEBOUNCE_MS);
    }));
  }

  /**
   * Watches the results repository: an entry's branch moved by another process (a terminal, another
   * window, a fetch) is read again, and its lock file says when another process builds it. Each job's
   * folder of refs and of locks is watched (not recursively: a recursive watch on Linux loses files that
   * git renames into place), and the folders above them for jobs that have none yet.
   */
  private watchResults(): void {
    const dir = this.jobs.store.dir;
    const builder = this.jobs.cache.builder.name;
    const refsDir = path.join(dir, ...this.jobs.store.refPrefix.split('/').filter(Boolean), builder);
    const locksDir = path.join(dir, 'locks', builder);
    const moved = new Set<string>();
    const locked = new Set<string>();
    let all = false;
    let timer: NodeJS.Timeout | undefined;
    const schedule = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const [m, l, a] = [[...moved], [...locked], all];
        moved.clear(); locked.clear(); all = false;
        this.syncResultWatches();
        void this.onResultsChanged(m, l, a);
      }, RESULTS_DEBOUNCE_MS);
    };
    this.resultWatches = new Map();
    this.resultWatch = (folder: string, onFile: (file: string) => void): void => {
      if (this.resultWatches!.has(folder)) { return; }
      try {
        const w = fs.watch(folder, (_event, file) => { if (file) { onFile(file.toString()); schedule(); } });
        w.on('error', () => { w.close(); this.resultWatches?.delete(folder); });
        this.resultWatches!.set(folder, w);
      } catch {
        // not there yet: its parent's watch adds it once it is created
      }
    };
    this.resultFolders = (job: string) => {
      this.resultWatch!(path.join(refsDir, job), (file) => { if (!file.endsWith('.lock')) { moved.add(`${job}/${file}`); } });
      this.resultWatch!(path.join(locksDir, job), (file) => { if (file.endsWith('.lock')) { locked.add(`${job}/${file.slice(0, -'.lock'.length)}`); } });
    };
    this.resultWatch(dir, (file) => { if (file === 'packed-refs') { all = true; } });
    this.resultWatch(refsDir, () => { all = true; }); // a job's first result
    this.resultWatch(locksDir, () => { all = true; });
    this.syncResultWatches();
    this.disposables.push({ dispose: () => { clearTimeout(timer); for (const w of this.resultWatches?.values() ?? []) { w.close(); } this.resultWatches = undefined; } });
  }

  private resultWatches: Map<string, fs.FSWatcher> | undefined;
  private resultWatch: ((folder: string, onFile: (file: string) => void) => void) | undefined;
  private resultFolders: ((job: string) => void) | undefined;

  /** Watches the folders of every job shown (see watchResults). */
  private syncResultWatches(): void {
    if (!this.resultFolders) { return; }
    for (const name of new Set(this.targets.flatMap((t) => t.jobs.map((j) => j.key.job.name)))) { this.resultFolders(name); }
  }

  private async onResultsChanged(moved: string[], locked: string[], all: boolean): Promise<void> {
    if (this.disposed) { return; }
    const byEntry = new Map<string, JobView[]>();
    for (const j of this.targets.flatMap((t) => t.jobs)) { const e = entryName(j.key); byEntry.set(e, [...byEntry.get(e) ?? [], j]); }
    const branches = all ? [...byEntry.keys()] : moved;
    for (const b of branches) {
      await this.jobs.cache.reload(b);
      await this.readUnread(byEntry.get(b) ?? []);
    }
    let changed = false;
    for (const b of all ? branches : locked) {
      const views = byEntry.get(b);
      if (!views) { continue; }
      const pid = await this.jobs.buildingElsewhere(views[0]!.key);
      for (const j of views) { if (j.elsewhere !== pid) { j.elsewhere = pid; changed = true; } }
    }
    if (changed) { this._onDidChange.fire(); }
  }

  /** Jobs shown without a result (none was saved when read): the store may hold one now. */
  private async readUnread(views: readonly JobView[]): Promise<void> {
    for (const j of views) { if (j.status === undefined) { j.status = await this.jobs.query(j.key); } }
  }

  /** After the first refresh: remember HEAD and build it if automatic builds are on. */
  async start(): Promise<void> {
    await this.refresh();
    this.lastHead = this.head?.target.commit;
    this.watch();
    this.watchWorktree();
    this.watchResults();
    // Off the activation path: the size is looked at once the window has settled.
    this.gcTimer = setTimeout(() => this.gcIfOversized(), GC_FIRST_CHECK_MS);
    this.cleanInBackground();
    if (this.trusted() && this.settings().automaticBuilds) { await this.build('head'); }
  }

  /**
   * Removes, in the background, the build directories of jobs that no target declares any more (renamed
   * or deleted jobs): at start and when HEAD moves. Trusted only (it reads the targets' configurations).
   */
  private cleanInBackground(): void {
    if (!this.trusted() || this.targets.length === 0) { return; }
    const commits = this.targets.map((t) => t.target.commit);
    void this.jobs.clean(commits).then((r) => {
      if (r.removed.length > 0) { this.log?.(`Removed ${r.removed.length} build director${r.removed.length === 1 ? 'y' : 'ies'} of jobs no longer declared (${(r.bytes / 1024 / 1024).toFixed(1)} MB): ${r.removed.join(', ')}`); }
    }, (e: Error) => this.log?.(`Could not clean the build directories: ${e.message}`));
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.headTimer);
    clearTimeout(this.worktreeTimer);
    clearTimeout(this.saveTimer);
    clearTimeout(this.pushTimer);
    clearTimeout(this.gcTimer);
    for (const w of this.watchers) { w.close(); }
    for (const d of this.disposables) { d.dispose(); }
    this._onDidChange.dispose();
    this.jobs.dispose();
  }
}
