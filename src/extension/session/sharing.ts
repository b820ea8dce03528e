// A session's results beyond its builds: fetched from and pushed to `origin`, the results repository kept
// under its size cap, the build directories of jobs no longer declared removed. Each runs as an operation
// (see operations.ts): in the background when the editor starts it, refused in an untrusted workspace.
import type { Disposable } from '../../shared/events';
import { claimHolder } from '../../jobs/spread';
import type { JobView, SessionHost, SessionOptions } from './model';

/** How long after the last build finished results are pushed (`datakitCi.pushResults`). */
const PUSH_DEBOUNCE_MS = 2000;
/** How often the size of the results repository is looked at, at most. */
const GC_CHECK_MS = 60 * 60 * 1000;
/** How long after the window opened the results repository's size is first looked at. */
const GC_FIRST_CHECK_MS = 5000;
/** While another runner builds a job shown here (a claim on origin), how often origin is fetched again. */
const CLAIMED_FETCH_MS = 30_000;

export class SessionSharing implements Disposable {
  private pushTimer: NodeJS.Timeout | undefined;
  private gcTimer: NodeJS.Timeout | undefined;
  private gcRunning = false;
  private lastGcCheck = 0;
  private claimedTimer: NodeJS.Timeout | undefined;
  /** The claims of origin as this window saw them (kept, so that it knows how long each stayed unchanged). */
  private originClaims: ReturnType<SessionHost['jobs']['claims']> | undefined;

  constructor(private readonly session: SessionHost, private readonly options: SessionOptions) {}

  /** Off the activation path: the size is looked at once the window has settled. */
  start(): void {
    this.gcTimer = setTimeout(() => this.gcIfOversized(), GC_FIRST_CHECK_MS);
  }

  /** A build of this session saved a result: push it (when asked to) and keep the size in bounds. */
  afterBuild(): void {
    this.schedulePush();
    this.gcIfOversized();
  }

  /**
   * Fetches the results of the repository's `origin` (when it has one), then shows them: a job with no
   * result of its own takes the fetched one. Undefined when there is no origin to fetch from.
   */
  async fetchResults(): Promise<{ results: number; changed: number } | undefined> {
    const { jobs } = this.session;
    if (this.session.disposed || !(await jobs.hasRemote('origin'))) { return undefined; }
    // The claims of runners that share a commit's jobs (`build --runners`) come with the results.
    const r = await jobs.fetch('origin', { claims: true });
    this.options.log(`Fetched ${r.results} results from origin (${r.changed} new or moved)`);
    // A job shown without a result may have one now; one shown with its own keeps it.
    if (r.changed > 0) { await this.session.readUnread(this.session.targets.flatMap((t) => t.jobs)); }
    await this.showClaims();
    return r;
  }

  /**
   * Marks each job shown with no result that a runner claimed on origin (`building on <runner>`), and while
   * there is one, fetches again now and then (when fetching on its own is allowed) to show its result.
   */
  private async showClaims(): Promise<void> {
    const { jobs } = this.session;
    this.originClaims ??= jobs.claims('origin', 'editor');
    const { claims, entry } = this.originClaims;
    const seen = await claims.read();
    const changed: JobView[] = [];
    let claimed = 0;
    for (const j of this.session.targets.flatMap((t) => t.jobs)) {
      const c = j.status === undefined ? seen.get(entry(j.key)) : undefined;
      const by = c && { runner: claimHolder(c), ...(c.time !== undefined ? { since: c.time } : {}), unchangedMs: c.unchangedMs };
      if (by) { claimed++; }
      if (j.claimedBy?.runner !== by?.runner || j.claimedBy?.since !== by?.since) { changed.push(j); }
      j.claimedBy = by;
    }
    this.session.jobsChanged(changed);
    clearTimeout(this.claimedTimer);
    if (claimed === 0 || this.session.disposed || this.options.settings().fetchIntervalMinutes === 0) { return; }
    this.options.log(`${claimed} job${claimed === 1 ? ' is' : 's are'} building on other runners (claims on origin): fetching again in ${CLAIMED_FETCH_MS / 1000} s`);
    this.claimedTimer = setTimeout(() => {
      void this.options.ops.run('Fetch Results', { runs: true, background: true }, () => this.fetchResults());
    }, CLAIMED_FETCH_MS);
  }

  /** Pushes the results to `origin` (when it has one). */
  async pushResults(): Promise<{ sent: number; upToDate: number; alreadyShared: number } | undefined> {
    const { jobs } = this.session;
    if (this.session.disposed || !(await jobs.hasRemote('origin'))) { return undefined; }
    const r = await jobs.push('origin');
    this.options.log(`Pushed results to origin: ${r.sent} sent, ${r.upToDate} already there${r.alreadyShared ? `, ${r.alreadyShared} left as origin has them from another machine` : ''}`);
    return r;
  }

  /** With `datakitCi.pushResults`, pushes once builds have settled for a moment. */
  private schedulePush(): void {
    if (!this.options.settings().pushResults) { return; }
    clearTimeout(this.pushTimer);
    this.pushTimer = setTimeout(() => {
      void this.options.ops.run('Push Results', { runs: true, background: true, progress: true }, () => this.pushResults());
    }, PUSH_DEBOUNCE_MS);
  }

  /**
   * When the results repository has grown over `datakitCi.maxResultsSize`, runs the retention (see
   * RepoJobs.gc) in the background, with that cap; looked at on start and after builds, at most hourly.
   */
  private gcIfOversized(): void {
    const { jobs } = this.session;
    if (!jobs.trusted || this.gcRunning || Date.now() - this.lastGcCheck < GC_CHECK_MS) { return; }
    this.lastGcCheck = Date.now();
    const mib = this.options.settings().maxResultsSizeMiB;
    const size = jobs.resultsBytes();
    if (size <= mib * 1024 * 1024) { return; }
    this.gcRunning = true;
    this.options.log(`The results repository holds ${(size / 1048576).toFixed(0)} MiB, over Max Results Size (datakitCi.maxResultsSize, ${mib} MiB): removing old results`);
    void this.options.ops.run('Remove Old Results', { runs: true, background: true, progress: true }, async () => {
      const r = await jobs.gc({ maxBytes: mib * 1024 * 1024 });
      this.options.log(`Removed ${r.removed} old results and ${r.commitsDropped} older builds: ${(r.bytesBefore / 1048576).toFixed(0)} → ${(r.bytesAfter / 1048576).toFixed(0)} MiB${r.overCap ? ` (still over; left: ${r.left ?? 'unknown'})` : ''}`);
    }).finally(() => { this.gcRunning = false; });
  }

  /**
   * Removes, in the background, the build directories of jobs that no target declares any more (renamed or
   * deleted jobs): at start and when HEAD moves.
   */
  cleanInBackground(): void {
    const { jobs, targets } = this.session;
    if (!jobs.trusted || targets.length === 0) { return; }
    const commits = targets.map((t) => t.target.commit);
    void this.options.ops.run('Clean Build Directories', { runs: true, background: true }, async () => {
      const r = await jobs.clean(commits);
      if (r.removed.length > 0) { this.options.log(`Removed ${r.removed.length} folder${r.removed.length === 1 ? '' : 's'} of build directories no longer needed, freeing ${(r.bytes / 1024 / 1024).toFixed(1)} MiB: ${r.removed.join(', ')}`); }
    });
  }

  dispose(): void {
    clearTimeout(this.claimedTimer);
    clearTimeout(this.pushTimer);
    clearTimeout(this.gcTimer);
  }
}
