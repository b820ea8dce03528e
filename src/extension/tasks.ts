// Jobs as VS Code tasks (type `datakit-ci`): "Tasks: Run Task" runs a job of HEAD (or of the working tree)
// through the cache — a cached result prints its saved log at once, a missing one builds with the live log in
// the task's terminal — so that a job can be bound to a key or named in another task's `dependsOn`. The
// job's problems come from its problem matcher as for any build (the Problems panel, source
// `DataKit CI: <job>`), not from VS Code's task matchers, so that each problem is reported once.
import * as vscode from 'vscode';
import type { Disposable } from '../shared/events';
import type { JobView, Session } from './session/session';
import type { Sessions } from './session/sessions';
import type { Operations } from './operations';

export const TASK_TYPE = 'datakit-ci';

export interface JobTaskDefinition extends vscode.TaskDefinition {
  readonly job: string;
  /** `head` (default) or `worktree`: the uncommitted changes. */
  readonly target?: 'head' | 'worktree';
}

export class JobTasks implements vscode.TaskProvider {
  constructor(private readonly sessions: Sessions, private readonly ops: Operations) {}

  provideTasks(): vscode.Task[] {
    const tasks: vscode.Task[] = [];
    for (const session of this.sessions.all) {
      const folder = vscode.workspace.getWorkspaceFolder(session.folder) ?? vscode.TaskScope.Workspace;
      for (const j of session.head?.jobs ?? []) { tasks.push(this.task(folder, { type: TASK_TYPE, job: j.key.job.name })); }
      for (const j of session.worktree?.jobs ?? []) { tasks.push(this.task(folder, { type: TASK_TYPE, job: j.key.job.name, target: 'worktree' })); }
    }
    return tasks;
  }

  resolveTask(task: vscode.Task): vscode.Task | undefined {
    const d = task.definition as JobTaskDefinition;
    if (typeof d.job !== 'string') { return undefined; }
    return this.task(task.scope ?? vscode.TaskScope.Workspace, d);
  }

  private task(scope: vscode.WorkspaceFolder | vscode.TaskScope, d: JobTaskDefinition): vscode.Task {
    const name = d.target === 'worktree' ? `${d.job} (working tree)` : d.job;
    const task = new vscode.Task(d, scope, name, 'DataKit CI', new vscode.CustomExecution(async () => new JobTerminal(this.sessions, this.ops, scope, d)), []);
    task.group = /test/.test(d.job) ? vscode.TaskGroup.Test : /build|compile/.test(d.job) ? vscode.TaskGroup.Build : undefined;
    task.detail = 'Through the DataKit CI cache: a cached result is shown, a missing one is built';
    return task;
  }
}

/** The task's terminal: runs (or reuses) the job and ends with its result's exit code. */
export class JobTerminal implements vscode.Pseudoterminal {
  private readonly write = new vscode.EventEmitter<string>();
  private readonly closed = new vscode.EventEmitter<number>();
  readonly onDidWrite = this.write.event;
  readonly onDidClose = this.closed.event;
  private readonly subscriptions: Disposable[] = [];

  constructor(private readonly sessions: Sessions, private readonly ops: Operations, private readonly scope: vscode.WorkspaceFolder | vscode.TaskScope, private readonly d: JobTaskDefinition) {}

  open(): void {
    // A task runs a job: through the operations, refused in an untrusted workspace, its errors said here too.
    void this.ops.run(`Run Task ${this.d.job}`, { runs: true, background: true, onNotDone: (said) => this.end(1, `DataKit CI: ${said}`) }, () => this.run());
  }

  private say(text: string): void {
    this.write.fire(text.replace(/\r?\n/g, '\r\n'));
  }

  private ended = false;

  private end(code: number, message?: string): void {
    if (this.ended) { return; }
    this.ended = true;
    if (message) { this.say(`${message}\n`); }
    for (const s of this.subscriptions.splice(0)) { s.dispose(); }
    this.closed.fire(code);
    this.write.dispose();
    this.closed.dispose();
  }

  private find(): { session: Session; view: JobView } | undefined {
    const folder = typeof this.scope === 'object' ? this.scope.uri.toString() : undefined;
    for (const session of this.sessions.all) {
      if (folder && session.folder.toString() !== folder) { continue; }
      const target = this.d.target === 'worktree' ? session.worktree : session.head;
      const view = target?.jobs.find((j) => j.key.job.name === this.d.job);
      if (view) { return { session, view }; }
    }
    return undefined;
  }

  private async run(): Promise<void> {
    await Promise.all(this.sessions.all.map((s) => s.refresh()));
    const found = this.find();
    if (!found) {
      const where = this.d.target === 'worktree' ? 'the working tree (it may not differ from HEAD)' : 'HEAD';
      return this.end(1, `DataKit CI: no job "${this.d.job}" in ${where}'s .datakit-ci.json.`);
    }
    const { session, view } = found;
    const first = await session.jobs.lookup(view.key);
    if (first.result.kind !== 'pending') {
      // A cached result: its saved log, then what it was.
      const saved = first.output.kind === 'saved' ? first.output.saved : undefined;
      if (saved) { this.say(await session.jobs.readLog(saved)); }
      return this.finish(first.result, true);
    }
    if (first.output.kind === 'live') {
      this.subscriptions.push(first.output.log.subscribe(0, (chunk) => this.say(chunk)));
    }
    const sub = session.jobs.onDidChange((change) => {
      if (change.key.digest !== view.key.digest || !change.status || change.status.result.kind === 'pending') { return; }
      this.finish(change.status.result, false);
    });
    this.subscriptions.push(sub);
    // It may have finished before the listener was there.
    const now = session.jobs.peek(view.key);
    if (now && now.result.kind !== 'pending') { this.finish(now.result, false); }
  }

  private finish(result: { kind: 'success' } | { kind: 'failure'; message: string }, cached: boolean): void {
    const name = this.d.job;
    this.say('\n');
    this.end(result.kind === 'success' ? 0 : 1, result.kind === 'success'
      ? `DataKit CI: ${name} passed${cached ? ' (cached)' : ''}.`
      : `DataKit CI: ${name} failed${cached ? ' (cached)' : ''}: ${result.message.split('\n')[0]}`);
  }

  /** Closing the terminal stops following the build, which goes on (its result is shared by the cache). */
  close(): void {
    for (const s of this.subscriptions.splice(0)) { s.dispose(); }
  }
}
