// The sessions of a window: one per git repository among the workspace folders, kept in step with folders
// added and removed, sharing one log manager, metrics registry and build pool. A repository of an untrusted
// workspace is opened untrusted (it reads saved results and runs nothing); once trust is granted, every
// session is opened again, trusted.
import * as vscode from 'vscode';
import { Emitter } from '../../shared/events';
import { plain } from '../../shared/format';
import { LogManager } from '../../engine/liveLog';
import { CacheMetrics } from '../../engine/metrics';
import { Pool } from '../../engine/pool';
import { findRepository, RepoJobs, type RepositoryDirs } from '../../jobs/repoJobs';
import type { Operations } from '../operations';
import { readSettings } from '../settings';
import type { JobView, Memory } from './model';
import { Session, type SessionChange } from './session';

export type WorkspaceState = 'loading' | 'noFolder' | 'noRepository' | 'noConfig' | 'ready';

/** A change of one session (see SessionChange), or of the list of sessions (`session` undefined). */
export interface SessionsChange {
  readonly session?: Session;
  readonly change: SessionChange;
}

export class Sessions implements vscode.Disposable {
  readonly logs: LogManager;
  readonly metrics = new CacheMetrics();
  readonly pool: Pool;
  private readonly byCommonDir = new Map<string, Session>();
  private readonly _onDidChange = new Emitter<SessionsChange>();
  readonly onDidChange = this._onDidChange.event;
  private readonly disposables: vscode.Disposable[] = [];
  state: WorkspaceState = 'loading';
  /** The last failure notifications shown (the newest last), as worded. */
  readonly told: { readonly text: string; readonly actions: readonly string[] }[] = [];
  private syncing: Promise<void> = Promise.resolve();

  constructor(private readonly output: vscode.LogOutputChannel, private readonly ops: Operations, private readonly memory: Memory) {
    const s = readSettings();
    this.logs = new LogManager({ capBytes: s.logCapBytes });
    this.pool = new Pool('builds', s.maxParallelBuilds, this.metrics);
    void vscode.commands.executeCommand('setContext', 'datakitCi.state', this.state);
    this.disposables.push(
      vscode.workspace.onDidChangeWorkspaceFolders(() => { void this.sync(); }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => { void this.onTrustGranted(); }),
      vscode.window.onDidChangeWindowState((w) => { if (w.focused) { for (const s of this.all) { this.fetchIfDue(s); } } }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('datakitCi.maxParallelBuilds')) { this.pool.capacity = readSettings().maxParallelBuilds; }
        if (e.affectsConfiguration('datakitCi.targets')) { for (const s of this.all) { void s.refresh(); } }
      }),
    );
  }

  get all(): Session[] {
    return [...this.byCommonDir.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The session of the active editor's repository, else the first. */
  get active(): Session | undefined {
    const uri = vscode.window.activeTextEditor?.document.uri;
    const folder = uri && vscode.workspace.getWorkspaceFolder(uri);
    return this.all.find((s) => folder && s.folder.toString() === folder.uri.toString()) ?? this.all[0];
  }

  /** Opens sessions for new folders and closes those of removed ones. */
  sync(): Promise<void> {
    this.syncing = this.syncing.then(() => this.doSync()).catch((e) => this.output.error(`Could not read the workspace's repositories: ${e?.message ?? e}`));
    return this.syncing;
  }

  private wanted(): Map<string, { folder: vscode.Uri; dirs: RepositoryDirs }> {
    const wanted = new Map<string, { folder: vscode.Uri; dirs: RepositoryDirs }>();
    for (const f of vscode.workspace.workspaceFolders ?? []) {
      if (f.uri.scheme !== 'file') { continue; }
      const dirs = findRepository(f.uri.fsPath);
      if (dirs && !wanted.has(dirs.commonDir)) { wanted.set(dirs.commonDir, { folder: f.uri, dirs }); }
    }
    return wanted;
  }

  private async doSync(): Promise<void> {
    const wanted = this.wanted();
    for (const [common, session] of this.byCommonDir) {
      if (!wanted.has(common)) {
        session.dispose();
        this.byCommonDir.delete(common);
      }
    }
    const started: Session[] = [];
    for (const [common, { folder, dirs }] of wanted) {
      if (this.byCommonDir.has(common)) { continue; }
      const session = await this.open(folder, dirs).catch((e: Error) => { this.output.error(`Could not open the repository at ${dirs.topLevel ?? dirs.gitDir}: ${e.message}`); return undefined; });
      if (!session) { continue; }
      this.byCommonDir.set(common, session);
      started.push(session);
    }
    this.changed();
    // Each session tells its own targets once read: the tree is not redrawn whole again for nothing.
    await Promise.all(started.map((s) => s.start().catch((e) => this.output.error(`${s.name}: ${(e as Error).message}`))));
    for (const s of started) { this.fetchIfDue(s); }
    this.updateState();
  }

  private async open(folder: vscode.Uri, dirs: RepositoryDirs): Promise<Session> {
    const jobs = await RepoJobs.open({
      dirs, logs: this.logs, metrics: this.metrics, pool: this.pool, trusted: vscode.workspace.isTrusted,
      // A window lives for days: a job's toolInputs (node --version…) are asked again after a minute.
      runtimeInputsReuseMs: 60_000,
      logger: { info: (m) => this.output.info(m), error: (m) => this.output.error(m) },
    });
    // Read when the repository opens: a change of the setting applies from the next window.
    jobs.acceptFetched(readSettings(folder).fetchedResults);
    const session: Session = new Session(jobs, {
      folder, settings: () => readSettings(folder), ops: this.ops,
      onHeadBuildFailed: (job) => this.notifyFailure(session, job), log: (m) => this.output.info(m), memory: this.memory,
    });
    session.onDidChange((change) => { this.updateState(); this._onDidChange.fire({ session, change }); });
    return session;
  }

  /** The list of sessions changed (or their states): views read everything again. */
  private changed(): void {
    this.updateState();
    this._onDidChange.fire({ change: { kind: 'targets' } });
  }

  /** When each session last fetched (see fetchIfDue). */
  private readonly lastFetch = new WeakMap<Session, number>();

  /**
   * Fetches a session's results from origin if `datakitCi.fetchIntervalMinutes` has passed since its last
   * fetch (on activation, and when the window gains focus). In the background: a remote that does not
   * answer only says so in the log; an untrusted workspace fetches nothing.
   */
  private fetchIfDue(s: Session): void {
    const minutes = readSettings(s.folder).fetchIntervalMinutes;
    const last = this.lastFetch.get(s);
    if (minutes === 0 || !s.jobs.trusted || (last !== undefined && Date.now() - last < minutes * 60_000)) { return; }
    this.lastFetch.set(s, Date.now());
    void this.ops.run('Fetch Results', { runs: true, background: true, progress: true }, () => s.sharing.fetchResults());
  }

  private updateState(): void {
    const folders = vscode.workspace.workspaceFolders ?? [];
    const sessions = this.all;
    let state: WorkspaceState;
    if (folders.length === 0) { state = 'noFolder'; }
    else if (sessions.length === 0) { state = 'noRepository'; }
    else if (sessions.every((s) => s.targets.length > 0 && s.targets.every((t) => t.config === 'missing'))) { state = 'noConfig'; }
    else { state = 'ready'; }
    if (state !== this.state) {
      this.state = state;
      void vscode.commands.executeCommand('setContext', 'datakitCi.state', state);
    }
  }

  /** Trust granted: every session is opened again, trusted, and starts (computing keys, building). */
  private async onTrustGranted(): Promise<void> {
    this.output.info('The workspace is now trusted: computing keys and building.');
    for (const s of this.byCommonDir.values()) { s.dispose(); }
    this.byCommonDir.clear();
    await this.sync();
  }

  private notifyFailure(session: Session, job: JobView): void {
    if (!readSettings(session.folder).notifyOnFailure) { return; }
    void this.tellFailure(session, job);
  }

  /**
   * How a failed job's first problem is found and shown (set by the extension once its Problems are there):
   * the notification leads with it and offers Show Problem.
   */
  firstProblem?: (session: Session, job: JobView) => Promise<{ readonly text: string; show(): Thenable<unknown> } | undefined>;

  /** A pass → fail of a HEAD job, once its log has been matched: its first problem, [Show Problem] [Show Log]. */
  private async tellFailure(session: Session, job: JobView): Promise<void> {
    const msg = job.status?.result.kind === 'failure' ? job.status.result.message.split('\n')[0]! : '';
    const problem = await this.firstProblem?.(session, job).catch((e: Error) => {
      this.output.warn(`The first problem of ${job.key.job.name} could not be read for its notification: ${e.message}`);
      return undefined;
    });
    // The message and the problem are a result's own words (a fetched one's, whoever made it): shown, never acted on.
    const text = `DataKit CI: ${job.key.job.name} failed on ${session.head?.target.label ?? 'HEAD'} (it passed before): ${plain(problem?.text ?? msg)}`;
    const actions = [...(problem ? ['Show Problem'] : []), 'Show Log'];
    this.told.push({ text, actions });
    if (this.told.length > 20) { this.told.shift(); }
    const pick = await vscode.window.showErrorMessage(text, ...actions);
    if (pick === 'Show Problem') { await problem?.show(); }
    if (pick === 'Show Log') { await vscode.commands.executeCommand('datakitCi.showLog', { session, job }); }
  }

  /** Cancels every running build of every repository; resolves once each has saved its result. */
  async cancelAll(): Promise<void> {
    await Promise.all(this.all.map((s) => s.jobs.cancelAll()));
  }

  dispose(): void {
    for (const s of this.byCommonDir.values()) { s.dispose(); }
    this.byCommonDir.clear();
    for (const d of this.disposables) { d.dispose(); }
    this._onDidChange.dispose();
  }
}
