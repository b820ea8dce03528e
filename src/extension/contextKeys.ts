// Context keys that say what the commands can act on, so that the Command Palette lists only those that apply
// (package.json's menus.commandPalette), as the context menus do on a row. Set when they change only.
import * as vscode from 'vscode';
import { hasLogToShow } from './session/model';
import type { Sessions } from './session/sessions';

/** Each key, from what the sessions show now. */
export function contextKeysOf(sessions: Sessions): Record<string, boolean> {
  const all = sessions.all;
  const targets = all.flatMap((s) => s.targets);
  const jobs = targets.flatMap((t) => t.jobs);
  const kind = (k: string): boolean => jobs.some((j) => j.status?.result.kind === k);
  return {
    'datakitCi.hasRepository': all.length > 0,
    'datakitCi.hasJobs': jobs.length > 0 && targets.some((t) => !t.suggested && t.jobs.length > 0),
    'datakitCi.hasSuggestions': targets.some((t) => t.suggested !== undefined),
    'datakitCi.noConfig': all.length > 0 && all.every((s) => s.head?.config === 'missing' || s.head?.suggested !== undefined),
    'datakitCi.hasPending': kind('pending'),
    'datakitCi.hasFailed': kind('failure'),
    'datakitCi.hasLog': jobs.some(hasLogToShow),
    'datakitCi.hasOutputs': jobs.some((j) => j.status?.output.kind === 'saved' && j.status.result.kind === 'success' && j.status.result.value.outputs.length > 0),
  };
}

export class ContextKeys implements vscode.Disposable {
  private readonly set = new Map<string, boolean>();
  private readonly subscription: { dispose(): void };

  constructor(private readonly sessions: Sessions) {
    this.subscription = sessions.onDidChange(() => this.update());
    this.update();
  }

  update(): void {
    for (const [key, value] of Object.entries(contextKeysOf(this.sessions))) {
      if (this.set.get(key) === value) { continue; }
      this.set.set(key, value);
      void vscode.commands.executeCommand('setContext', key, value);
    }
  }

  /** The keys as last set (for tests). */
  get values(): ReadonlyMap<string, boolean> { return this.set; }

  dispose(): void { this.subscription.dispose(); }
}
