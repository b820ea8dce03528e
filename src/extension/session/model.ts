// What a session shows: its targets (HEAD, the working tree, branches or the branch's commits) and their jobs.
// A job's status is never copied here: it is read from the build cache when asked, so no view can go stale.
import type { ConfigResult } from '../../jobs/config/config';
import type { JobKey } from '../../jobs/keys/key';
import type { JobStatus, RepoJobs } from '../../jobs/repoJobs';
import type { Suggestions } from '../../jobs/suggest/suggest';
import type { Target } from '../../jobs/targets';
import type { Event } from '../../shared/events';
import type * as vscode from 'vscode';
import type { Operations } from '../operations';
import type { Settings } from '../settings';

export class JobView {
  /** The pid of another process (a terminal, another window) building this key now. */
  elsewhere: number | undefined;
  /**
   * A runner that claimed this job on origin (`build --runners`), when it has no result here: who (printable
   * text), when the claim says it was made (its maker's clock: shown, never trusted), and how long this
   * window has seen it unchanged.
   */
  claimedBy: { readonly runner: string; readonly since?: number; readonly unchangedMs: number } | undefined;

  constructor(readonly key: JobKey, private readonly jobs: RepoJobs) {}

  /** The claim as shown: only while the job has no status here (a result, or a build of its own, comes first). */
  get shownClaim(): JobView['claimedBy'] {
    return this.status === undefined ? this.claimedBy : undefined;
  }

  /** The job's status as the cache holds it now. */
  get status(): JobStatus | undefined {
    return this.jobs.peek(this.key);
  }
}

export interface TargetView {
  readonly target: Target;
  /** `unknown` when the keys cannot be computed without running git (an untrusted workspace). */
  readonly config: ConfigResult | 'missing' | 'unknown';
  readonly jobs: JobView[];
  /** HEAD only: the working copy's .datakit-ci.json differs from the one committed, which is what runs. */
  readonly configEdited?: boolean;
  /**
   * HEAD only, when neither it nor the working copy has a .datakit-ci.json: the jobs suggested from the
   * repository's files (package.json scripts, a Makefile), shown to be run on a click — never automatically.
   */
  readonly suggested?: Suggestions;
}

/** The working tree target's name (no branch can be named so: it has a space). */
export const WORKTREE_TARGET = 'working tree';

export type JobState = 'success' | 'failure' | 'cancelled' | 'pending' | 'notBuilt';

export function jobState(job: { readonly status: JobStatus | undefined }): JobState {
  const r = job.status?.result;
  if (!r) { return 'notBuilt'; }
  if (r.kind === 'failure') { return r.reason === 'cancelled' ? 'cancelled' : 'failure'; }
  return r.kind;
}

/**
 * Whether a pending job is running (its command, the setup it needs, or its build in another process) as
 * opposed to waiting (for a slot, for what it needs, for its checkout).
 */
export function isRunning(reason: string): boolean {
  return reason.startsWith('Running') || reason.startsWith('Building in another process');
}

/** Whether a job has a log to show: a saved one, or the live log of a build that runs (not one that waits). */
export function hasLogToShow(job: JobView): boolean {
  const s = job.status;
  if (s?.output.kind === 'saved') { return true; }
  return s?.output.kind === 'live' && (s.result.kind !== 'pending' || isRunning(s.result.reason));
}

/** What the window remembers across its restarts (VS Code's global state, or a map in a test). */
export interface Memory {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void>;
}

/** What changed in a session: its targets and their jobs (a new list), or the status of some jobs. */
export type SessionChange = { readonly kind: 'targets' } | { readonly kind: 'jobs'; readonly jobs: readonly JobView[] };

export interface SessionOptions {
  readonly folder: vscode.Uri;
  readonly settings: () => Settings;
  readonly ops: Operations;
  /** A HEAD job that passed has failed. */
  readonly onHeadBuildFailed: (job: JobView) => void;
  readonly log: (message: string) => void;
  /** What is remembered across windows (the answer to the first build's question, per repository). */
  readonly memory: Memory;
}

/** What a session's parts (its watchers, its sharing) see of it. */
export interface SessionHost {
  readonly jobs: RepoJobs;
  readonly disposed: boolean;
  readonly targets: readonly TargetView[];
  readonly onDidChange: Event<SessionChange>;
  refresh(): Promise<void>;
  buildNewHead(): Promise<void>;
  buildWorktree(): Promise<number>;
  updateWorktree(paths: readonly string[] | undefined): Promise<void>;
  readUnread(views: readonly JobView[]): Promise<void>;
  jobsChanged(jobs: readonly JobView[]): void;
  /** The head target's jobs as shown now. */
  readonly head: TargetView | undefined;
  dropLeftBehind(before: readonly JobView[]): number;
}

/** Whether two readings of a target show the same: the same commit, label, configuration and jobs (by key). */
function sameView(a: TargetView, b: TargetView): boolean {
  const t = a.target;
  const u = b.target;
  return t.name === u.name && t.commit === u.commit && t.label === u.label && t.isHead === u.isHead && t.worktree === u.worktree
    && t.subject === u.subject && a.configEdited === b.configEdited && a.suggested?.text === b.suggested?.text
    && JSON.stringify(configShown(a.config)) === JSON.stringify(configShown(b.config))
    && a.jobs.length === b.jobs.length && a.jobs.every((j, i) => j.key.digest === b.jobs[i]!.key.digest && j.key.job.name === b.jobs[i]!.key.job.name);
}

/** What a target's configuration shows: its state, or its errors. */
function configShown(c: TargetView['config']): unknown {
  return typeof c === 'string' ? c : c.ok ? 'ok' : c.errors;
}

/**
 * The targets read again, each one that shows the same as before kept as the same object (its jobs' views
 * with it), so that the tree keeps its rows; `changed` when any target came, went or differs.
 */
export function keepUnchanged(before: readonly TargetView[], next: readonly TargetView[]): { targets: TargetView[]; changed: boolean } {
  let changed = before.length !== next.length;
  const targets = next.map((v, i) => {
    const old = before.find((b) => b.target.name === v.target.name);
    if (old && sameView(old, v)) {
      if (before[i] !== old) { changed = true; }
      return old;
    }
    changed = true;
    return v;
  });
  return { targets, changed };
}
