// One repository's jobs: its source (read with git), its results repository, and the shell builder's
// cache — what the command-line tool and the extension both work through.
import fs = require('node:fs');
import path = require('node:path');
import { LRUCache } from 'lru-cache';
import { BuildCache, type Logger } from '../engine/cache';
import { LogManager } from '../engine/liveLog';
import type { CacheMetrics } from '../engine/metrics';
import { Pool } from '../engine/pool';
import type { Status } from '../engine/status';
import { DataKitError } from '../shared/errors';
import { TRAILER, timesFromTrailers as timesOf, WORKTREE_SOURCE } from '../shared/resultCommit';
import { GitStore, type GcReport } from '../store/results/gitStore';
import { locateRepository, readHead, type RepositoryDirs } from '../store/source/gitDirs';
import { SourceRepo } from '../store/source/sourceRepo';
import { scanWorktree, WorktreeOverlay, type WorktreeState } from '../store/source/worktree';
import { buildRoot, repoId } from './run/checkout';
import { cleanBuildRoot, type CleanResult } from './run/cleanup';
import { setupDirName } from './run/setup';
import { CONFIG_FILE, normalizeJob, parseConfig, type ConfigResult } from './config/config';
import { FileEntryLocks } from './run/entryLocks';
import { commitSource, computeKeys, entryName, TOOL, worktreeSource, type JobKey } from './keys/key';
import { readKeysCache, writeKeysCache } from './keys/keysCache';
import { ShellBuilder, type ShellValue } from './run/shellBuilder';
import { branchTargets, listTargets, type BranchInfo, type Target } from './targets';

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
}

/** The jobs that a commit declares. */
export interface JobsAt {
  readonly commit: string;
  /** `missing` when the commit has no .datakit-ci.json. */
  readonly config: ConfigResult | 'missing';
  /** One key per job, in file order; empty when the file is missing or broken. */
  readonly keys: readonly JobKey[];
}

/** Where a reused result came from (see RepoJobs.provenance). */
export interface Provenance {
  readonly builtFor?: string;
  readonly fromWorktree: boolean;
  readonly fetchedFrom?: string;
}

/** `cached · fetched from origin`, `cached · built from the working tree on 1a2b3c4`, `cached · built for 1a2b3c4`; undefined for a result of this very commit. */
export function reusedFrom(p: Provenance): string | undefined {
  if (p.fetchedFrom) { return `cached · fetched from ${p.fetchedFrom}`; }
  if (p.fromWorktree) { return `cached · built from the working tree${p.builtFor ? ` on ${p.builtFor.slice(0, 7)}` : ''}`; }
  return p.builtFor ? `cached · built for ${p.builtFor.slice(0, 7)}` : undefined;
}

/** The working tree's changes and its jobs (undefined `at`: it does not differ from HEAD). */
export interface WorktreeJobs {
  readonly state: WorktreeState;
  readonly at: JobsAt | undefined;
}

/** A commit's jobs in a list of commits, and whose configuration declared them (see `jobsOfCommits`). */
export interface CommitJobs {
  readonly at: JobsAt;
  /** `own`: its .datakit-ci.json; `given`: the file the caller gave; else the commit whose configuration it borrowed. */
  readonly from: 'own' | 'given' | string;
}

/** One build of a job, as `jobHistory` lists them. */
export interface JobBuild {
  readonly job: string;
  readonly result: 'success' | 'failure' | 'cancelled';
  /** The failure message's first line. */
  readonly failure?: string;
  /** The results-repository commit holding it (its log is there). */
  readonly commit: string;
  readonly ref: string;
  /** The commit it was built for, and that commit's subject when the repository has it. */
  readonly source?: string;
  readonly sourceSubject?: string;
  /** When it started and finished (whole seconds), ms since the epoch. */
  readonly started: number;
  readonly finished: number;
  readonly runMs?: number;
  readonly queuedMs?: number;
  readonly builtBy?: string;
  /** Built from the working tree over `source`, before it was committed. */
  readonly worktree?: true;
}

/** A saved key.json (see key.ts). */
export interface KeyRecord {
  tool?: string;
  digest?: string;
  job?: unknown;
  inputs?: Record<string, unknown>;
  commit?: string;
  /** Built from `commit`'s working tree (uncommitted changes over it). */
  worktree?: boolean;
}

export type JobStatus = Status<ShellValue>;

/**
 * The user's repository is read with git only when needed: showing saved results (as an untrusted
 * workspace does) reads files alone, since the keys of a commit, once computed, are kept beside the
 * results repository.
 */
export class RepoJobs {
  private readonly atCommit = new LRUCache<string, Promise<JobsAt>>({ max: 256 });
  private readonly builtForCache = new LRUCache<string, { commit?: string; worktree: boolean }>({ max: 512 });
  /** Every key computed here, by digest: a job's needs are found among them. */
  private readonly knownKeys = new LRUCache<string, JobKey>({ max: 1024 });
  /** The configuration text last read, for `configText` (asked of the commit just read). */
  private lastConfig: { readonly commit: string; readonly text: string | undefined } | undefined;
  private source: Promise<SourceRepo> | undefined;
  private readonly locks: FileEntryLocks;
  readonly cache: BuildCache<JobKey, ShellValue>;
  readonly tool = TOOL;

  private constructor(
    readonly dirs: RepositoryDirs,
    readonly store: GitStore,
    readonly logs: LogManager,
    readonly metrics: CacheMetrics | undefined,
    readonly pool: Pool,
    readonly buildRoot: string,
    private readonly logger: Logger | undefined,
    private readonly readOnly = false,
  ) {
    this.locks = new FileEntryLocks(path.join(store.dir, 'locks'));
    const builder = new ShellBuilder({ repo: () => this.repo(), buildRoot, keyOf: (digest) => this.knownKeys.get(digest) });
    this.cache = new BuildCache(builder, { store, logs, metrics, pool, locks: this.locks, logger });
  }

  static async open(options: RepoJobsOptions): Promise<RepoJobs> {
    const dirs = options.dirs ?? (options.dir !== undefined ? locateRepository(options.dir) : undefined);
    if (!dirs) { throw new DataKitError('NotARepository', `Not a git repository: ${options.dir ?? '(none given)'}`); }
    const store = await GitStore.open({ resultsDir: path.join(dirs.commonDir, 'datakit-ci'), onWarning: (m) => options.logger?.error(m), create: !options.readOnly });
    // No metrics unless asked for: the command line does without prom-client altogether.
    const metrics = options.metrics;
    const id = repoId(dirs.commonDir);
    const root = options.cacheDir ? path.join(options.cacheDir, id) : buildRoot(id);
    return new RepoJobs(dirs, store, options.logs ?? new LogManager(), metrics, options.pool ?? new Pool('builds', undefined, metrics), root, options.logger, options.readOnly ?? false);
  }

  /** A stable id of the repository (for URIs and build directories). */
  get id(): string {
    return repoId(this.dirs.commonDir);
  }

  /** The git CLI reader of the repository, started on first use. */
  repo(): Promise<SourceRepo> {
    if (!this.source) {
      this.source = Promise.resolve().then(() => SourceRepo.fromDirs(this.dirs));
      this.source.catch(() => { this.source = undefined; });
    }
    return this.source;
  }

  /** The commit's jobs and their keys (cached: a commit never changes). */
  jobsAt(commit: string): Promise<JobsAt> {
    let p = this.atCommit.get(commit);
    if (!p) {
      p = this.readJobs(commit);
      p.catch(() => this.atCommit.delete(commit)); // never keep a rejected promise as if it were a value
      this.atCommit.set(commit, p);
    }
    return p;
  }

  private keysFile(commit: string): string {
    return path.join(this.store.dir, 'keys', `${commit}.json`);
  }

  /**
   * The jobs of a commit as computed before (by any process), without running git; undefined if never. Only
   * for showing saved results: a build reads the commit's own configuration (see keysCache.ts).
   */
  cachedJobsAt(commit: string): Promise<JobsAt | undefined> {
    return readKeysCache(this.keysFile(commit), commit, (m) => this.logger?.error(m));
  }

  /**
   * The jobs of a commit as another configuration declares them (`--config FILE`): the keys are computed
   * from the commit's files as usual, and cover the definitions used, so they differ from the commit's own
   * wherever the definitions do.
   */
  async jobsWithConfig(commit: string, text: string): Promise<JobsAt> {
    const repo = await this.repo();
    await repo.resolve(commit);
    const config = parseConfig(text);
    const at: JobsAt = config.ok
      ? { commit, config, keys: await computeKeys(commitSource(repo, commit), commit, config.config.jobs, config.config.setup) }
      : { commit, config, keys: [] };
    for (const k of at.keys) { this.knownKeys.set(k.digest, k); }
    return at;
  }

  /** The committed .datakit-ci.json of a commit, as text; undefined when the commit has none. */
  async configText(commit: string): Promise<string | undefined> {
    if (this.lastConfig?.commit === commit) { return this.lastConfig.text; }
    const text = (await (await this.repo()).readFile(commit, CONFIG_FILE))?.toString('utf8');
    this.lastConfig = { commit, text };
    return text;
  }

  /** Always from the commit itself: nothing under the results repository decides what runs. */
  private async readJobs(commit: string): Promise<JobsAt> {
    const repo = await this.repo();
    const text = (await repo.readFile(commit, CONFIG_FILE))?.toString('utf8');
    this.lastConfig = { commit, text };
    let at: JobsAt;
    if (text === undefined) {
      at = { commit, config: 'missing', keys: [] };
    } else {
      const config = parseConfig(text);
      at = config.ok
        ? { commit, config, keys: await computeKeys(commitSource(repo, commit), commit, config.config.jobs, config.config.setup) }
        : { commit, config, keys: [] };
    }
    for (const k of at.keys) { this.knownKeys.set(k.digest, k); }
    if (!this.readOnly) { await writeKeysCache(this.keysFile(commit), at); }
    return at;
  }

  /**
   * Retention (see GitStore.gc): keeps every result of HEAD's and each local branch's jobs, the last
   * `keepBuilds` builds of each key and whatever is younger than `maxAgeMs`; removes the rest, the keys
   * files of commits gone with them and the build directories of jobs no target declares.
   */
  async gc(options: { maxAgeMs?: number; keepBuilds?: number; maxBytes?: number } = {}): Promise<GcReport & { buildDirs: number }> {
    const targets = await this.targets(true);
    const keep = new Set<string>();
    for (const t of targets) {
      const at = await this.jobsAt(t.commit).catch(() => undefined);
      for (const k of at?.keys ?? []) { keep.add(entryName(k)); }
    }
    const builder = this.cache.builder.name;
    const maxAgeMs = options.maxAgeMs ?? 30 * 86_400_000;
    const report = await this.store.gc(builder, {
      keep: (entry) => keep.has(entry),
      busy: async (entry) => (await this.locks.holder(`${builder}/${entry}`)) !== undefined,
      maxAgeMs, keepBuilds: options.keepBuilds ?? 10, ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
    });
    // The keys of commits no target holds, computed long ago, go too (they are computed again when needed).
    const keysDir = path.join(this.store.dir, 'keys');
    const current = new Set(targets.map((t) => `${t.commit}.json`));
    for (const f of await fs.promises.readdir(keysDir).catch(() => [] as string[])) {
      const st = await fs.promises.stat(path.join(keysDir, f)).catch(() => undefined);
      if (st && !current.has(f) && Date.now() - st.mtimeMs > maxAgeMs) { await fs.promises.rm(path.join(keysDir, f), { force: true }); }
    }
    const cleaned = await this.clean(targets.map((t) => t.commit));
    return { ...report, buildDirs: cleaned.removed.length };
  }

  /**
   * Where a saved result of `key` came from, when not from a build of `key.commit` itself: the commit it was
   * built for, whether from that commit's working tree, and the remote it was fetched from.
   */
  async provenance(key: JobKey, resultCommit: string): Promise<Provenance> {
    const recorded = await this.origin(resultCommit);
    const fromWorktree = recorded.worktree && !key.worktree;
    const builtFor = recorded.commit !== undefined && (recorded.commit !== key.commit || fromWorktree) ? recorded.commit : undefined;
    const fetchedFrom = await this.fetchedFrom(key, resultCommit);
    return { fromWorktree, ...(builtFor ? { builtFor } : {}), ...(fetchedFrom ? { fetchedFrom } : {}) };
  }

  /** The remote a saved result was fetched from (the same commit as a fetched result of its entry), if any. */
  async fetchedFrom(key: JobKey, resultCommit: string): Promise<string | undefined> {
    return (await this.store.fetchedHeads(this.cache.builder.name, entryName(key))).find((f) => f.commit === resultCommit)?.remote;
  }

  /** Sends the results to a remote of the repository (see GitStore.pushTo). */
  push(remote = 'origin', options: { timeoutMs?: number } = {}): Promise<{ sent: number; upToDate: number; alreadyShared: number }> {
    return this.store.pushTo(remote, path.join(this.dirs.commonDir, 'config'), options);
  }

  /** Brings a remote's results here; lookups use them where there is no result of our own (see GitStore.fetchFrom). */
  fetch(remote = 'origin', options: { timeoutMs?: number } = {}): Promise<{ results: number; changed: number }> {
    return this.store.fetchFrom(remote, path.join(this.dirs.commonDir, 'config'), options);
  }

  /** How many paths of the working tree a commit would record differently from HEAD (0 without a working tree). */
  async uncommittedChanges(): Promise<number> {
    const repo = await this.repo();
    if (!repo.topLevel) { return 0; }
    const r = await repo.git(['--work-tree', repo.topLevel, 'status', '--porcelain', '-z', '--untracked-files=all'], { cwd: repo.topLevel });
    return r.stdout.toString('utf8').split('\0').filter((l) => /^[ MADRCUT?]{2} /.test(l)).length;
  }

  /**
   * The jobs of the working tree, keyed as a commit of its content would be (see store/worktree.ts), or
   * `at` undefined when it does not differ from HEAD. Its configuration is the working tree's .datakit-ci.json
   * (as a commit of it would have it). `paths` (with `previous`): only those paths changed since `previous`.
   * Nothing is written into the repository.
   */
  async worktreeJobs(options: { paths?: readonly string[]; previous?: WorktreeState } = {}): Promise<WorktreeJobs> {
    const repo = await this.repo();
    const state = await scanWorktree(repo, options);
    if (state.changes.size === 0) { return { state, at: undefined }; }
    const overlay = new WorktreeOverlay(repo, state);
    const change = state.changes.get(CONFIG_FILE);
    let text: string | undefined;
    if (change === undefined) {
      text = await this.configText(state.head);
    } else if (change !== null) {
      text = await fs.promises.readFile(path.join(repo.topLevel!, CONFIG_FILE), 'utf8').catch(() => undefined);
    }
    const commit = state.head;
    if (text === undefined) { return { state, at: { commit, config: 'missing', keys: [] } }; }
    const config = parseConfig(text);
    if (!config.ok) { return { state, at: { commit, config, keys: [] } }; }
    const worktree = { top: repo.topLevel!, state };
    const keys = (await computeKeys(worktreeSource(overlay), commit, config.config.jobs, config.config.setup)).map((k) => ({ ...k, worktree }));
    for (const k of keys) { if (!this.knownKeys.has(k.digest) || this.knownKeys.get(k.digest)!.worktree) { this.knownKeys.set(k.digest, k); } }
    return { state, at: { commit, config, keys } };
  }

  /**
   * The jobs of each commit of a list (a range, a branch), newest first. A commit uses its own configuration,
   * or `given` (a file's text) for every commit when there is one; a commit that has none uses the newest
   * configuration on the list (`from` says which commit's), and one that has no such neighbour stays without.
   * With `saved` (showing saved results only, never building), keys computed before are read back.
   */
  async jobsOfCommits(commits: readonly string[], given?: string, options: { saved?: boolean } = {}): Promise<CommitJobs[]> {
    if (given !== undefined) {
      return Promise.all(commits.map(async (commit) => ({ at: await this.jobsWithConfig(commit, given), from: 'given' as const })));
    }
    // `saved`: only to show saved results (never to build): the keys computed before, where they were.
    const own = await Promise.all(commits.map(async (c) => (options.saved ? await this.cachedJobsAt(c) : undefined) ?? this.jobsAt(c)));
    const newest = own.find((at) => at.config !== 'missing');
    const text = newest ? await this.configText(newest.commit) : undefined;
    return Promise.all(own.map(async (at) => at.config !== 'missing' || !newest || text === undefined
      ? { at, from: 'own' as const }
      : { at: await this.jobsWithConfig(at.commit, text), from: newest.commit }));
  }

  async resolve(rev: string): Promise<string> {
    return (await this.repo()).resolve(rev);
  }

  async targets(branches: boolean): Promise<Target[]> {
    return listTargets(await this.repo(), { branches });
  }

  /** HEAD and the earlier commits of its branch (see targets.branchTargets). */
  async branchTargets(max: number): Promise<{ targets: Target[]; info: BranchInfo }> {
    return branchTargets(await this.repo(), max);
  }

  /** HEAD as a target, read from files only. */
  headTarget(): Target[] {
    const head = readHead(this.dirs);
    if (!head) { return []; }
    const name = head.branch ?? 'HEAD';
    return [{ name, commit: head.commit, isHead: true, label: `${name} @ ${head.commit.slice(0, 7)}` }];
  }

  /** Status from memory or the results repository; never builds. */
  query(key: JobKey): Promise<JobStatus | undefined> {
    return this.cache.query(key);
  }

  /** Status, building what is missing or marked for rebuild. */
  lookup(key: JobKey): Promise<JobStatus> {
    return this.cache.lookup(undefined, key);
  }

  /** The pid of another live process building this key, if any (never this process's). */
  async buildingElsewhere(key: JobKey): Promise<number | undefined> {
    const pid = await this.locks.holder(`${this.cache.builder.name}/${entryName(key)}`);
    return pid === process.pid ? undefined : pid; // this process's own build is no other's
  }

  ref(key: JobKey): string {
    return this.store.refName(this.cache.builder.name, entryName(key));
  }

  history(key: JobKey) {
    return this.store.history(this.cache.builder.name, entryName(key));
  }

  normalizedJob(key: JobKey): string {
    return normalizeJob(key.job);
  }

  /** The source commit that a saved result was built for, as its key.json records it (kept: it never changes). */
  async builtFor(resultCommit: string): Promise<string | undefined> {
    return (await this.origin(resultCommit)).commit;
  }

  /**
   * What a saved result was built from, as its key.json records it: the source commit, and whether it was
   * that commit's working tree (kept: a result never changes).
   */
  async origin(resultCommit: string): Promise<{ commit?: string; worktree: boolean }> {
    const known = this.builtForCache.get(resultCommit);
    if (known !== undefined) { return known; }
    let found: { commit?: string; worktree: boolean } = { worktree: false };
    try {
      const record = JSON.parse(Buffer.from(await this.store.snapshot(resultCommit).readFile('key.json')).toString('utf8')) as KeyRecord;
      found = { ...(typeof record.commit === 'string' && record.commit ? { commit: record.commit } : {}), worktree: record.worktree === true };
    } catch {
      // no key.json (another builder's entry): nothing to say
    }
    this.builtForCache.set(resultCommit, found);
    return found;
  }

  /**
   * The last `limit` builds of a job, whatever the commit they were built for (every key the job has had),
   * newest first: result, duration, source commit and its subject, who built it.
   */
  async jobHistory(job: string, limit = 50): Promise<JobBuild[]> {
    const builds = await this.store.recentBuilds(this.cache.builder.name, `${job}/`, limit);
    // Results saved before their messages named their source: key.json says it.
    const sources = await Promise.all(builds.map(async (b) => b.trailers[TRAILER.sourceCommit] ?? await this.builtFor(b.commit)));
    const subjects = await (await this.repo()).commitSubjects(sources.filter((s): s is string => s !== undefined));
    const out: JobBuild[] = [];
    builds.forEach((b, i) => {
      const source = sources[i];
      out.push({
        job, result: b.result === 'success' ? 'success' : b.reason === 'cancelled' ? 'cancelled' : 'failure',
        ...(b.failure !== undefined && b.result === 'failure' ? { failure: b.failure } : {}),
        commit: b.commit, ref: `${this.store.refPrefix}${this.cache.builder.name}/${b.entry}`,
        ...(source ? { source, ...(subjects.has(source) ? { sourceSubject: subjects.get(source) } : {}) } : {}),
        started: b.started, finished: b.time, ...timesOf(b.trailers),
        ...(b.trailers[TRAILER.source] === WORKTREE_SOURCE ? { worktree: true as const } : {}),
      });
    });
    return out;
  }

  /** key.json of the most recent other saved build of the same job (what it was built from before). */
  async previousKeyOf(key: JobKey): Promise<KeyRecord | undefined> {
    const mine = entryName(key);
    const others = (await this.store.listEntries(this.cache.builder.name))
      .filter((e) => e.entry.startsWith(`${key.job.name}/`) && e.entry !== mine);
    let best: { time: number; record: KeyRecord } | undefined;
    for (const e of others) {
      const snap = this.store.snapshot(e.commit, e.ref);
      if (!(await snap.exists('key.json'))) { continue; }
      const time = (await this.store.commitTimes(e.commit)).finished;
      if (!best || time > best.time) {
        best = { time, record: JSON.parse(Buffer.from(await snap.readFile('key.json')).toString('utf8')) as KeyRecord };
      }
    }
    return best?.record;
  }

  /**
   * Removes the build directories of jobs that none of `commits` declares (renamed and deleted jobs), the
   * setup products of keys none of them uses, and what earlier layouts left; what a build holds stays.
   */
  async clean(commits: readonly string[], options: { dryRun?: boolean } = {}): Promise<CleanResult> {
    const jobs = new Set<string>();
    const setups = new Set<string>();
    for (const commit of commits) {
      for (const k of (await this.jobsAt(commit)).keys) {
        jobs.add(k.job.name);
        if (k.setup) { setups.add(setupDirName(k.setup)); }
      }
    }
    return cleanBuildRoot(this.buildRoot, { jobs, setups }, options);
  }

  dispose(): void {
    this.cache.dispose();
    void this.source?.then((r) => r.dispose(), () => {});
  }
}
