// The sessions of a window: one per git repository among the workspace folders, kept in step with folders
// added and removed, sharing one log manager, metrics registry and build pool.
import * as vscode from 'vscode';
import { Emitter } from '../../shared/events';
import { LogManager } from '../../engine/liveLog';
import { CacheMetrics } from '../../engine/metrics';
import { Pool } from '../../engine/pool';
import { RepoJobs } from '../../jobs/repoJobs';
import { locateRepository } from '../../store/source/gitDirs';
import { Session, type JobView } from './session';
import { readSettings } from '../settings';

export type WorkspaceState = 'loading' | 'noFolder' | 'noRepository' | 'noConfig' | 'ready';

export class Sessions implements vscode.Disposable {
  readonly logs: LogManager;
  readonly metrics = new CacheMetrics();
  readonly pool: Pool;
  private readonly byCommonDir = new Map<string, Session>();
  private readonly _onDidChange = new Emitter<void>();
  readonly onDidChange = this._onDidChange.event;
  private readonly disposables: vscode.Disposable[] = [];
  state: WorkspaceState = 'loading';
  /** The last failure notifications shown (the newest last), as worded. */
  readonly told: string[] = [];
  private syncing: Promise<void> = Promise.resolve();

  constructor(private readonly output: vscode.LogOutputChannel, private readonly storage: vscode.Uri | undefined) {
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

  private async doSync(): Promise<void> {
    const folders = vscode.workspace.workspaceFolders ?? [];
    const wanted = new Map<string, { folder: vscode.Uri; dirs: NonNullable<ReturnType<typeof locateRepository>> }>();
    for (const f of folders) {
      if (f.uri.scheme !== 'file') { continue; }
      const dirs = locateRepository(f.uri.fsPath);
      if (dirs && !wanted.has(dirs.commonDir)) { wanted.set(dirs.commonDir, { folder: f.uri, dirs }); }
    }
    for (const [common, session] of this.byCommonDir) {
      if (!wanted.has(common)) {
        session.dispose();
        this.byCommonDir.delete(common);
      }
    }
    const started: Session[] = [];
    for (const [common, { folder, dirs }] of wanted) {
      if (this.byCommonDir.has(common)) { continue; }
      try {
        const jobs = await RepoJobs.open({
          dirs, logs: this.logs, metrics: this.metrics, pool: this.pool,
          cacheDir: this.storage ? vscode.Uri.joinPath(this.storage, 'builds').fsPath : undefined,
          logger: { info: (m) => this.output.info(m), error: (m) => this.output.error(m) },
        });
        const session = new Session(jobs, dirs, folder, () => vscode.workspace.isTrusted, () => readSettings(folder),
          (s, job) => this.notifyFailure(s, job), (m) => this.output.info(m));
        session.onDidChange(() => { this.updateState(); this._onDidChange.fire(); });
        this.byCommonDir.set(common, session);
        started.push(session);
      } catch (e) {
        this.output.error(`Could not open the repository at ${dirs.topLevel ?? dirs.gitDir}: ${(e as Error).message}`);
      }
    }
    this.updateState();
    this._onDidChange.fire();
    await Promise.all(started.map((s) => s.start().catch((e) => this.output.error(`${s.name}: ${(e as Error).message}`))));
    for (const s of started) { this.fetchIfDue(s); }
    this.updateState();
    this._onDidChange.fire();
  }

  /** When each session last fetched (see fetchIfDue). */
  private readonly lastFetch = new WeakMap<Session, number>();

  /**
   * Fetches a session's results from origin if `datakitCi.fetchIntervalMinutes` has passed since its last
   * fetch (on activation, and when the window gains focus); never in an untrusted workspace. In the
   * background: a remote that does not answer only says so in the log.
   */
  private fetchIfDue(s: Session): void {
    const minutes = readSettings(s.folder).fetchIntervalMinutes;
    const last = this.lastFetch.get(s);
    if (minutes === 0 || !vscode.workspace.isTrusted || (last !== undefined && Date.now() - last < minutes * 60_000)) { return; }
    this.lastFetch.set(s, Date.now());
    void s.fetchResults().catch((e: Error) => this.output.warn(`${s.name}: ${e.message}`));
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

  private async onTrustGranted(): Promise<void> {
    this.output.info('The workspace is now trusted: computing keys and building.');
    for (const s of this.all) { await s.start(); }
  }

  private notifyFailure(session: Session, job: JobView): void {
    if (!readSettings(session.folder).notifyOnFailure) { return; }
    const msg = job.status?.result.kind === 'failure' ? job.status.result.message : '';
    const text = `DataKit CI: ${job.key.job.name} failed on ${session.head?.target.label ?? 'HEAD'} (it passed before): ${msg.split('\n')[0]}`;
    this.told.push(text);
    if (this.told.length > 20) { this.told.shift(); }
    void vscode.window.showErrorMessage(text, 'Show Log', 'Rebuild')
      .then((pick) => {
        if (pick) { void vscode.commands.executeCommand(pick === 'Rebuild' ? 'datakitCi.rebuild' : 'datakitCi.showLog', { session, job }); }
      });
  }

  /** Cancels every running build of every repository; resolves once each has saved its result. */
  async cancelAll(): Promise<void> {
    await Promise.all(this.all.map((s) => s.jobs.cache.cancelAll()));
  }

  dispose(): void {
    for (const s of this.byCommonDir.values()) { s.dispose(); }
    this.byCommonDir.clear();
    for (const d of this.disposables) { d.dispose(); }
    this._onDidChange.dispose();
  }
}
