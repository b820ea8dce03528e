// What `status` and `build` report for each job; also the shape of their --json output.
import type { JobKey } from '../jobs/key';
import type { JobStatus, RepoJobs } from '../jobs/repoJobs';
import { localTime, seconds, table } from './format';

export type JobState = 'success' | 'failure' | 'pending' | 'not built';

export interface JobReport {
  job: string;
  state: JobState;
  /** The key's digest (sha-256 hex). */
  key: string;
  /** The entry's branch in the results repository. */
  branch: string;
  /** The results-repository commit holding the saved result, or null. */
  commit: string | null;
  /** The failure message, or the pending reason. */
  message: string | null;
  durationMs: number | null;
  finishedAt: string | null;
}

export async function report(jobs: RepoJobs, key: JobKey, status: JobStatus | undefined): Promise<JobReport> {
  const base = { job: key.job.name, state: 'not built' as JobState, key: key.digest, branch: jobs.ref(key), commit: null, message: null, durationMs: null, finishedAt: null };
  if (!status) { return base; }
  const r = status.result;
  if (r.kind === 'pending') { return { ...base, state: 'pending', message: r.reason }; }
  const saved = status.output.kind === 'saved' ? status.output.saved : undefined;
  let durationMs: number | null = null;
  let finishedAt: string | null = null;
  if (saved) {
    const t = await jobs.store.commitTimes(saved.commit);
    durationMs = t.finished - t.started;
    finishedAt = new Date(t.finished).toISOString();
  }
  return {
    ...base,
    state: r.kind,
    commit: saved?.commit ?? null,
    message: r.kind === 'failure' ? r.message : null,
    durationMs, finishedAt,
  };
}

export function reportTable(reports: JobReport[]): string {
  return table([
    ['JOB', 'STATE', 'DURATION', 'FINISHED', 'KEY', 'DETAIL'],
    ...reports.map((r) => [r.job, r.state, seconds(r.durationMs), localTime(r.finishedAt), r.key.slice(0, 12), r.message?.split('\n')[0] ?? '']),
  ]);
}

