// The one way an action runs in the editor (as VS Code's git extension runs every change through
// `Repository.run`): workspace trust checked once, here, for everything that runs a process or writes; the
// Builds view's progress while it works; and every error turned into one message with the action that helps
// (Manage Workspace Trust, Open Log, Install Git, Open .datakit-ci.json). Commands, tasks, saves, HEAD moves,
// fetch, push and gc all come through here; an action started by the editor itself (a save, a HEAD move, the
// window gaining focus) is told in the output channel rather than in a notification.
import * as vscode from 'vscode';
import { outcomeOf, type ErrorAction } from '../shared/errors';
import { Emitter } from '../shared/events';
import { plain } from '../shared/format';

export interface OperationOptions {
  /** It runs a process, builds, or writes: refused in an untrusted workspace. */
  readonly runs: boolean;
  /** The Builds view shows progress while it works. */
  readonly progress?: boolean;
  /** Started by the editor, not by a person: refusals and errors go to the output channel only. */
  readonly background?: boolean;
  /** Also told a refusal or a failure, in its words (a task's terminal says it there). */
  readonly onNotDone?: (said: string) => void;
}

/** What happened to an operation, as it is told. */
export interface OperationEnd {
  readonly name: string;
  readonly outcome: 'done' | 'refused' | 'failed';
  /** What was said, for a refusal or a failure. */
  readonly said?: string;
}

const VIEW = 'datakitCi.builds';
/** How many ends are kept for `recent` (the last ones). */
const KEEP = 50;

const ACTIONS: Record<Exclude<ErrorAction, 'none'>, { label: string; run(output: vscode.LogOutputChannel): void }> = {
  openLog: { label: 'Open Log', run: (output) => output.show() },
  manageTrust: { label: 'Manage Workspace Trust', run: () => { void vscode.commands.executeCommand('workbench.trust.manage'); } },
  installGit: { label: 'Install Git', run: () => { void vscode.env.openExternal(vscode.Uri.parse('https://git-scm.com/downloads')); } },
  openConfig: { label: 'Open .datakit-ci.json', run: () => { void vscode.commands.executeCommand('datakitCi.openConfigError'); } },
};

export class Operations implements vscode.Disposable {
  private readonly _onDidRun = new Emitter<OperationEnd>();
  /** Fires when an operation ends (done, refused or failed). */
  readonly onDidRun = this._onDidRun.event;
  /** The last operations that ended, newest last. */
  readonly recent: OperationEnd[] = [];
  private running = 0;
  private settle: (() => void) | undefined;

  constructor(private readonly output: vscode.LogOutputChannel, private readonly trusted: () => boolean = () => vscode.workspace.isTrusted) {}

  /**
   * Runs `fn` as the operation `name` (`Build Now`, `Fetch Results`…): refused when it runs something in an
   * untrusted workspace, its errors said once. Resolves with what `fn` returned, or undefined when it was
   * refused or failed.
   */
  async run<T>(name: string, options: OperationOptions, fn: () => Promise<T>): Promise<T | undefined> {
    if (options.runs && !this.trusted()) {
      const said = `${name}: this workspace is not trusted, so DataKit CI runs nothing in it.`;
      this.tell({ name, outcome: 'refused', said }, options.background ?? false, { action: 'manageTrust', info: false });
      options.onNotDone?.(said);
      return undefined;
    }
    try {
      const result = options.progress ? await this.withProgress(fn()) : await fn();
      this.end({ name, outcome: 'done' });
      return result;
    } catch (e) {
      const outcome = outcomeOf(e);
      const message = e instanceof Error ? e.message : String(e);
      this.output.error(`${name}: ${message}`);
      // Not ours nor the machine's: a bug of ours, whose stack the log keeps.
      if (!outcome && e instanceof Error && e.stack) { this.output.error(e.stack); }
      this.tell({ name, outcome: 'failed', said: message }, options.background ?? false, { action: outcome?.action ?? 'openLog', info: outcome?.info ?? false });
      options.onNotDone?.(message);
      return undefined;
    }
  }

  /** Shows the Builds view's progress until `work` has settled (and every other work shown with it). */
  async withProgress<T>(work: Promise<T>): Promise<T> {
    this.track(work);
    return work;
  }

  /** Keeps the view's progress while `work` goes on, without waiting for it (builds started by an operation). */
  track(work: Promise<unknown>): void {
    this.running++;
    if (this.running === 1) {
      void vscode.window.withProgress({ location: { viewId: VIEW } }, () => new Promise<void>((r) => { this.settle = r; }));
    }
    const done = (): void => {
      if (--this.running === 0) { this.settle?.(); this.settle = undefined; }
    };
    work.then(done, done);
  }

  /** Says a refusal or a failure: a notification with the action that helps, or a line in the output channel. */
  private tell(end: OperationEnd, background: boolean, how: { action: ErrorAction; info: boolean }): void {
    this.end(end);
    // What went wrong may quote a fetched result's words (an output's path, a message): shown, never acted on.
    const text = `DataKit CI: ${plain(String(end.said))}`;
    if (background) {
      this.output.info(`${end.name} did not run: ${end.said}`);
      return;
    }
    const action = how.action === 'none' ? undefined : ACTIONS[how.action];
    const show = how.info ? vscode.window.showInformationMessage : end.outcome === 'refused' ? vscode.window.showWarningMessage : vscode.window.showErrorMessage;
    // Not awaited: an action must not hang until someone answers the notification.
    void show(text, ...(action ? [action.label] : [])).then((pick) => { if (pick && action) { action.run(this.output); } });
  }

  private end(end: OperationEnd): void {
    this.recent.push(end);
    if (this.recent.length > KEEP) { this.recent.shift(); }
    this._onDidRun.fire(end);
  }

  dispose(): void {
    this.settle?.();
    this._onDidRun.dispose();
  }
}
