// What a session watches: the repository's refs (HEAD moved: the targets are read again and, with automatic
// builds, the new HEAD built), the working tree (its target kept in step; with `onSave`, a save builds it) and
// the results repository (a result another process saved is shown, a build it runs is said). File watches
// only; what they start goes through the operations (see operations.ts).
import * as path from 'path';
import * as vscode from 'vscode';
import type { Disposable } from '../../shared/events';
import type { ResultsChange } from '../../jobs/repoJobs';
import { entryName } from '../../jobs/keys/key';
import type { JobView, SessionHost, SessionOptions } from './model';

/** How long after the last reported change the working tree is read again. */
const WORKTREE_DEBOUNCE_MS = 300;
/** How long after the last save an `onSave` build of the working tree starts. */
const SAVE_DEBOUNCE_MS = 500;
/** Past this many paths reported (a dependency install, a branch switch), one full reading is cheaper. */
const MAX_REPORTED_PATHS = 500;

export class SessionWatchers implements Disposable {
  private readonly disposables: Disposable[] = [];
  private lastHead: string | undefined;
  /** The paths reported changed since the working tree was last read. */
  private readonly changedPaths = new Set<string>();
  private worktreeTimer: NodeJS.Timeout | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  /** The working tree's reading under way (see flushWorktree). */
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly session: SessionHost, private readonly options: SessionOptions) {}

  /** Starts watching; `head` is the commit HEAD is at now. */
  start(head: string | undefined): void {
    this.lastHead = head;
    const { jobs } = this.session;
    this.disposables.push(jobs.watchRefs(() => { void this.onRefsChanged(); }));
    this.watchWorktree();
    const results = jobs.watchResults(() => this.session.targets.flatMap((t) => t.jobs.map((j) => j.key.job.name)), (change) => { void this.onResultsChanged(change); });
    this.disposables.push(results, this.session.onDidChange((c) => { if (c.kind === 'targets') { results.sync(); } }));
  }

  private async onRefsChanged(): Promise<void> {
    if (this.session.disposed) { return; }
    const head = this.session.jobs.headTarget()[0]?.commit;
    const before = this.session.head?.jobs ?? [];
    await this.session.refresh();
    if (head !== this.lastHead) {
      this.lastHead = head;
      this.session.dropLeftBehind(before);
      await this.session.buildNewHead();
    }
  }

  /**
   * Watches the working tree: what changes is read again (those paths only) shortly after; with
   * `buildWorkingTree: onSave`, a save builds the working tree once the saves stop for a moment.
   */
  private watchWorktree(): void {
    const top = this.session.jobs.dirs.topLevel;
    if (!top) { return; }
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(top), '**'));
    const onPath = (uri: vscode.Uri): void => {
      const rel = path.relative(top, uri.fsPath).split(path.sep).join('/');
      if (rel === '' || rel.startsWith('..') || rel === '.git' || rel.startsWith('.git/')) { return; }
      this.changedPaths.add(rel);
      clearTimeout(this.worktreeTimer);
      this.worktreeTimer = setTimeout(() => { void this.flushWorktree(); }, WORKTREE_DEBOUNCE_MS);
    };
    this.disposables.push(watcher, watcher.onDidChange(onPath), watcher.onDidCreate(onPath), watcher.onDidDelete(onPath));
    this.disposables.push(vscode.workspace.onDidSaveTextDocument((doc) => {
      if (this.options.settings().buildWorkingTree !== 'onSave' || doc.uri.scheme !== 'file') { return; }
      const rel = path.relative(top, doc.uri.fsPath);
      if (rel.startsWith('..') || path.isAbsolute(rel)) { return; }
      onPath(doc.uri);
      clearTimeout(this.saveTimer);
      this.saveTimer = setTimeout(() => {
        this.options.log(`Building the working tree: ${rel} was saved (datakitCi.buildWorkingTree is onSave)`);
        void this.options.ops.run('Build the Working Tree on Save', { runs: true, background: true }, () => this.session.buildWorktree());
      }, SAVE_DEBOUNCE_MS);
    }));
  }

  /**
   * Reads again the paths reported changed (all of them past a few hundred), if any — after the reading
   * already under way: a build asked for meanwhile (a save) must see what that reading finds.
   */
  flushWorktree(): Promise<void> {
    clearTimeout(this.worktreeTimer);
    const next = this.flushing.then(async () => {
      if (this.changedPaths.size === 0) { return; }
      const paths = this.changedPaths.size > MAX_REPORTED_PATHS ? undefined : [...this.changedPaths];
      this.changedPaths.clear();
      await this.session.updateWorktree(paths);
    });
    this.flushing = next.catch(() => undefined); // the next reading waits for this one, failed or not (its caller is told)
    return next;
  }

  /** Results another process saved are read again; its builds are said on the jobs it builds. */
  private async onResultsChanged(change: ResultsChange): Promise<void> {
    if (this.session.disposed) { return; }
    const byEntry = new Map<string, JobView[]>();
    for (const j of this.session.targets.flatMap((t) => t.jobs)) { const e = entryName(j.key); byEntry.set(e, [...byEntry.get(e) ?? [], j]); }
    const entries = change.all ? [...byEntry.keys()] : change.moved;
    const { jobs } = this.session;
    for (const e of entries) {
      await jobs.reload(e);
      await this.session.readUnread(byEntry.get(e) ?? []);
    }
    const changed: JobView[] = [];
    for (const e of change.all ? entries : change.locked) {
      const views = byEntry.get(e);
      if (!views) { continue; }
      const pid = await jobs.buildingElsewhere(views[0]!.key);
      for (const j of views) { if (j.elsewhere !== pid) { j.elsewhere = pid; changed.push(j); } }
    }
    this.session.jobsChanged(changed);
  }

  dispose(): void {
    clearTimeout(this.worktreeTimer);
    clearTimeout(this.saveTimer);
    for (const d of this.disposables) { d.dispose(); }
  }
}
