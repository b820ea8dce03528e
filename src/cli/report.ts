// What `status` and `build` report for each job; also the shape of their --json output.
import type { JobKey } from '../jobs/keys/key';
import type { FailureReason } from '../shared/resultCommit';
import { reusedFrom, type JobStatus, type RepoJobs } from '../jobs/repoJobs';
import { ago, localTime, printable, seconds, table } from './format';

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
  /** Why a failure is one: the job `failed`, was `cancelled`, or was `skipped` (a job it needs failed); else null. */
  reason: FailureReason | null;
  /** How long the job's own command ran (not what it waited for); for results saved before 0.2, start to end. */
  durationMs: number | null;
  /** How long it waited for a build slot, when recorded. */
  queuedMs: number | null;
  finishedAt: string | null;
  /** true: the result was there before this command (a hit); false: this command built it; null: none. */
  cached: boolean | null;
  /** The commit the result was built for, when it is not the one asked about (a rebase, a docs-only commit…). */
  builtFor: string | null;
  /** Built from the working tree over `builtFor` (or over this commit), before it was committed. */
  fromWorktree: boolean;
  /** The remote the result was fetched from (built on another machine), or null. */
  fetchedFrom: string | null;
  /** Who built it, as its result records (`user@host (os-arch)`), or null. */
  builtBy: string | null;
  /**
   * A fetched result: the principal of the trusted builder who signed it, or `unverified` (no trusted builder
   * configured, or accepted by `--trust any`); null for a result of this machine.
   */
  verified: string | null;
}

export async function report(jobs: RepoJobs, key: JobKey, status: JobStatus | undefined): Promise<JobReport> {
  const base: JobReport = {
    job: key.job.name, state: 'not built', key: key.digest, branch: jobs.ref(key), commit: null, message: null, reason: null,
    durationMs: null, queuedMs: null, finishedAt: null, cached: null, builtFor: null, fromWorktree: false, fetchedFrom: null, builtBy: null, verified: null,
  };
  if (!status) { return base; }
  const r = status.result;
  if (r.kind === 'pending') { return { ...base, state: 'pending', message: r.reason }; }
  const saved = status.output.kind === 'saved' ? status.output.saved : undefined;
  let durationMs: number | null = null;
  let queuedMs: number | null = null;
  let finishedAt: string | null = null;
  let builtFor: string | null = null;
  let fromWorktree = false;
  let fetchedFrom: string | null = null;
  let verifiedBy: string | null = null;
  let builtBy: string | null = null;
  const skipped = r.kind === 'failure' && r.reason === 'skipped';
  if (saved) {
    const t = await jobs.resultTimes(saved.commit);
    builtBy = t.builtBy ?? null;
    // A skipped job ran nothing: it has no run time.
    durationMs = skipped ? null : t.runMs ?? t.finished - t.started;
    queuedMs = t.queuedMs ?? null;
    finishedAt = new Date(t.finished).toISOString();
    const p = await jobs.provenance(key, saved.commit);
    ({ fromWorktree } = p);
    builtFor = p.builtFor ?? null;
    fetchedFrom = p.fetchedFrom ?? null;
    verifiedBy = p.verifiedBy ?? null;
  }
  return {
    ...base,
    state: r.kind,
    commit: saved?.commit ?? null,
    message: r.kind === 'failure' ? r.message : null,
    reason: r.kind === 'failure' ? r.reason : null,
    durationMs, queuedMs, finishedAt,
    cached: saved ? !saved.built : false,
    builtFor, fromWorktree, fetchedFrom, builtBy,
    // A fetched result: who signed it (a trusted builder's principal), or 'unverified'; null for ours.
    verified: fetchedFrom === null ? null : verifiedBy ?? 'unverified',
  };
}

/** Where the result came from, in a few words: `built now`, `cached`, `cached · built for 1a2b3c4`, `skipped`. */
export function source(r: JobReport): string {
  if (r.cached === null) { return ''; }
  if (r.reason === 'skipped') { return r.cached ? 'skipped (cached)' : 'skipped'; }
  if (!r.cached) { return 'built now'; }
  const from = reusedFrom({ fromWorktree: r.fromWorktree, ...(r.builtFor ? { builtFor: r.builtFor } : {}), ...(r.fetchedFrom ? { fetchedFrom: r.fetchedFrom } : {}), ...(r.verified && r.verified !== 'unverified' ? { verifiedBy: r.verified } : {}) });
  return printable(`${from ?? 'cached'}${r.fetchedFrom && r.builtBy ? `, built by ${r.builtBy}` : ''}`);
}

/**
 * The message's first line as a terminal may show it: a failure message is the result's own (a fetched one's
 * chosen by whoever made it), so an escape sequence or a bidirectional override in it is shown, never acted on.
 */
function detail(r: JobReport): string {
  return printable(r.message?.split('\n')[0] ?? '');
}

/** One finished job on a line: `✔ lint  cached · built for 1a2b3c4`, `✘ test (cached failure from 3 min ago): …`. */
export function reportLine(r: JobReport, now = Date.now()): string {
  if (r.state === 'success') {
    return `✔ ${r.job}  ${r.cached ? source(r) : `built now${r.durationMs !== null ? ` in ${seconds(r.durationMs)}` : ''}`}`;
  }
  if (r.reason === 'skipped') { return `⊘ ${r.job}: ${detail(r)}`; }
  if (r.state === 'failure') {
    const when = r.cached && r.finishedAt ? ` (cached failure from ${ago(Date.parse(r.finishedAt), now)}${r.fromWorktree ? ', built from the working tree' : ''}${r.builtFor ? `, built for ${r.builtFor.slice(0, 7)}` : ''})` : '';
    return `✘ ${r.job}${when}: ${detail(r)}`;
  }
  return `${r.state === 'pending' ? '⟳' : '·'} ${r.job}: ${r.message === null ? r.state : detail(r)}`;
}

/**
 * As turbo ends its runs: how many were built, how many came from the cache, how many failed, and how many
 * were skipped (a job they need failed: they ran nothing, so they are neither built nor failed).
 */
export function summary(reports: readonly JobReport[]): string {
  const ran = reports.filter((r) => r.reason !== 'skipped');
  const built = ran.filter((r) => r.cached === false).length;
  const cached = ran.filter((r) => r.cached === true).length;
  const failed = ran.filter((r) => r.state === 'failure').length;
  const skipped = reports.length - ran.length;
  return `${reports.length} job${reports.length === 1 ? '' : 's'}: ${built} built, ${cached} cached${failed ? `, ${failed} failed` : ''}${skipped ? `, ${skipped} skipped` : ''}\n`;
}

export function reportTable(reports: JobReport[]): string {
  return table([
    ['JOB', 'STATE', 'RESULT', 'DURATION', 'FINISHED', 'KEY', 'DETAIL'],
    ...reports.map((r) => [r.job, r.state, source(r) || '-', seconds(r.durationMs), localTime(r.finishedAt), r.key.slice(0, 12), detail(r)]),
  ]);
}
