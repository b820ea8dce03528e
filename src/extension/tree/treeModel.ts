// The Builds tree's model: repositories → targets → jobs → previous builds, with what each row shows.
// Kept apart from the TreeDataProvider (which only maps it to TreeItems) so that the status bar and the
// tests read the same derived state. A target's and a job's node stay the same object for as long as the
// session shows the same target and job, so that a change of status redraws that row alone (see
// treeProvider.ts): a whole-tree refresh would make VS Code drop the argument of a context-menu command
// picked at that moment.
import type { ConfigError } from '../../jobs/config/config';
import type { JobBuild } from '../../jobs/repoJobs';
import { firstFailing, verdictOf, type FirstFailing, type Verdict } from '../../jobs/firstFailing';
import { ago, duration } from '../../shared/format';
import { isRunning, jobState, type JobState, type JobView, type TargetView } from '../session/model';
import type { Session } from '../session/session';

export { ago, duration, isRunning, jobState, type JobState };

/** Each job's verdict, by name. */
function verdicts(jobs: readonly JobView[]): Map<string, Verdict> {
  return new Map(jobs.map((j) => [j.key.job.name, verdictOf(j.status?.result)]));
}

export type Node =
  | { readonly kind: 'repo'; readonly session: Session }
  | { readonly kind: 'target'; readonly session: Session; readonly target: TargetView }
  | { readonly kind: 'job'; readonly session: Session; readonly target: TargetView; readonly job: JobView }
  | { readonly kind: 'build'; readonly session: Session; readonly job: JobView; readonly item: JobBuild; readonly index: number }
  | { readonly kind: 'message'; readonly session: Session; readonly text: string; readonly detail?: string }
  | { readonly kind: 'configError'; readonly session: Session; readonly target: TargetView; readonly error: ConfigError };

/** How many builds a job's node lists (and the history chart draws). */
export const HISTORY_LENGTH = 50;


/** Tokens that gate the context menus: no command is offered where it cannot act. */
export function contextValue(job: JobView, trusted: boolean, hasOutputs: boolean): string {
  const state = jobState(job);
  const tokens = ['job', state];
  const output = job.status?.output.kind;
  if (state === 'pending') { tokens.push('cancellable'); }
  else if (trusted) { tokens.push(state === 'notBuilt' ? 'buildable' : 'rebuildable'); }
  if (output === 'saved' || output === 'live') { tokens.push('hasLog'); }
  if (hasOutputs && state === 'success') { tokens.push('hasOutputs'); }
  return tokens.join(' ');
}

type TargetNode = Extract<Node, { kind: 'target' }>;
type JobNode = Extract<Node, { kind: 'job' }>;

export class TreeModel {
  /** One node per view object shown: the same target or job is the same node. */
  private readonly targetNodes = new WeakMap<TargetView, TargetNode>();
  private readonly jobNodes = new WeakMap<JobView, JobNode>();

  constructor(private readonly sessions: () => Session[]) {}

  private targetNode(session: Session, target: TargetView): TargetNode {
    let n = this.targetNodes.get(target);
    if (!n) { n = { kind: 'target', session, target }; this.targetNodes.set(target, n); }
    return n;
  }

  private jobNode(session: Session, target: TargetView, job: JobView): JobNode {
    let n = this.jobNodes.get(job);
    if (!n) { n = { kind: 'job', session, target, job }; this.jobNodes.set(job, n); }
    return n;
  }

  /**
   * The rows to redraw when these jobs' statuses change: each job's row, and its target's where the target
   * sums its jobs up (an earlier commit of the branch) or may be the first failing one.
   */
  rowsOf(session: Session, jobs: readonly JobView[]): Node[] {
    const rows = new Set<Node>();
    for (const t of session.targets) {
      for (const j of t.jobs) {
        if (!jobs.includes(j)) { continue; }
        const node = this.jobNodes.get(j);
        if (node) { rows.add(node); }
        const target = this.targetNodes.get(t);
        if (target && session.branch) { rows.add(target); }
      }
    }
    return [...rows];
  }

  roots(): Node[] {
    const all = this.sessions();
    // Nothing to show anywhere (no jobs declared, or untrusted with nothing saved): an empty tree, so that
    // the welcome view explains and offers what to do.
    if (all.every((s) => s.targets.every((t) => t.config === 'missing' || t.config === 'unknown'))) { return []; }
    if (all.length === 1) { return this.targets(all[0]); }
    return all.map((session) => ({ kind: 'repo', session }));
  }

  targets(session: Session): Node[] {
    if (session.targets.length === 0) { return []; }
    const nodes: Node[] = session.targets.map((target) => this.targetNode(session, target));
    const ff = TreeModel.firstFailing(session);
    const already = ff ? [...ff.byJob].filter(([, b]) => b.kind === 'alreadyFailing').map(([job]) => job) : [];
    if (already.length > 0 && session.base) {
      const on = `${session.branch?.base ?? 'the base'} (${session.base.commit.slice(0, 7)})`;
      nodes.push({
        kind: 'message', session, text: `${already.join(', ')} ${already.length === 1 ? 'was' : 'were'} already failing on ${on}`,
        detail: `Failing where the branch started: not broken by a commit of the branch, so no commit is marked for ${already.length === 1 ? 'it' : 'them'}.`,
      });
    }
    const shown = session.targets.length;
    const b = session.branch;
    if (b && b.total > shown) {
      const more = b.total - shown;
      nodes.push({
        kind: 'message', session, text: `${more} older commit${more === 1 ? '' : 's'} of the branch not shown`,
        detail: `The branch has ${b.total} commits that ${b.base ?? 'its base'} does not; the setting Max Branch Commits (datakitCi.maxBranchCommits) shows the newest ${shown}. \`datakit-ci build --range ${b.base ?? 'BASE'}..HEAD --yes\` builds them all.`,
      });
    }
    return nodes;
  }

  /**
   * Where each job broke on the session's branch targets (the commits of the branch, newest first): the
   * oldest commit where it fails right after a pass, or that it failed at the branch's base already.
   */
  static firstFailing(session: Session): FirstFailing | undefined {
    if (!session.branch) { return undefined; }
    const rows = session.targets.filter((t) => !t.target.worktree).map((t) => ({ commit: t.target.commit, verdicts: verdicts(t.jobs) }));
    return firstFailing(rows, session.base ? verdicts(session.base.jobs) : undefined);
  }

  /** The jobs that broke at a target's commit, as a row says it: `docs`, `test (before it: not built)`. */
  static brokeAt(session: Session, target: TargetView): string[] {
    const ff = TreeModel.firstFailing(session);
    if (!ff || target.target.worktree) { return []; }
    return [...ff.byJob].filter(([, b]) => b.kind !== 'alreadyFailing' && b.commit === target.target.commit)
      .map(([job, b]) => (b.kind === 'brokeAfterUnknown' ? `${job} (before it: not built)` : job));
  }

  /** What a target's jobs add up to: any failed, any running, all passed, or some not built. */
  static summary(target: TargetView): JobState {
    const states = target.jobs.map(jobState);
    if (states.includes('failure')) { return 'failure'; }
    if (states.includes('pending')) { return 'pending'; }
    if (states.includes('cancelled')) { return 'cancelled'; }
    return states.length > 0 && states.every((s) => s === 'success') ? 'success' : 'notBuilt';
  }

  jobs(session: Session, target: TargetView): Node[] {
    const c = target.config;
    if (c === 'missing') { return [{ kind: 'message', session, text: 'No .datakit-ci.json in this commit' }]; }
    if (c === 'unknown') {
      return [{ kind: 'message', session, text: 'No saved results for this commit', detail: 'Trust the workspace to read its jobs and build them.' }];
    }
    if (!c.ok) {
      return c.errors.map((error) => ({ kind: 'configError', session, target, error }));
    }
    const jobs: Node[] = target.jobs.map((job) => this.jobNode(session, target, job));
    const sug = target.suggested;
    if (sug) {
      const sources = [...new Set(sug.jobs.map((j) => j.from.replace(/ (?:script|target) .*$| \(.*$/, '')))];
      jobs.unshift({
        kind: 'message', session,
        text: `No .datakit-ci.json: ${sug.jobs.length} job${sug.jobs.length === 1 ? '' : 's'} suggested from ${sources.slice(0, 3).join(', ')}${sources.length > 3 ? ', …' : ''}`,
        detail: [
          'Found in the repository; nothing runs until you click ▶ (on a job, or on this commit for all of them). Save them as .datakit-ci.json (the 💾 on the commit) to edit and commit them: they keep what was built here (the file itself is no input of a job).',
          ...sug.skipped.map((k) => `Skipped ${k.file}: ${k.reason}`),
        ].join('\n\n'),
      });
    }
    if (target.configEdited) {
      jobs.unshift({
        kind: 'message', session,
        text: 'Runs the committed .datakit-ci.json: yours differs',
        detail: 'The jobs of HEAD are those of the .datakit-ci.json committed at HEAD. Yours runs in the Working tree target above (and from a terminal with `datakit-ci build --worktree`); commit it to make it HEAD\'s.',
      });
    }
    return jobs;
  }

  /** The job's last builds whatever the commit (its history across commits), newest first. */
  async builds(session: Session, job: JobView): Promise<Node[]> {
    const history = await session.jobs.jobHistory(job.key.job.name, HISTORY_LENGTH);
    if (history.length === 0) {
      // Expanded, a job never built says so rather than showing nothing.
      const pending = job.status?.result.kind === 'pending';
      return [{
        kind: 'message', session, text: pending ? 'No builds yet: this is its first' : 'No builds yet',
        detail: pending ? 'Its earlier builds are listed here once it has any.' : `${job.key.job.name} has no saved build, for any commit. ${session.jobs.trusted ? 'Build Now (▶) builds it.' : 'Trust the workspace to build it.'}`,
      }];
    }
    return history.map((item, index) => ({ kind: 'build', session, job, item, index }));
  }

  /** Counts for the status bar: the HEAD target of a session. */
  static counts(target: TargetView | undefined): Record<JobState, number> {
    const counts: Record<JobState, number> = { success: 0, failure: 0, cancelled: 0, pending: 0, notBuilt: 0 };
    for (const j of target?.jobs ?? []) { counts[jobState(j)]++; }
    return counts;
  }
}

/** The first configuration error shown: the working tree's, else HEAD's, of the first repository with one. */
export function firstConfigError(all: readonly Session[]): { session: Session; target: TargetView; error: ConfigError } | undefined {
  for (const session of all) {
    for (const target of [session.worktree, session.head]) {
      const c = target?.config;
      if (target && typeof c === 'object' && !c.ok && c.errors.length > 0) { return { session, target, error: c.errors[0]! }; }
    }
  }
  return undefined;
}
