// `status --fetch --wait [--timeout S]`: the verdict job after runners that shared a commit (`build --runners`):
// fetches, with a growing pause, until every job of the commit has a result, then prints the table and the
// problems as `build` does and ends as `build` would have.
import type { JobsAt, JobStatus, RepoJobs } from '../jobs/repoJobs';
import type { JobKey } from '../jobs/keys/key';
import { DataKitError } from '../shared/errors';
import { failedProblems, problemLines, remoteTimeout } from './build';
import { EXIT, type Io } from './context';
import { printable } from './format';
import { report, reportTable, summary, type JobReport } from './report';

/** How long `--wait` waits by default (s): runners of a big commit may take long, but never for ever. */
const DEFAULT_WAIT_S = 3600;
const FIRST_PAUSE_MS = 500;
const LAST_PAUSE_MS = 5000;

export interface WaitValues {
  readonly rev: string;
  readonly json: boolean;
  readonly remote?: string;
  readonly timeout?: string;
}

/** Waits for every job of `at` to have a result (fetched from the remote), then reports as `build` would. */
export async function waitForResults(jobs: RepoJobs, at: JobsAt, values: WaitValues, io: Io, cwd: string): Promise<number> {
  const remote = values.remote ?? 'origin';
  const until = Date.now() + (values.timeout === undefined ? DEFAULT_WAIT_S * 1000 : remoteTimeout(values.timeout));
  let pause = FIRST_PAUSE_MS;
  let missing: JobKey[] = [...at.keys];
  const finals = new Map<JobKey, JobStatus | undefined>();
  const skipped = new Map<JobKey, string>();
  const byDigest = new Map(at.keys.map((k) => [k.digest, k]));
  let told = '';
  for (;;) {
    for (const k of missing) { const s = await jobs.query(k); if (s && s.result.kind !== 'pending') { finals.set(k, s); } }
    // A job whose need did not pass is skipped, as `build` skips it: no runner shares such a result.
    for (const k of at.keys) {
      if (finals.has(k) || skipped.has(k)) { continue; }
      const need = Object.entries(k.needs).find(([, d]) => { const n = byDigest.get(d); return n !== undefined && (skipped.has(n) || (finals.has(n) && finals.get(n)!.result.kind !== 'success')); });
      if (need) { skipped.set(k, need[0]); }
    }
    missing = missing.filter((k) => !finals.has(k) && !skipped.has(k));
    if (missing.length === 0 || Date.now() >= until) { break; }
    const names = missing.map((k) => k.job.name).join(', ');
    if (names !== told) { io.err(`datakit-ci: waiting for ${missing.length} result${missing.length === 1 ? '' : 's'} on ${remote}: ${printable(names.length > 200 ? `${names.slice(0, 200)}…` : names)}\n`); told = names; }
    await new Promise((r) => setTimeout(r, Math.min(pause, Math.max(0, until - Date.now()))));
    pause = Math.min(LAST_PAUSE_MS, Math.round(pause * 1.5));
    try {
      await jobs.fetch(remote, { timeoutMs: Math.max(1000, until - Date.now()) });
    } catch (e) {
      // A remote down for a moment costs a round, not the verdict.
      if (!DataKitError.is(e, 'RemoteFailed')) { throw e; }
      io.err(`datakit-ci: warning: ${printable(e.message)}; trying again\n`);
    }
  }
  const reports = await Promise.all(at.keys.map(async (k): Promise<JobReport> => {
    const r = await report(jobs, k, finals.get(k));
    const need = skipped.get(k);
    return need === undefined ? r : { ...r, state: 'failure', reason: 'skipped', message: `Skipped: needs ${need}` };
  }));
  const found = await failedProblems(jobs, at.keys, finals, io);
  // A skipped job's log names no problem (it says what it needed): as `build` lists it, with none.
  const problems = new Map(at.keys.flatMap((k) => {
    const p = skipped.has(k) ? { findings: [], total: 0 } : found.get(k.job.name);
    return p === undefined ? [] : [[k.job.name, p] as const];
  }));
  if (values.json) {
    io.out(JSON.stringify({ rev: values.rev, commit: at.commit, jobs: reports, problems: Object.fromEntries(problems) }, null, 2) + '\n');
  } else {
    io.out(`${reportTable(reports)}${summary(reports)}${problemLines(problems, jobs.dirs.topLevel, cwd)}`);
  }
  if (missing.length > 0) {
    io.err(`datakit-ci: ${missing.length} job${missing.length === 1 ? ' has' : 's have'} no result on ${remote} after waiting: ${printable(missing.map((k) => k.job.name).join(', '))}\n`);
  }
  return reports.every((r) => r.state === 'success') ? EXIT.ok : EXIT.failed;
}
