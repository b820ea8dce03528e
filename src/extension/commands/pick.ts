// What a command acts on: the tree row it was invoked on, or, from the palette, a job picked among the jobs
// of every target shown. And the words a command uses for jobs.
import * as vscode from 'vscode';
import { plain } from '../../shared/format';
import type { Operations } from '../operations';
import type { ExplainViews } from '../views/explainView';
import type { HistoryCharts } from '../views/historyChart';
import type { ReadOnlyViews } from '../views/readOnlyViews';
import type { LogChannels, LogDocumentProvider, LogLinks } from '../logs';
import type { SourceFiles } from '../problems/sourceFiles';
import type { JobView, Session, TargetView } from '../session/session';
import type { Sessions } from '../session/sessions';
import type { Node } from '../tree/treeModel';

export type JobNode = Extract<Node, { kind: 'job' }>;
export type BuildNode = Extract<Node, { kind: 'build' }>;
export type TargetNode = Extract<Node, { kind: 'target' }>;

/** What the commands work with. */
export interface CommandDeps {
  sessions: Sessions;
  ops: Operations;
  channels: LogChannels;
  documents: LogDocumentProvider;
  output: vscode.LogOutputChannel;
  charts: HistoryCharts;
  explains: ExplainViews;
  views: ReadOnlyViews;
  links: LogLinks;
  sources: SourceFiles;
  refreshTree(): void;
}

/**
 * A command of the extension, run as an operation (see operations.ts): `runs` (a process, a build, a write)
 * makes it refused in an untrusted workspace; `progress` shows the Builds view's progress while it works.
 */
export interface CommandSpec {
  readonly id: string;
  /** Its name in messages (the palette's title). */
  readonly name: string;
  readonly runs: boolean;
  readonly progress?: boolean;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- command arguments come from VS Code untyped
  run(...args: any[]): Promise<unknown>;
}

/**
 * A job from a tree node, or, from the palette, one picked among the jobs of every target shown (the working
 * tree, HEAD, the branch's commits…), grouped by target; `filter` keeps those the command can act on.
 */
export async function jobArg(deps: CommandDeps, arg: unknown, filter: (j: JobView) => boolean = () => true): Promise<{ session: Session; job: JobView } | undefined> {
  const n = arg as Partial<JobNode> | undefined;
  if (n && n.session && n.job) { return { session: n.session, job: n.job }; } // a tree row, a notification…
  type Pick = vscode.QuickPickItem & { session?: Session; job?: JobView };
  const picks: Pick[] = [];
  const several = deps.sessions.all.length > 1;
  for (const session of deps.sessions.all) {
    for (const target of session.targets) {
      const jobs = target.jobs.filter(filter);
      if (jobs.length === 0) { continue; }
      picks.push({ label: several ? `${session.name} · ${target.target.label}` : target.target.label, kind: vscode.QuickPickItemKind.Separator });
      for (const job of jobs) {
        picks.push({ label: job.key.job.name, description: stateWords(job), detail: target.target.isHead ? undefined : `${target.target.label} (${target.target.commit.slice(0, 7)})`, session, job });
      }
    }
  }
  if (picks.length === 0) { void vscode.window.showInformationMessage('DataKit CI: no job this command can act on.'); return undefined; }
  const picked = await vscode.window.showQuickPick(picks, { placeHolder: 'Pick a job (grouped by commit)', matchOnDescription: true, matchOnDetail: true });
  return picked?.session && picked.job ? { session: picked.session, job: picked.job } : undefined;
}

/** A target from its row, or, from the palette, one picked among those with `filter`'s jobs. */
export async function targetArg(deps: CommandDeps, arg: unknown, filter: (j: JobView) => boolean): Promise<{ session: Session; target: TargetView } | undefined> {
  const n = arg as Partial<TargetNode> | undefined;
  if (n?.session && n.target) { return { session: n.session, target: n.target }; }
  type Pick = vscode.QuickPickItem & { session: Session; target: TargetView };
  const several = deps.sessions.all.length > 1;
  const picks: Pick[] = deps.sessions.all.flatMap((session) => session.targets.filter((t) => t.jobs.some(filter))
    .map((target) => ({ label: several ? `${session.name} · ${target.target.label}` : target.target.label, description: `${target.jobs.filter(filter).length} building or waiting`, session, target })));
  if (picks.length === 0) { void vscode.window.showInformationMessage('DataKit CI: no commit this command can act on.'); return undefined; }
  const picked = await vscode.window.showQuickPick(picks, { placeHolder: 'Pick a commit' });
  return picked ? { session: picked.session, target: picked.target } : undefined;
}

/** The session of a target row, or every session. */
export function sessionsOf(deps: CommandDeps, arg: unknown): Session[] {
  const n = arg as Partial<TargetNode> | undefined;
  return n?.session ? [n.session] : deps.sessions.all;
}

/** Why Build Now started nothing: every job shown is cached (or already running), counted by distinct key. */
export function nothingToBuild(all: readonly Session[]): string {
  const byKey = new Map<string, JobView>();
  for (const s of all) { for (const t of s.targets) { for (const j of t.jobs) { byKey.set(j.key.digest, j); } } }
  if (byKey.size === 0) { return 'no job to build: no .datakit-ci.json declares any.'; }
  const jobs = [...byKey.values()];
  const count = (kind: string): number => jobs.filter((j) => (j.status?.result.kind ?? 'none') === kind).length;
  const [passed, failed, running] = [count('success'), count('failure'), count('pending')];
  const parts = [passed && `${passed} passed`, failed && `${failed} failed`, running && `${running} already running`].filter(Boolean).join(', ');
  const which = jobs.length === 1 ? 'the only job is' : `all ${jobs.length} jobs are`;
  return `${which} ${running === jobs.length ? 'already running' : 'cached'}${parts ? ` (${parts})` : ''}: nothing to build.${failed ? ' Rebuild Failed runs the failed ones again.' : ''}`;
}

function stateWords(job: JobView): string {
  const r = job.status?.result;
  if (!r) { return 'not built'; }
  if (r.kind === 'pending') { return r.reason; }
  return r.kind === 'success' ? 'passed' : plain(r.message.split('\n')[0]!);
}
