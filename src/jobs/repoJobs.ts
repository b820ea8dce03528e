// One repository's jobs: the one entrance to its build cache and its results repository for the command line
// and the extension. Its innards (the cache, the store, the git reader) are private: what callers need is an
// operation here. Opened untrusted, it starts no process and writes nothing — a missed check fails closed.
import fs = require('node:fs');
import path = require('node:path');
import { BuildCache, type Logger, type StatusChange } from '../engine/cache';
import type { Builder } from '../engine/builder';
import { LogManager } from '../engine/liveLog';
import type { CacheMetrics } from '../engine/metrics';
import { Pool } from '../engine/pool';
import type { RebuildOutcome, Saved, Status } from '../engine/status';
import { DataKitError } from '../shared/errors';
import type { Disposable, Event } from '../shared/events';
import type { CommitTimes, HistoryItem } from '../shared/results';
import { GitStore, objectBytes } from '../store/results/gitStore';
import { locateRepository, readHead, type RepositoryDirs } from '../store/source/gitDirs';
import { SourceRepo } from '../store/source/sourceRepo';
import { blobIds, scanWorktree, type WorktreeState } from '../store/source/worktree';
import { ProcessRuntimeProbe } from './run/runtimeProbe';
import { JobsReader, type CommitJobs, type JobsAt, type WorktreeJobs } from './commitJobs';
import { explainKey, type Explanation } from './explain';
import { InputFiles } from './inputFiles';
import { jobProblems, problemRoots, type JobProblemsOptions } from './jobProblems';
import { entryName, type JobKey } from './keys/key';
import { cleanBuildDirs, collectGarbage, type GcOptions } from './maintenance';
import type { MatchResult } from './problems/matchLog';
import { ResultInfo, type JobBuild, type Provenance } from './resultInfo';
import { buildRoot, repoId } from './run/checkout';
import type { CleanResult } from './run/cleanup';
import { FileEntryLocks } from './run/entryLocks';
import { ShellBuilder, type ShellValue } from './run/shellBuilder';
import { signingSetup, type Signing, type SigningSetup } from './signing';
import type { FetchedResults } from '../store/results/trust';
import { branchTargets, listTargets, type BranchInfo, type Target } from './targets';
import { ResultsWatcher, watchRefs, type ResultsChange } from './watchers';

export { MAX_CONFIG_BYTES, readWorkingConfig, type CommitJobs, type JobsAt, type WorktreeJobs } from './commitJobs';
export { reusedFrom, type BuildInfo, type JobBuild, type KeyRecord, type Provenance } from './resultInfo';
export type { Explanation, InputChange, InputSummary } from './explain';
export type { RepositoryDirs } from '../store/source/gitDirs';
export { findRepository, headOf } from './repository';
export type { WorktreeState } from '../store/source/worktree';
export type { ResultsChange } from './watchers';
export type { BuildCache } from '../engine/cache';
export type { GcReport } from '../store/results/gitStore';
export type { CleanResult } from './run/cleanup';

export interface RepoJobsOptions {
  /** Any directory of the repository (or give `dirs`). */
  dir?: string;
  dirs?: RepositoryDirs;
  /** Overrides where build directories go (default: the user's cache directory). */
  cacheDir?: string;
  logs?: LogManager;
  metrics?: CacheMetrics;
  pool?: Pool;
  logger?: Logger;
  /** Never create or write the results repository (`status`, `log`): nothing can be built then. */
  readOnly?: boolean;
  /**
   * false: an untrusted workspace. Saved results are read (files only); no git process starts, nothing is
   * written, nothing is built: every operation that would do one of those fails with `Untrusted`.
   */
  trusted?: boolean;
  /**
   * How long the output of a job's `toolInputs` commands is reused, in ms (default: for the life of this
   * object, one command-line run): the editor asks again after this, so that an upgraded tool is seen.
   */
  runtimeInputsReuseMs?: number;
}

export type JobStatus = Status<ShellValue>;

export class RepoJobs {
  private source: Promise<SourceRepo> | undefined;
  private readonly locks: FileEntryLocks;
  private readonly cache: BuildCache<JobKey, ShellValue>;
  private readonly reader: JobsReader;
  private readonly info: ResultInfo;
  /** The builder's name: the first part of every branch of the results repository it owns. */
  private readonly builder: string;
  /** The keys of what matters first (see preferKeys). */
  private urgent = new Set<string>();

  private constructor(
    readonly dirs: RepositoryDirs,
    private readonly store: GitStore,
    private readonly logs: LogManager,
    private readonly metrics: CacheMetrics | undefined,
    private readonly pool: Pool,
    /** Where this repository's build directories are. */
    readonly buildRoot: string,
    private readonly logger: Logger | undefined,
    readOnly: boolean,
    /** Whether this repository may run processes and be written (a trusted workspace). */
    readonly trusted: boolean,
    private readonly sign: SigningSetup,
    runtimeReuseMs: number | undefined,
  ) {
    this.locks = new FileEntryLocks(path.join(store.dir, 'locks'));
    const probe = new ProcessRuntimeProbe({ cwd: dirs.topLevel ?? dirs.commonDir, environment: process.env, ...(runtimeReuseMs !== undefined ? { reuseMs: runtimeReuseMs } : {}) });
    this.reader = new JobsReader({ repo: () => this.repo(), keysDir: path.join(store.dir, 'keys'), readOnly: readOnly || !trusted, warn: (m) => this.logger?.error(m),
      probe, ...(trusted ? { sealDir: buildRoot } : {}), ...(runtimeReuseMs !== undefined ? { runtimeReuseMs } : {}) });
    const builder = new ShellBuilder({ repo: () => this.repo(), buildRoot, keyOf: (digest) => this.reader.keyOf(digest), urgent: (digest) => this.urgent.has(digest), warn: (m) => this.logger?.error(m),
      keyRecord: (commit, record) => this.info.learnKeyRecord(commit, record) });
    this.builder = builder.name;
    this.cache = new BuildCache(builder, { store, logs, metrics, pool, locks: this.locks, logger });
    this.info = new ResultInfo(store, this.builder, (commits) => this.trusted ? this.repo().then((r) => r.commitSubjects(commits)) : Promise.resolve(new Map()), (m) => this.logger?.error(m));
  }

  static async open(options: RepoJobsOptions): Promise<RepoJobs> {
    const dirs = options.dirs ?? (options.dir !== undefined ? locateRepository(options.dir) : undefined);
    if (!dirs) { throw new DataKitError('NotARepository', `Not a git repository: ${options.dir ?? '(none given)'}`); }
    const trusted = options.trusted ?? true;
    const readOnly = (options.readOnly ?? false) || !trusted;
    // Untrusted: not even git on the results repository (a crafted config of it could make git run code).
    const sign = signingSetup(dirs, trusted);
    const store = await GitStore.open({ resultsDir: path.join(dirs.commonDir, 'datakit-ci'), onWarning: (m) => options.logger?.error(m), create: !readOnly, processes: trusted, trust: sign.trust, signer: sign.signer });
    const id = repoId(dirs.commonDir);
    const root = options.cacheDir ? path.join(options.cacheDir, id) : buildRoot(id);
    // No metrics unless asked for: the command line does without prom-client altogether.
    return new RepoJobs(dirs, store, options.logs ?? new LogManager(), options.metrics, options.pool ?? new Pool('builds', undefined, options.metrics), root, options.logger, readOnly, trusted, sign, options.runtimeInputsReuseMs);
  }

  /** A stable id of the repository (for URIs and build directories). */
  get id(): string {
    return repoId(this.dirs.commonDir);
  }

  /** Fails with `Untrusted` when this repository may not run `what`. */
  private mustTrust(what: string): void { if (!this.trusted) { throw new DataKitError('Untrusted', `This workspace is not trusted, so DataKit CI ${what}. Trust it to go on.`); } }

  /** The git CLI reader of the repository, started on first use; none in an untrusted workspace. */
  private repo(): Promise<SourceRepo> {
    if (!this.trusted) { return Promise.reject(new DataKitError('Untrusted', 'This workspace is not trusted, so DataKit CI runs no git process in it.')); }
    if (!this.source) {
      this.source = Promise.resolve().then(() => SourceRepo.fromDirs(this.dirs));
      this.source.catch(() => { this.source = undefined; }); // a failed start is tried again next time, not kept
    }
    return this.source;
  }

  // ---- The jobs of commits and of the working tree (commitJobs.ts) ----

  /** The commit's jobs and their keys (cached: a commit never changes). */
  jobsAt(commit: string): Promise<JobsAt> { return this.reader.jobsAt(commit); }
  /** The jobs of a commit as computed before by any process, without git; undefined if never (see keysCache.ts). */
  cachedJobsAt(commit: string): Promise<JobsAt | undefined> { return this.reader.cachedJobsAt(commit); }
  /** The jobs of a commit as the configuration `text` declares them. */
  jobsWithConfig(commit: string, text: string): Promise<JobsAt> { return this.reader.jobsWithConfig(commit, text); }
  /** The committed .datakit-ci.json of a commit, as text; undefined when it has none. */
  configText(commit: string): Promise<string | undefined> { return this.reader.configText(commit); }
  /** Whether `text` is the commit's .datakit-ci.json (false when it has none). */
  isCommittedConfig(commit: string, text: string): Promise<boolean> { return this.reader.isCommittedConfig(commit, text); }
  /** The jobs of each commit of a list, newest first (see JobsReader.jobsOfCommits). */
  jobsOfCommits(commits: readonly string[], given?: string, options: { saved?: boolean } = {}): Promise<CommitJobs[]> { return this.reader.jobsOfCommits(commits, given, options); }
  /** The working tree's jobs, keyed as a commit of its content would be. */
  worktreeJobs(options: { paths?: readonly string[]; previous?: WorktreeState } = {}): Promise<WorktreeJobs> { return this.reader.worktreeJobs(options); }

  // ---- The user's repository ----

  /** A commit's id (HEAD's read from files, without git, when it is a commit whose keys were sealed here). */
  async resolve(rev: string): Promise<string> { return (rev === 'HEAD' ? this.reader.sealedCommit(readHead(this.dirs)?.commit) : undefined) ?? (await this.repo()).resolve(rev); }
  async targets(branches: boolean): Promise<Target[]> { return listTargets(await this.repo(), { branches }); }

  /** HEAD and the earlier commits of its branch (see targets.branchTargets). */
  async branchTargets(max: number): Promise<{ targets: Target[]; info: BranchInfo }> { return branchTargets(await this.repo(), max); }

  /** HEAD as a target, read from files only. */
  headTarget(): Target[] {
    const head = readHead(this.dirs);
    if (!head) { return []; }
    const name = head.branch ?? 'HEAD';
    return [{ name, commit: head.commit, isHead: true, label: `${name} @ ${head.commit.slice(0, 7)}` }];
  }

  /** The commits of a range `A..B`, newest first, at most `max`, and how many it has. */
  async rangeCommits(range: string, max: number): Promise<{ commits: { commit: string; subject: string }[]; total: number }> {
    return (await this.repo()).rangeCommits(range, max);
  }

  /** Whether the repository has a remote of that name. */
  async hasRemote(name: string): Promise<boolean> { return (await (await this.repo()).remoteUrl(name)) !== undefined; }

  /** A file of a commit (undefined when the commit has none). */
  async readCommitFile(commit: string, file: string): Promise<Buffer | undefined> { return (await this.repo()).readFile(commit, file); }

  /** Which of `paths` the working copy has as `commit` has them (the same blob, as git would hash it). */
  async unchangedSince(commit: string, files: readonly string[]): Promise<Set<string>> {
    const top = this.dirs.topLevel;
    // Regular files only, never through a link: git records a link itself, and a link to a FIFO would hang the hash.
    const paths = top ? files.filter((p) => fs.lstatSync(path.join(top, p), { throwIfNoEntry: false })?.isFile()) : [];
    if (!top || paths.length === 0) { return new Set(); }
    const [inCommit, hashed] = await Promise.all([(await this.repo()).objectIds(commit, paths), blobIds(top, paths)]);
    const same = new Set<string>();
    if ('ids' in hashed) { paths.forEach((p, i) => { if (hashed.ids[i] !== undefined && hashed.ids[i] === inCommit.get(p)) { same.add(p); } }); }
    return same;
  }

  /** How many paths of the working tree a commit would record differently from HEAD (0 without a working tree). */
  async uncommittedChanges(): Promise<number> {
    const repo = await this.repo();
    if (!repo.topLevel) { return 0; }
    const r = await repo.git(['--work-tree', repo.topLevel, 'status', '--porcelain', '-z', '--untracked-files=all'], { cwd: repo.topLevel });
    return r.stdout.toString('utf8').split('\0').filter((l) => /^[ MADRCUT?]{2} /.test(l)).length;
  }

  // ---- Statuses and builds (the cache) ----

  /** Fires on every change of a job's status (this process's builds, and results another process saved). */
  get onDidChange(): Event<StatusChange<JobKey, ShellValue>> { return this.cache.onDidChange; }

  /** The status in memory, without reading anything or starting anything. */
  peek(key: JobKey): JobStatus | undefined { return this.cache.peek(key); }

  /** Status from memory or the results repository; never builds. */
  query(key: JobKey): Promise<JobStatus | undefined> { return this.cache.query(key); }

  /** Status, building what is missing or marked for rebuild. */
  lookup(key: JobKey): Promise<JobStatus> {
    this.mustTrust('runs no job');
    return this.cache.lookup(undefined, key);
  }

  /** Marks a job's result for rebuild (the next lookup builds it again). */
  markForRebuild(key: JobKey): Promise<RebuildOutcome> {
    this.mustTrust('rebuilds nothing');
    return this.cache.markForRebuild(key);
  }

  /** Marks a job's result for rebuild and builds it again at once (ignored while it builds). */
  async rebuild(key: JobKey): Promise<RebuildOutcome> {
    const outcome = await this.markForRebuild(key);
    if (outcome !== 'pending') { await this.lookup(key); }
    return outcome;
  }

  /**
   * The keys of what matters first — the newest HEAD's and the working tree's jobs: their builds take free
   * slots before those of any other commit, those already queued included.
   */
  preferKeys(keys: Iterable<JobKey>): void {
    const next = new Set([...keys].map((k) => k.digest));
    if (next.size === this.urgent.size && [...next].every((d) => this.urgent.has(d))) { return; }
    this.urgent = next;
    this.pool.reprioritize();
  }

  /** Cancels a job's pending build (saved as cancelled); false if nothing was pending. */
  cancel(key: JobKey): boolean { return this.cache.cancel(key); }

  /** Cancels every pending build and resolves once each has saved its result. */
  cancelAll(): Promise<void> { return this.cache.cancelAll(); }

  /** Reads an entry again after another process saved or marked it (see watchResults). */
  reload(entry: string): Promise<void> { return this.cache.reload(entry); }

  /** The pid of another live process building this key, if any (never this process's). */
  async buildingElsewhere(key: JobKey): Promise<number | undefined> {
    const pid = await this.locks.holder(`${this.builder}/${entryName(key)}`);
    return pid === process.pid ? undefined : pid;
  }

  /** Runs another extension's builder on the same engine and results repository. */
  registerBuilder<K, V, C>(builder: Builder<K, V, C>): BuildCache<K, V, C> {
    this.mustTrust('runs no builder');
    return new BuildCache(builder, { store: this.store, logs: this.logs, metrics: this.metrics, pool: this.pool, ...(this.logger ? { logger: this.logger } : {}) });
  }

  // ---- Saved results ----

  /** The results repository's branch of a key. */
  ref(key: JobKey): string { return this.store.refName(this.builder, entryName(key)); }

  /** Every saved state of a key's entry, newest first. */
  history(key: JobKey): Promise<HistoryItem[]> { return this.store.history(this.builder, entryName(key)); }

  /** The last builds of a job across every key it has had, newest first. */
  jobHistory(job: string, limit = 50): Promise<JobBuild[]> { return this.info.jobHistory(job, limit); }

  /** Where a saved result of `key` came from, when not from a build of its own commit. */
  provenance(key: JobKey, resultCommit: string): Promise<Provenance> { return this.info.provenance(key, resultCommit); }

  /** The remote a saved result was fetched from, if any. */
  fetchedFrom(key: JobKey, resultCommit: string): Promise<string | undefined> { return this.info.fetchedFrom(key, resultCommit); }

  /** What a saved result was built from, as its key.json records it: the source commit, and whether from its working tree. */
  resultOrigin(resultCommit: string): Promise<{ readonly commit?: string; readonly worktree: boolean }> { return this.info.origin(resultCommit); }

  /** Where a log's absolute paths may start: the working copy, and each checkout a job or a setup ran in. */
  problemRoots(): Promise<string[]> { return problemRoots(this.buildRoot, this.dirs.topLevel); }

  /** When a saved result started and finished, how long it ran and waited, who built it. */
  resultTimes(resultCommit: string): Promise<CommitTimes> { return this.store.commitTimes(resultCommit); }

  /** The log a result saved, as text. */
  readLog(saved: { readonly commit: string }): Promise<string> { return this.store.readLog(saved); }

  /** The output files a successful result saved (paths under its `value/`, with their git modes). */
  async outputFiles(saved: Saved): Promise<{ path: string; mode: string }[]> {
    const files = await this.store.snapshot(saved.commit).files();
    return files.filter((f) => f.path.startsWith('value/')).map((f) => ({ ...f, path: f.path.slice('value/'.length) }));
  }

  /** The bytes of one output file a result saved. */
  readOutput(saved: Saved, file: string): Promise<Uint8Array> { return this.store.snapshot(saved.commit).readFile(`value/${file}`); }

  /** The problems a failed result's log names (its job's matcher, or the default one). */
  problems(key: JobKey, resultCommit: string, options: JobProblemsOptions = {}): Promise<MatchResult> {
    return jobProblems({ readLogBytes: () => this.store.readLogBytes({ commit: resultCommit }), commitFiles: (c) => this.commitFiles(c), buildRoot: this.buildRoot, topLevel: this.dirs.topLevel }, key, options);
  }

  /** The files of a commit, as git lists them; a commit git cannot read is an error, not an empty list. */
  async commitFiles(commit: string): Promise<Set<string>> {
    const r = await (await this.repo()).git(['ls-tree', '-r', '-z', '--name-only', commit]);
    if (r.code !== 0) { throw new DataKitError('UnknownRevision', `Cannot list the files of ${commit.slice(0, 12)}: ${r.stderr.trim()}`); }
    return new Set(r.stdout.toString('utf8').split('\0').filter(Boolean));
  }

  /**
   * What a job's key was made of and what changed since the job's previous build, file by file (see
   * explain.ts); with its saved result, who built it and where it came from. Never builds.
   */
  async explain(key: JobKey): Promise<Explanation> {
    const status = await this.query(key);
    const saved = status?.output.kind === 'saved' ? status.output.saved : undefined;
    const repo = this.trusted ? await this.repo() : undefined;
    const files = new InputFiles(repo, async () => (repo?.topLevel ? scanWorktree(repo) : undefined));
    return explainKey({ key, result: saved ? await this.info.buildInfo(entryName(key), saved.commit) : undefined, previous: await this.info.previousBuildOf(key), files });
  }

  // ---- Sharing and the disk ----

  /** Who signs the results saved here (said once by `build`), or why they are not signed (see signing.ts). */
  signing(): Promise<Signing> { return this.sign.signing(); }

  /**
   * Whether trusted builders are configured (fetched results are then used only when one signed them);
   * `accept: 'any'` uses them whatever their signature says (`--trust any`).
   */
  async trustedBuilders(accept?: FetchedResults): Promise<boolean> {
    if (accept) { this.acceptFetched(accept); }
    return this.sign.trust.configured();
  }

  /** `any`: fetched results are used whatever their signature says (the editor's `datakitCi.fetchedResults`). */
  acceptFetched(accept: FetchedResults): void { this.sign.trust.accept = accept; }

  /** Sends the results to a remote of the repository (see GitStore.pushTo). */
  push(remote = 'origin', options: { timeoutMs?: number } = {}): Promise<{ sent: number; upToDate: number; alreadyShared: number }> {
    this.mustTrust('pushes nothing');
    return this.store.pushTo(remote, path.join(this.dirs.commonDir, 'config'), options);
  }

  /** Claims of runners sharing a commit's jobs on `remote`, as `runner`, and the entry of each key there (see claims.ts). */
  claims(remote: string, runner: string, timeoutMs?: number): { claims: ReturnType<GitStore['claims']>; entry: (key: JobKey) => string } {
    this.mustTrust('claims nothing');
    return { claims: this.store.claims({ remote, userConfig: path.join(this.dirs.commonDir, 'config'), runner, ...(timeoutMs !== undefined ? { timeoutMs } : {}) }), entry: (k) => `${this.builder}/${entryName(k)}` };
  }

  /** Brings a remote's results here; lookups use them where there is no result of our own. */
  fetch(remote = 'origin', options: { timeoutMs?: number; claims?: boolean } = {}): Promise<{ results: number; changed: number }> {
    this.mustTrust('fetches nothing');
    return this.store.fetchFrom(remote, path.join(this.dirs.commonDir, 'config'), options);
  }

  /** Retention: keeps the results of HEAD and the local branches (see maintenance.ts). */
  async gc(options: GcOptions = {}): Promise<Awaited<ReturnType<typeof collectGarbage>>> {
    this.mustTrust('removes nothing');
    const commits = (await this.targets(true)).map((t) => t.commit);
    return collectGarbage({ store: this.store, locks: this.locks, builder: this.builder, buildRoot: this.buildRoot, commits, jobsAt: (c) => this.jobsAt(c) }, options);
  }

  /** Removes the build directories of jobs none of `commits` declares (see maintenance.ts). */
  clean(commits: readonly string[], options: { dryRun?: boolean } = {}): Promise<CleanResult> {
    this.mustTrust('removes nothing');
    return cleanBuildDirs({ buildRoot: this.buildRoot, commits, jobsAt: (c) => this.jobsAt(c) }, options);
  }

  /** Whether any result was ever saved here (by a build, or fetched and adopted). */
  async hasResults(): Promise<boolean> { return (await this.store.listEntries(this.builder)).length > 0; }
  /** The bytes of the results repository's objects. */
  resultsBytes(): number { return objectBytes(this.store.dir); }

  // ---- Watching (files only) ----

  /** Tells `onChange` when HEAD or a branch moves. */
  watchRefs(onChange: () => void): Disposable { return watchRefs(this.dirs, onChange); }

  /** Tells `onChange` when results of the jobs shown are saved or built by another process. */
  watchResults(jobs: () => Iterable<string>, onChange: (change: ResultsChange) => void): ResultsWatcher {
    const refsDir = path.join(this.store.dir, ...this.store.refPrefix.split('/').filter(Boolean), this.builder);
    return new ResultsWatcher({ resultsDir: this.store.dir, refsDir, locksDir: path.join(this.store.dir, 'locks', this.builder) }, jobs, onChange);
  }

  dispose(): void {
    this.cache.dispose();
    void this.source?.then((r) => r.dispose(), () => {});
  }
}
