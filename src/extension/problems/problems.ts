// The problems a finished job's log names, in the Problems panel: its log matched with the job's problem
// matcher (or the default one) in a worker thread, each finding placed on the working copy's file when it is
// unchanged since the build's commit, else on a read-only view of the file as it was then (a working-tree
// build's, on the working copy's). Kept for HEAD's and the working tree's jobs; replaced when the job passes,
// is built again or its matcher changes. One log is matched at a time.
import * as path from 'path';
import * as vscode from 'vscode';
import { matchableFailure } from '../../jobs/jobProblems';
import type { Finding } from '../../jobs/problems/matchLog';
import { plain, plainLines } from '../../shared/format';
import type { JobView, Session } from '../session/session';
import type { Sessions } from '../session/sessions';
import { withChanges, type SourceFiles } from './sourceFiles';

const SEVERITY: Record<Finding['severity'], vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

interface Shown {
  /** The result and the matcher the problems come from. */
  readonly identity: string;
  readonly byUri: Map<string, vscode.Diagnostic[]>;
  /** The file of the repository each URI of byUri stands for (HEAD's may be a read-only view of it). */
  readonly files: Map<string, string>;
  readonly abort?: AbortController;
  /** The first finding the log names (its first error, else its first finding), once matched. */
  readonly first?: FirstFinding;
  /** Resolved once the matching of this result ended, however it ended. */
  readonly done?: Promise<void>;
}

/** The first problem of a failed job, as its tooltip and its failure notification lead with it. */
export interface FirstFinding {
  readonly uri: vscode.Uri;
  /** The file as the log names it, relative to the repository. */
  readonly file: string;
  readonly range: vscode.Range;
  readonly message: string;
  readonly severity: Finding['severity'];
}

/** `src/a.js:6:7: 'x' is assigned a value but never used (no-unused-vars)`. */
export function describeFinding(f: FirstFinding): string {
  // From a log: shown as text, its control characters neutralised.
  return plain(`${f.file}:${f.range.start.line + 1}:${f.range.start.character + 1}: ${f.message.split('\n')[0]}`);
}

/** What a finding is, for telling one reported by HEAD's build and the working tree's apart from two. */
function findingKey(d: vscode.Diagnostic): string {
  const r = d.range;
  return `${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character}|${d.severity}|${d.code ?? ''}|${d.message}`;
}

/** The same finding, its source saying which build alone reports it. */
function from(d: vscode.Diagnostic, which: string): vscode.Diagnostic {
  const copy = new vscode.Diagnostic(d.range, d.message, d.severity);
  copy.source = `${d.source ?? 'DataKit CI'} · ${which}`;
  if (d.code !== undefined) { copy.code = d.code; }
  return copy;
}

/** The id of a job's HEAD entry (`<session>:<job>`), whichever entry of it `id` is. */
function groupOf(id: string): string {
  return id.endsWith(':worktree') ? id.slice(0, -':worktree'.length) : id;
}

export class JobProblems implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('datakit-ci-problems');
  /** By `<session>:<job name>[:worktree]`. */
  private readonly shown = new Map<string, Shown>();
  private readonly subscription: { dispose(): void };
  /** What each job's last matching said went wrong (for tests; the output channel has it too). */
  readonly failures = new Map<string, string>();
  private readonly _onDidUpdate = new vscode.EventEmitter<string>();
  /** Fired with the job's id after its problems were replaced. */
  readonly onDidUpdate = this._onDidUpdate.event;
  /** Matching is serial: a Build Now with 20 failures does not start 20 threads each decoding 16 MiB. */
  private queue: Promise<void> = Promise.resolve();
  private disposed = false;

  constructor(private readonly sessions: Sessions, private readonly sources: SourceFiles, private readonly log: (m: string) => void) {
    this.subscription = sessions.onDidChange(() => this.sync());
  }

  private sync(): void {
    if (this.disposed) { return; }
    const wanted = new Map<string, { session: Session; job: JobView; result: string | undefined; identity: string | undefined }>();
    for (const session of this.sessions.all) {
      // Reading the commit's files runs git: nothing of it in an untrusted workspace (trust opens the sessions again).
      if (!session.jobs.trusted) { continue; }
      for (const target of [session.head, session.worktree]) {
        for (const job of target?.jobs ?? []) {
          const id = `${session.id}:${job.key.job.name}${target!.target.worktree ? ':worktree' : ''}`;
          // A failure's problems; a pass or a build in progress clears them. Its matcher is part of what is
          // shown: editing it (not part of the key) matches the same log again.
          const result = matchableFailure(job.status);
          const identity = result === undefined ? undefined : `${result}\0${JSON.stringify(job.key.job.problemMatcher ?? null)}`;
          wanted.set(id, { session, job, result, identity });
        }
      }
    }
    for (const id of this.shown.keys()) { if (!wanted.has(id)) { this.replace(id, undefined); } }
    for (const [id, w] of wanted) {
      if (this.shown.get(id)?.identity === w.identity) { continue; }
      this.replace(id, undefined); // the previous problems go at once, whatever comes next
      if (w.result === undefined || w.identity === undefined) { continue; }
      const abort = new AbortController();
      const { session, job, result, identity } = w;
      const done = this.queue.then(() => this.match(id, identity, session, job, result, abort.signal)).catch((e: Error) => {
        if (abort.signal.aborted) { return; }
        this.failures.set(id, e.message);
        this.log(`Could not match the problems of ${job.key.job.name}: ${e.message}`);
      });
      this.shown.set(id, { identity: w.identity, byUri: new Map(), files: new Map(), abort, done });
      this.queue = done;
    }
  }

  /** Whether what `identity` stands for is still what should be shown for `id`. */
  private current(id: string, identity: string, signal: AbortSignal): boolean {
    return !signal.aborted && !this.disposed && this.shown.get(id)?.identity === identity;
  }

  private async match(id: string, identity: string, session: Session, job: JobView, result: string, signal: AbortSignal): Promise<void> {
    if (!this.current(id, identity, signal)) { return; }
    const top = session.dirs.topLevel;
    const worktree = job.key.worktree !== undefined && top !== undefined;
    const headFiles = await this.sources.filesAt(session, job.key.commit);
    // A working-tree build saw HEAD's files as changed in the working tree.
    const files = worktree ? withChanges(headFiles, session.worktreeChanges?.changes) : headFiles;
    const { findings, total } = await session.jobs.problems(job.key, result, { files, signal });
    if (!this.current(id, identity, signal)) { return; }
    const uris = worktree
      ? new Map(findings.map((f) => [f.file, vscode.Uri.file(path.join(top, f.file))]))
      : await this.sources.locate(session, job.key.commit, findings.map((f) => f.file));
    if (!this.current(id, identity, signal)) { return; }
    const byUri = new Map<string, vscode.Diagnostic[]>();
    const fileOf = new Map<string, string>();
    const source = `DataKit CI: ${job.key.job.name}`;
    for (const f of findings) {
      const start = new vscode.Position(f.line - 1, f.column - 1);
      const end = f.endLine !== undefined ? new vscode.Position(f.endLine - 1, Math.max(0, (f.endColumn ?? f.column + 1) - 1)) : start.translate(0, 1);
      // A log's words (a fetched result's, whoever made it): shown as text, their lines kept.
      const d = new vscode.Diagnostic(new vscode.Range(start, end), plainLines(f.message), SEVERITY[f.severity]);
      d.source = source;
      if (f.code !== undefined) { d.code = f.code; }
      const uri = uris.get(f.file)!.toString();
      byUri.set(uri, [...(byUri.get(uri) ?? []), d]);
      fileOf.set(uri, f.file);
    }
    if (total > findings.length && findings.length > 0) {
      // The rest are counted, where the first one is.
      const first = uris.get(findings[0]!.file)!.toString();
      const more = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 1), `… and ${total - findings.length} more problems of ${job.key.job.name} (the first ${findings.length} are shown; the log has them all)`, vscode.DiagnosticSeverity.Information);
      more.source = source;
      byUri.get(first)!.push(more);
    }
    this.failures.delete(id);
    const f = findings.find((x) => x.severity === 'error') ?? findings[0];
    const first = f && byUri.get(uris.get(f.file)!.toString())?.find((d) => d.message === plainLines(f.message) && d.range.start.line === f.line - 1);
    this.replace(id, { identity, byUri, files: fileOf, ...(f && first ? { first: { uri: uris.get(f.file)!, file: f.file, range: first.range, message: first.message, severity: f.severity } } : {}) });
  }

  private replace(id: string, next: Shown | undefined): void {
    const before = this.shown.get(id);
    if (before && before !== next) { before.abort?.abort(); }
    if (next) { this.shown.set(id, next); } else { this.shown.delete(id); }
    // The other build of the same job (HEAD's, the working tree's) is told apart anew where they differ.
    const group = groupOf(id);
    const other = this.shown.get(id === group ? `${group}:worktree` : group);
    const touched = new Set([...(before?.byUri.keys() ?? []), ...(next?.byUri.keys() ?? []), ...(other?.byUri.keys() ?? [])]);
    if (touched.size === 0 && !next) { return; }
    for (const uri of touched) { this.collection.set(vscode.Uri.parse(uri), this.merged(uri)); }
    this._onDidUpdate.fire(id);
  }

  /**
   * A file's problems, each finding once: one that HEAD's build and the working tree's build of a job both
   * report in the same file is shown once, as `DataKit CI: <job>`, where the working tree's build puts it: on
   * the working copy's file (HEAD's build puts its own on a read-only view of the committed file when the
   * working copy differed as they were matched). Where they differ, its source says which build alone
   * reports it (`DataKit CI: <job> · working tree`, `… · HEAD`).
   */
  private merged(uri: string): vscode.Diagnostic[] {
    const out: vscode.Diagnostic[] = [];
    for (const [id, s] of this.shown) {
      const mine = s.byUri.get(uri) ?? [];
      if (mine.length === 0) { continue; }
      const otherId = id.endsWith(':worktree') ? groupOf(id) : `${id}:worktree`;
      const other = this.shown.get(otherId);
      if (!other) { out.push(...mine); continue; } // one build of the job shown: as it reports
      // The other build's findings in the same file, wherever it put them.
      const file = s.files.get(uri);
      const theirs = new Set([...other.byUri].filter(([u]) => other.files.get(u) === file).flatMap(([, ds]) => ds.map(findingKey)));
      const worktree = id.endsWith(':worktree');
      for (const d of mine) {
        if (!theirs.has(findingKey(d))) { out.push(from(d, worktree ? 'working tree' : 'HEAD')); } else if (worktree) { out.push(d); }
      }
    }
    return out;
  }

  /** The first finding of a job's failure shown now (HEAD's, or the working tree's with `worktree`). */
  first(session: Session, job: string, worktree = false): FirstFinding | undefined {
    return this.shown.get(`${session.id}:${job}${worktree ? ':worktree' : ''}`)?.first;
  }

  /**
   * The first finding of a job of HEAD that just failed, once its log has been matched (undefined when it names
   * none, or when the matching failed: that is said in the output channel).
   */
  async firstOnceMatched(session: Session, job: JobView): Promise<FirstFinding | undefined> {
    this.sync();
    const id = `${session.id}:${job.key.job.name}${job.key.worktree !== undefined ? ':worktree' : ''}`;
    await this.shown.get(id)?.done;
    return this.shown.get(id)?.first;
  }

  /** A failed job's first problem as its notification says it, and a way to show it (the file, then Problems). */
  async firstProblem(session: Session, job: JobView): Promise<{ readonly text: string; show(): Promise<void> } | undefined> {
    const first = await this.firstOnceMatched(session, job);
    return first && {
      text: describeFinding(first),
      show: async () => {
        await vscode.window.showTextDocument(first.uri, { selection: first.range });
        await vscode.commands.executeCommand('workbench.actions.view.problems');
      },
    };
  }

  dispose(): void {
    this.disposed = true;
    for (const s of this.shown.values()) { s.abort?.abort(); }
    this.subscription.dispose();
    this.collection.dispose();
    this._onDidUpdate.dispose();
  }
}
