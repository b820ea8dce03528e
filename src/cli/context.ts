// What every command shares: the terminal, usage errors, and the jobs of the revision it was asked about.
import type { JobKey } from '../jobs/key';
import type { JobsAt, RepoJobs } from '../jobs/repoJobs';

export class UsageError extends Error {}

export interface Io {
  out(text: string): void;
  err(text: string): void;
  isTTY: boolean;
  /** A promise while what `out` wrote waits to be taken by the reader of the output (a slow pipe), else undefined. */
  whenWritable?(): Promise<void> | undefined;
}

export async function loadJobs(jobs: RepoJobs, rev: string, io: Io): Promise<JobsAt | undefined> {
  const commit = await jobs.resolve(rev);
  const at = await jobs.jobsAt(commit);
  if (at.config === 'missing') {
    io.err(`datakit-ci: ${rev} (${commit.slice(0, 7)}) has no .datakit-ci.json\n`);
    return undefined;
  }
  if (!at.config.ok) {
    for (const e of at.config.errors) { io.err(`.datakit-ci.json:${e.line}:${e.column}: ${e.message}\n`); }
    io.err(`datakit-ci: .datakit-ci.json at ${commit.slice(0, 7)} has ${at.config.errors.length} error(s); nothing was run\n`);
    return undefined;
  }
  return at;
}

export function pickJobs(at: JobsAt, names: string[]): JobKey[] {
  if (names.length === 0) { return [...at.keys]; }
  const unknown = names.filter((n) => !at.keys.some((k) => k.job.name === n));
  if (unknown.length) { throw new UsageError(`unknown job${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (jobs: ${at.keys.map((k) => k.job.name).join(', ')})`); }
  return at.keys.filter((k) => names.includes(k.job.name));
}

