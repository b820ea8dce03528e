// The status bar: the HEAD target of the active repository — `DataKit CI: $(loading~spin) 2 $(cloud) 3 $(pass) 5 $(error) 1`
// (the cloud: jobs with no result here that another runner of a spread commit has claimed), on the error
// background while a job of HEAD that passed before fails (Session.isNewFailure).
import * as vscode from 'vscode';
import type { Sessions } from '../session/sessions';
import { plain } from '../../shared/format';
import { firstConfigError, jobState, TreeModel } from './treeModel';

export class StatusBar implements vscode.Disposable {
  readonly item = vscode.window.createStatusBarItem('datakitCi.status', vscode.StatusBarAlignment.Left, 50);
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly sessions: Sessions) {
    this.item.name = 'DataKit CI';
    this.item.command = 'workbench.view.extension.datakitCi';
    const sub = sessions.onDidChange(() => this.schedule());
    this.disposables.push({ dispose: () => sub.dispose() }, vscode.window.onDidChangeActiveTextEditor(() => this.schedule()));
    this.update();
  }

  private schedule(): void {
    if (this.timer) { return; }
    this.timer = setTimeout(() => { this.timer = undefined; this.update(); }, 200);
  }

  update(): void {
    const session = this.sessions.active;
    const head = session?.head;
    const broken = session ? firstConfigError([session]) : undefined;
    if (broken) {
      const e = broken.error;
      const where = broken.target.target.worktree ? 'in the working tree' : `at ${broken.target.target.commit.slice(0, 7)}`;
      const n = typeof broken.target.config === 'object' && !broken.target.config.ok ? broken.target.config.errors.length : 1;
      this.item.text = '$(error) DataKit CI: config error';
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
      const blocked = broken.target.target.worktree
        ? `The working tree's jobs do not run until it is fixed${head && head.jobs.length > 0 ? `; HEAD's: ${wordsOf(TreeModel.counts(head)).join(', ')}` : ''}.`
        : 'No job of HEAD runs until it is fixed.';
      this.item.tooltip = `.datakit-ci.json ${where}, line ${e.line}, column ${e.column}: ${e.message}${n > 1 ? ` (and ${n - 1} more)` : ''}\n${blocked} Click to open it there.`;
      this.item.accessibilityInformation = { label: `DataKit CI: configuration error at line ${e.line}, column ${e.column}: ${e.message}` };
      this.item.command = { command: 'datakitCi.openConfigError', title: 'Open the Configuration Error', arguments: [broken] };
      this.item.show();
      return;
    }
    this.item.command = 'workbench.view.extension.datakitCi';
    if (!session || !head || head.jobs.length === 0) {
      this.item.hide();
      return;
    }
    const c = TreeModel.counts(head);
    // A job another runner builds is not waiting on this window: counted apart from what has not been built.
    const elsewhere = head.jobs.filter((j) => j.shownClaim !== undefined).length;
    const fresh = head.jobs.filter((j) => session.isNewFailure(j)).map((j) => j.key.job.name);
    // Named, so that its counts are not read as another item's (a spinning ⟳ next to Git's is a sync).
    const parts = ['DataKit CI:'];
    if (c.pending) { parts.push(`$(loading~spin) ${c.pending}`); }
    if (elsewhere) { parts.push(`$(cloud) ${elsewhere}`); }
    parts.push(`$(pass) ${c.success}`);
    if (c.failure) { parts.push(`$(error) ${c.failure}${fresh.length ? ` (${fresh.length} new)` : ''}`); }
    if (c.cancelled) { parts.push(`$(circle-slash) ${c.cancelled}`); }
    this.item.text = parts.join(' ');
    // Read aloud as words, not as icon names and markdown.
    const news = fresh.length === 0 ? '' : `. New failure${fresh.length === 1 ? '' : 's'} (passed before): ${fresh.join(', ')}`;
    this.item.accessibilityInformation = { label: `DataKit CI, ${head.target.label}: ${wordsOf(c, elsewhere).join(', ')}${news}` };
    // The error background is for what just broke; a failure that was there already is counted, not flagged.
    this.item.backgroundColor = fresh.length ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    const md = new vscode.MarkdownString(`**DataKit CI** · ${markdownText(session.name)} · ${markdownText(head.target.label)}\n\n`, true);
    for (const j of head.jobs) {
      const s = j.status?.result;
      const claim = j.shownClaim;
      const icon = claim ? '$(cloud)' : { success: '$(pass)', failure: '$(error)', cancelled: '$(circle-slash)', pending: '$(loading~spin)', notBuilt: '$(circle-large-outline)' }[jobState(j)];
      const detail = claim ? `building on ${claim.runner}` : !s ? 'not built' : s.kind === 'pending' ? s.reason : s.kind === 'failure' ? s.message.split('\n')[0] : 'passed';
      const isNew = fresh.includes(j.key.job.name) ? ' — **new failure** (it passed before)' : '';
      md.appendMarkdown(`${icon} **${j.key.job.name}** — ${markdownText(detail)}${isNew}\n\n`);
    }
    this.item.tooltip = md;
    this.item.show();
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const d of this.disposables) { d.dispose(); }
    this.item.dispose();
  }
}

/** Counts as words, for screen readers and tooltips: `2 running or waiting, 3 building on other runners, 5 passed, 1 failed`. */
function wordsOf(c: ReturnType<typeof TreeModel.counts>, elsewhere = 0): string[] {
  return [c.pending && `${c.pending} running or waiting`, elsewhere && `${elsewhere} building on ${elsewhere === 1 ? 'another runner' : 'other runners'}`, `${c.success} passed`, c.failure && `${c.failure} failed`, c.cancelled && `${c.cancelled} cancelled`]
    .filter((w): w is string => typeof w === 'string');
}

/** Text from a result or the repository in the tooltip's markdown: one line, shown as written. */
function markdownText(text: string): string {
  return plain(text).replace(/[\\`*_{}[\]()#+\-.!|<>$]/g, '\\$&');
}
