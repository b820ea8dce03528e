// Maps the tree model to VS Code's TreeItems. Refreshes are coalesced: however fast statuses change, the
// view is told at most a few times a second; a change of status redraws the rows it concerns, and only a
// change of targets redraws the whole tree (which makes VS Code drop a context menu's argument, see
// treeModel.ts).
import * as vscode from 'vscode';
import { ago, contextValue, duration, isRunning, jobState, TreeModel, type JobState, type Node } from './treeModel';
import { reusedFrom } from '../../jobs/repoJobs';
import { escapeCell, firstLine, short } from './labels';
import type { Sessions } from '../session/sessions';
import type { Session } from '../session/session';
import type { JobView } from '../session/model';

const REFRESH_MS = 250;

const ICONS: Record<JobState, vscode.ThemeIcon> = {
  success: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  failure: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  cancelled: new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('testing.iconSkipped')),
  pending: new vscode.ThemeIcon('sync~spin'),
  notBuilt: new vscode.ThemeIcon('circle-large-outline', new vscode.ThemeColor('testing.iconUnset')),
};
/** A pending job that waits (for a slot, for what it needs) rather than runs. */
const WAITING_ICON = new vscode.ThemeIcon('clock');
/** A job another runner builds (a claim on origin): its result is not here yet. */
const CLAIMED_ICON = new vscode.ThemeIcon('cloud', new vscode.ThemeColor('testing.iconQueued'));
/** How often a running job's elapsed time is redrawn (that row only). */
const TICK_MS = 1000;

/** `3 min ago` as a screen reader should say it: `3 minutes ago`. */
function spokenAge(age: string): string {
  return age.replace(/^1 min ago$/, '1 minute ago').replace(/ min ago$/, ' minutes ago').replace(/^1 h ago$/, '1 hour ago').replace(/ h ago$/, ' hours ago')
    .replace(/^1 d ago$/, '1 day ago').replace(/ d ago$/, ' days ago');
}

/** The first problem of each failed job shown (see problems/problems.ts). */
export interface FirstFindings {
  first(session: Session, job: string, worktree: boolean): { readonly file: string; readonly range: vscode.Range; readonly message: string } | undefined;
}

export class BuildTreeProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly _onDidChangeTreeData = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;
  private timer: NodeJS.Timeout | undefined;
  private lastFire = 0;
  /** How many times the view was told to refresh (for tests and benchmarks). */
  refreshes = 0;
  private readonly disposable: { dispose(): void };
  /** Each job row's tooltip, made when the row is pointed at (see resolveTreeItem). */
  private readonly tooltips = new WeakMap<vscode.TreeItem, () => vscode.MarkdownString>();
  /** The job rows last handed to the view, by id: a running one is redrawn alone each second. */
  private readonly shownJobs = new Map<string, Extract<Node, { kind: 'job' }>>();
  private ticker: NodeJS.Timeout | undefined;
  /** How many rows were redrawn alone for their elapsed time (for tests). */
  rowUpdates = 0;

  /** Rows to redraw at the next refresh (ignored when the whole tree is redrawn). */
  private readonly rows = new Set<Node>();
  private whole = false;

  constructor(readonly model: TreeModel, sessions: Sessions, private readonly findings?: FirstFindings) {
    this.disposable = sessions.onDidChange((e) => {
      if (e.change.kind === 'targets' || !e.session) {
        this.scheduleRefresh();
      } else if (this.alreadyFailingChanged(e.session)) {
        this.scheduleRefresh(); // the message row of jobs already failing at the branch's base came or went
      } else {
        for (const row of model.rowsOf(e.session, e.change.jobs)) { this.rows.add(row); }
        this.schedule();
      }
    });
  }

  /** While a shown job runs, redraws its row (only) every second for its elapsed time. */
  private tick(): void {
    const running = [...this.shownJobs.values()].filter((n) => {
      const r = n.job.status?.result;
      return r?.kind === 'pending' && isRunning(r.reason);
    });
    if (running.length === 0) {
      clearInterval(this.ticker);
      this.ticker = undefined;
      return;
    }
    for (const n of running) {
      this.rowUpdates++;
      this._onDidChangeTreeData.fire(n);
    }
  }

  private watchElapsed(node: Extract<Node, { kind: 'job' }>, id: string): void {
    this.shownJobs.set(id, node);
    if (!this.ticker) { this.ticker = setInterval(() => this.tick(), TICK_MS); }
  }

  /** The jobs already failing at each session's base, as last shown. */
  private readonly alreadyFailing = new Map<string, string>();

  /** Whether the jobs already failing at a branch session's base differ from those last shown. */
  private alreadyFailingChanged(session: Session): boolean {
    if (!session.branch) { return false; }
    const ff = TreeModel.firstFailing(session);
    const now = ff ? [...ff.byJob].filter(([, b]) => b.kind === 'alreadyFailing').map(([j]) => j).join(',') : '';
    const before = this.alreadyFailing.get(session.id) ?? '';
    this.alreadyFailing.set(session.id, now);
    return now !== before;
  }

  /** Redraws the whole tree at the next refresh. */
  scheduleRefresh(): void {
    this.whole = true;
    this.schedule();
  }

  /** Coalesces refreshes: at most one per REFRESH_MS, of the whole tree or of the rows that changed. */
  private schedule(): void {
    if (this.timer) { return; }
    const wait = Math.max(0, this.lastFire + REFRESH_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastFire = Date.now();
      this.refreshes++;
      if (this.whole) {
        this.whole = false;
        this.rows.clear();
        this._onDidChangeTreeData.fire(undefined);
        return;
      }
      const rows = [...this.rows];
      this.rows.clear();
      for (const row of rows) { this._onDidChangeTreeData.fire(row); }
    }, wait);
  }

  getChildren(node?: Node): vscode.ProviderResult<Node[]> {
    if (!node) { this.shownJobs.clear(); return this.model.roots(); }
    switch (node.kind) {
      case 'repo': return this.model.targets(node.session);
      case 'target': return this.model.jobs(node.session, node.target);
      case 'job': return this.model.builds(node.session, node.job);
      default: return [];
    }
  }


  async getTreeItem(node: Node): Promise<vscode.TreeItem> {
    switch (node.kind) {
      case 'repo': {
        const item = new vscode.TreeItem(node.session.name, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `repo:${node.session.id}`;
        item.iconPath = new vscode.ThemeIcon('repo');
        item.description = node.session.dirs.topLevel;
        item.contextValue = 'repository';
        return item;
      }
      case 'target': return this.targetItem(node);
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon('info');
        item.tooltip = node.detail;
        item.contextValue = 'message';
        return item;
      }
      case 'configError': {
        const e = node.error;
        const item = new vscode.TreeItem(e.message, vscode.TreeItemCollapsibleState.None);
        item.id = `configError:${node.session.id}:${node.target.target.name}:${e.offset}:${e.message}`;
        item.iconPath = ICONS.failure;
        item.description = `.datakit-ci.json:${e.line}:${e.column}`;
        const where = node.target.target.worktree ? 'in the working tree' : `as committed at ${node.target.target.commit.slice(0, 7)}`;
        const md = new vscode.MarkdownString(undefined, true);
        md.appendMarkdown(`**Error in .datakit-ci.json** ${where}, line ${e.line}, column ${e.column}:\n\n`);
        md.appendText(e.message);
        md.appendMarkdown(`\n\nNo job of ${node.target.target.worktree ? 'the working tree' : 'this commit'} runs until the file is fixed. Click to open it there.`);
        item.tooltip = md;
        item.accessibilityInformation = { label: `Configuration error at line ${e.line}, column ${e.column}: ${e.message}`, role: 'treeitem' };
        item.contextValue = 'configError';
        item.command = { command: 'datakitCi.openConfigError', title: 'Open the Configuration Error', arguments: [node] };
        return item;
      }
      case 'build': return this.buildItem(node);
      case 'job': return this.jobItem(node);
    }
  }

  private targetItem(node: Extract<Node, { kind: 'target' }>): vscode.TreeItem {
    const t = node.target.target;
    const item = new vscode.TreeItem(t.label, t.isHead ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `target:${node.session.id}:${t.name}`;
    item.iconPath = new vscode.ThemeIcon(t.isHead ? 'target' : 'git-branch');
    const broke = TreeModel.brokeAt(node.session, node.target);
    const firstFailing = broke.length > 0 ? `first failing: ${broke.join(', ')}` : undefined;
    item.description = t.isHead ? ['HEAD', firstFailing].filter(Boolean).join(' · ') : undefined;
    item.tooltip = `${t.name} at ${t.commit}`;
    // No state of its jobs in a target's context value: it would have to be redrawn with them, and a redrawn
    // target makes VS Code drop the argument of a context menu opened on one of its jobs at that moment.
    item.contextValue = 'target';
    if (t.worktree) {
      const state = node.session.worktreeChanges;
      item.iconPath = new vscode.ThemeIcon('edit');
      item.description = `uncommitted, over ${t.commit.slice(0, 7)}`;
      const md = new vscode.MarkdownString(undefined, true);
      md.appendMarkdown(`**${t.label}** over HEAD \`${t.commit.slice(0, 12)}\`: keyed as a commit of them would be, so committing them afterwards reuses these results.\n\n`);
      const changed = state ? [...state.changes] : [];
      for (const [p, c] of changed.slice(0, 20)) { md.appendMarkdown(`- ${c === null ? 'deleted' : 'changed'} \`${escapeCell(p)}\`\n`); }
      if (changed.length > 20) { md.appendMarkdown(`- … and ${changed.length - 20} more\n`); }
      for (const n of state?.notes ?? []) { md.appendMarkdown(`\n${escapeCell(n)}\n`); }
      item.tooltip = md;
      item.contextValue = 'target worktree';
    }
    if (t.subject !== undefined) { // an earlier commit of the branch: its icon sums up its jobs
      const sum = TreeModel.summary(node.target);
      item.iconPath = sum === 'notBuilt' ? new vscode.ThemeIcon('git-commit') : ICONS[sum];
      const counts = TreeModel.counts(node.target);
      item.description = [firstFailing, counts.failure ? `${counts.failure} failed` : undefined, counts.success ? `${counts.success} passed` : undefined].filter(Boolean).join(' · ') || undefined;
      item.tooltip = `${t.commit}\n${t.subject}${firstFailing ? `\n\nWhere ${broke.join(', ')} broke: ${broke.length === 1 ? 'it fails' : 'they fail'} here, and passed on the commit before.` : ''}`;
      item.contextValue = 'target commit';
    }
    if (node.target.suggested) {
      item.description = 'HEAD · suggested jobs';
      item.contextValue = 'target suggested';
    }
    const c = node.target.config;
    if (typeof c === 'object' && !c.ok) {
      item.iconPath = ICONS.failure;
      item.description = [item.description, `config error${c.errors.length === 1 ? '' : `s (${c.errors.length})`}`].filter(Boolean).join(' · ');
    }
    // Heard as a person says it: the short id only, and what its jobs add up to, in words.
    const counts = TreeModel.counts(node.target);
    const sum = [counts.pending && `${counts.pending} running or waiting`, counts.success && `${counts.success} passed`, counts.failure && `${counts.failure} failed`,
      counts.cancelled && `${counts.cancelled} cancelled`, counts.notBuilt && `${counts.notBuilt} not built`].filter(Boolean).join(', ');
    item.accessibilityInformation = { label: [t.worktree ? `${t.label}, uncommitted, over ${t.commit.slice(0, 7)}` : t.label, t.isHead && !t.worktree ? 'HEAD' : undefined, firstFailing, sum || undefined].filter(Boolean).join(', '), role: 'treeitem' };
    return item;
  }

  /**
   * A job row's tooltip, when it is pointed at: it leads with the first problem of a failure, which is known
   * only once the log is matched, after the row was drawn; redrawing the row then would lose a click landing
   * on it (VS Code drops the command of a row it replaces).
   */
  resolveTreeItem(item: vscode.TreeItem): vscode.TreeItem {
    const tooltip = this.tooltips.get(item);
    if (tooltip && item.tooltip === undefined) { item.tooltip = tooltip(); }
    return item;
  }

  private async jobItem(node: Extract<Node, { kind: 'job' }>): Promise<vscode.TreeItem> {
    const { job, session, target } = node;
    const state = jobState(job);
    const item = new vscode.TreeItem(job.key.job.name, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `job:${session.id}:${target.target.name}:${job.key.job.name}`;
    item.iconPath = ICONS[state];
    const r = job.status?.result;
    if (r?.kind === 'pending') {
      if (isRunning(r.reason)) { this.watchElapsed(node, item.id); } else { item.iconPath = WAITING_ICON; }
    }
    const s = job.status;
    const from = target.suggested?.jobs.find((j) => j.name === job.key.job.name)?.from;
    const saved = s?.output.kind === 'saved' ? s.output.saved : undefined;
    const times = saved ? await session.jobs.resultTimes(saved.commit) : undefined;
    // A result reused from another commit (a rebase, a docs-only commit…) is marked `cached`; where it came
    // from is in the tooltip, with the time it waited for a slot.
    const provenance = saved ? await session.jobs.provenance(job.key, saved.commit) : undefined;
    const cached = provenance ? reusedFrom(provenance) : undefined;
    const ran = times ? duration(times.runMs ?? times.finished - times.started) : undefined;
    const age = times ? ago(times.finished) : undefined;
    const marker = saved && (cached || !saved.built) ? 'cached' : undefined;
    let said: string; // the state in words, for a screen reader
    if (s?.result.kind === 'pending') {
      const started = s.output.kind === 'live' ? s.output.log.run?.startedAt : undefined;
      item.description = s.result.reason === 'Running' && started !== undefined ? `Running · ${duration(Date.now() - started)}` : s.result.reason;
      said = String(item.description);
    } else if (s?.result.kind === 'failure') {
      const message = firstLine(s.result.message);
      // A job skipped, or cancelled before it ran, has no run time of its own (what it waited is in the tooltip).
      const ranFor = s.result.reason === 'skipped' || (s.result.reason === 'cancelled' && times?.runMs === undefined) ? undefined : ran;
      item.description = [short(message), marker, ranFor, age].filter(Boolean).join(' · ');
      said = [`${s.result.reason === 'failed' ? 'failed' : s.result.reason}: ${message}`, marker, age && spokenAge(age)].filter(Boolean).join(', ');
    } else if (s?.result.kind === 'success') {
      item.description = ['passed', marker, ran, age].filter(Boolean).join(' · ');
      said = ['passed', marker, age && spokenAge(age)].filter(Boolean).join(', ');
    } else {
      item.description = !session.jobs.trusted ? 'not built · workspace not trusted' : from ? `suggested · ${from}` : 'not built';
      said = String(item.description).replace(/ · /g, ', ');
    }
    said = builtElsewhere(job, item, said);
    item.accessibilityInformation = { label: `${job.key.job.name}, ${said}`, role: 'treeitem' };
    const hasOutputs = s?.result.kind === 'success' && s.result.value.outputs.length > 0;
    item.contextValue = contextValue(job, session.jobs.trusted, hasOutputs);
    // The outcome and what went wrong first; the particulars after. Made when pointed at, never redrawn for it.
    const description = String(item.description);
    this.tooltips.set(item, () => {
      const outcome = s?.result.kind === 'failure' ? `${s.result.reason === 'failed' ? 'failed' : s.result.reason}: ${escapeCell(firstLine(s.result.message))}`
        : state === 'notBuilt' ? 'not built' : state === 'pending' ? escapeCell(description) : 'passed';
      const md = new vscode.MarkdownString(undefined, true);
      md.appendMarkdown(`**${escapeCell(job.key.job.name)}** ${outcome}\n\n`);
      // Its first problem as known when the row is pointed at: a failed log is matched after the row is drawn.
      const first = state === 'failure' ? this.findings?.first(session, job.key.job.name, target.target.worktree === true) : undefined;
      if (first) { md.appendMarkdown(`First problem: \`${escapeCell(first.file)}:${first.range.start.line + 1}:${first.range.start.character + 1}\` ${escapeCell(firstLine(first.message))}\n\n`); }
      if (cached) { md.appendMarkdown(`${escapeCell(cached[0]!.toUpperCase() + cached.slice(1))}.\n\n`); }
      const claim = job.shownClaim;
      if (claim) { md.appendMarkdown(`Building on ${escapeCell(claim.runner)}: a runner that shares this commit's jobs claimed it on origin${claim.since !== undefined ? ` at ${new Date(claim.since).toLocaleString()} (its runner's clock)` : ''}. Its result shows here once pushed and fetched.\n\n`); }
      md.appendMarkdown(`| | |\n|---|---|\n`);
      if (times) {
        md.appendMarkdown(`| finished | ${new Date(times.finished).toLocaleString()} (${age}) |\n`);
        md.appendMarkdown(`| ran | ${ran}${times.runMs === undefined ? ' (start to end)' : ''} |\n`);
        if (times.queuedMs !== undefined) { md.appendMarkdown(`| queued | ${duration(times.queuedMs)} |\n`); }
        if (times.builtBy || provenance?.fetchedFrom) { md.appendMarkdown(`| built by | ${escapeCell(times.builtBy ?? 'unknown')}${provenance?.fetchedFrom ? `, fetched from ${escapeCell(provenance.fetchedFrom)}` : ''} |\n`); }
      }
      md.appendMarkdown(`| commit | \`${target.target.commit.slice(0, 12)}\`${target.target.worktree ? ' (its working tree)' : ''} |\n`);
      if (saved) { md.appendMarkdown(`| result | \`${saved.commit.slice(0, 12)}\` (${provenance?.builtFor ? `built for \`${provenance.builtFor.slice(0, 12)}\`` : saved.built ? 'built in this window' : 'cached'}) |\n`); }
      md.appendMarkdown(`| key | \`${job.key.digest.slice(0, 16)}\` |\n`);
      md.appendMarkdown(`| branch | \`${session.jobs.ref(job.key)}\` |\n`);
      if (from) { md.appendMarkdown(`| suggested from | ${escapeCell(from)} |\n`); }
      md.appendCodeblock(job.key.job.run, 'sh');
      return md;
    });
    item.command = { command: 'datakitCi.showLog', title: 'Show Log', arguments: [node] };
    return item;
  }

  private buildItem(node: Extract<Node, { kind: 'build' }>): vscode.TreeItem {
    const b = node.item;
    const state: JobState = b.result;
    // `3babc64 Fix the parser`: the commit it was built for; its result, run time and age beside.
    const label = `${b.source?.slice(0, 7) ?? '(unknown commit)'} ${firstLine(b.sourceSubject ?? '')}`.trim();
    const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
    item.id = `build:${node.session.id}:${node.job.key.job.name}:${b.commit}`;
    item.iconPath = ICONS[state];
    const outcome = b.result === 'success' ? 'passed' : b.result === 'cancelled' ? 'cancelled' : firstLine(b.failure ?? 'failed');
    const ran = duration(b.runMs ?? b.finished - b.started);
    const here = b.source === node.job.key.commit ? 'this commit' : undefined;
    item.description = [b.result === 'failure' ? short(outcome) : outcome, ran, here, ago(b.finished)].filter(Boolean).join(' · ');
    item.accessibilityInformation = { label: [label, b.worktree ? 'working tree' : undefined, b.result === 'failure' ? `failed: ${firstLine(b.failure ?? '')}` : outcome, spokenAge(ago(b.finished))].filter(Boolean).join(', '), role: 'treeitem' };
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${escapeCell(node.job.key.job.name)}** · ${escapeCell(outcome)}\n\n| | |\n|---|---|\n`);
    if (b.source) { md.appendMarkdown(`| commit | \`${b.source.slice(0, 12)}\` ${b.sourceSubject ? escapeCell(b.sourceSubject) : ''} |\n`); }
    md.appendMarkdown(`| finished | ${new Date(b.finished).toLocaleString()} |\n| ran | ${ran} |\n`);
    if (b.queuedMs !== undefined) { md.appendMarkdown(`| queued | ${duration(b.queuedMs)} |\n`); }
    if (b.builtBy) { md.appendMarkdown(`| built by | ${escapeCell(b.builtBy)} |\n`); }
    md.appendMarkdown(`| result | \`${b.commit.slice(0, 12)}\` on \`${b.ref}\` |\n`);
    item.tooltip = md;
    item.contextValue = 'build hasLog';
    item.command = { command: 'datakitCi.showLog', title: 'Show Log', arguments: [node] };
    return item;
  }

  dispose(): void {
    clearTimeout(this.timer);
    clearInterval(this.ticker);
    this.disposable.dispose();
    this._onDidChangeTreeData.dispose();
  }
}

/**
 * A job built somewhere else now: by another process here (its lock), or on another runner of a spread commit
 * (a claim on origin, when there is no result here; its result comes by a fetch). Marks the row; says it.
 */
function builtElsewhere(job: JobView, item: vscode.TreeItem, said: string): string {
  const s = job.status;
  if (job.elsewhere !== undefined && s?.result.kind !== 'pending') {
    item.iconPath = ICONS.pending;
    item.description = `Building in another process (pid ${job.elsewhere})${item.description ? ` · was ${String(item.description)}` : ''}`;
    return `building in another process, ${said}`;
  }
  const claim = job.shownClaim;
  if (claim !== undefined) {
    item.iconPath = CLAIMED_ICON;
    item.description = `building on ${claim.runner}`;
    return item.description;
  }
  return said;
}
