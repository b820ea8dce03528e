// The problems a finished job's log names, in the Problems panel: its log matched with the job's problem
// matcher (or the default one) in a worker thread, each finding placed on the working copy's file when it is
// unchanged since the build's commit, else on a read-only view of the file as it was then. Kept for HEAD's
// and the working tree's jobs; replaced when the job passes or is built again.
import * as vscode from 'vscode';
import { jobProblems } from '../jobs/jobProblems';
import type { Finding } from '../jobs/matchLog';
import type { JobView, Session } from './session';
import type { Sessions } from './sessions';
import type { SourceFiles } from './sourceFiles';

const SEVERITY: Record<Finding['severity'], vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

export class JobProblems implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('datakit-ci-problems');
  /** By `<session>:<job name>`: the result whose problems are shown, and those problems by URI. */
  private readonly shown = new Map<string, { result: string; byUri: Map<string, vscode.Diagnostic[]> }>();
  private readonly subscription: { dispose(): void };
  /** What each job's last matching said went wrong (for the output channel and tests). */
  readonly failures = new Map<string, string>();
  private readonly _onDidUpdate = new vscode.EventEmitter<string>();
  /** Fired with `<session>:<job>` after that job's problems were replaced. */
  readonly onDidUpdate = this._onDidUpdate.event;

  constructor(private readonly sessions: Sessions, private readonly sources: SourceFiles, private readonly log: (m: string) => void) {
    this.subscription = sessions.onDidChange(() => this.sync());
  }

  private sync(): void {
    // Reading the commit's files runs git: nothing of it in an untrusted workspace (trust refreshes the sessions).
    if (!vscode.workspace.isTrusted) { return; }
    const wanted = new Map<string, { session: Session; job: JobView; result: string | undefined }>();
    for (const session of this.sessions.all) {
      for (const target of [session.head, session.worktree]) {
        for (const job of target?.jobs ?? []) {
          const s = job.status;
          const id = `${session.id}:${job.key.job.name}${target!.target.worktree ? ':worktree' : ''}`;
          // A failure's problems; a pass or a build in progress clears them.
          const result = s?.result.kind === 'failure' && s.output.kind === 'saved' && s.result.message !== 'Cancelled' ? s.output.saved.commit : undefined;
          wanted.set(id, { session, job, result });
        }
      }
    }
    for (const id of this.shown.keys()) { if (!wanted.has(id)) { this.replace(id, undefined); } }
    for (const [id, w] of wanted) {
      if ((this.shown.get(id)?.result) === w.result) { continue; }
      if (w.result === undefined) { this.replace(id, undefined); continue; }
      this.shown.set(id, { result: w.result, byUri: new Map() });
      void this.match(id, w.session, w.job, w.result).catch((e: Error) => {
        this.failures.set(id, e.message);
        this.log(`Could not match the problems of ${w.job.key.job.name}: ${e.message}`);
      });
    }
  }

  private async match(id: string, session: Session, job: JobView, result: string): Promise<void> {
    const commit = job.key.commit;
    const { findings, total } = await jobProblems(session.jobs, job.key, result, { worker: true, files: await this.sources.filesAt(session, commit) });
    if (this.shown.get(id)?.result !== result) { return; } // replaced meanwhile
    const uris = await this.sources.locate(session, commit, findings.map((f) => f.file));
    const byUri = new Map<string, vscode.Diagnostic[]>();
    const source = `DataKit CI: ${job.key.job.name}`;
    for (const f of findings) {
      const start = new vscode.Position(Math.max(0, f.line - 1), Math.max(0, f.column - 1));
      const end = f.endLine !== undefined ? new vscode.Position(f.endLine - 1, Math.max(0, (f.endColumn ?? f.column + 1) - 1)) : start.translate(0, 1);
      const d = new vscode.Diagnostic(new vscode.Range(start, end), f.message, SEVERITY[f.severity]);
      d.source = source;
      if (f.code !== undefined) { d.code = f.code; }
      const uri = uris.get(f.file)!.toString();
      byUri.set(uri, [...(byUri.get(uri) ?? []), d]);
    }
    if (total > findings.length && findings.length > 0) {
      // The rest are counted, where the first one is.
      const first = uris.get(findings[0]!.file)!.toString();
      const more = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 1), `… and ${total - findings.length} more problems of ${job.key.job.name} (the first ${findings.length} are shown; the log has them all)`, vscode.DiagnosticSeverity.Information);
      more.source = source;
      byUri.get(first)!.push(more);
    }
    this.failures.delete(id);
    this.replace(id, { result, byUri });
  }

  private replace(id: string, next: { result: string; byUri: Map<string, vscode.Diagnostic[]> } | undefined): void {
    const before = this.shown.get(id);
    if (next) { this.shown.set(id, next); } else { this.shown.delete(id); }
    const touched = new Set([...(before?.byUri.keys() ?? []), ...(next?.byUri.keys() ?? [])]);
    for (const uri of touched) {
      const all = [...this.shown.values()].flatMap((s) => s.byUri.get(uri) ?? []);
      this.collection.set(vscode.Uri.parse(uri), all);
    }
    this._onDidUpdate.fire(id);
  }

  dispose(): void {
    this.subscription.dispose();
    this.collection.dispose();
    this._onDidUpdate.dispose();
  }
}
