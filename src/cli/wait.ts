// `status --fetch --wait [--timeout S] [--claim-expiry S]`: the verdict job after runners that shared a commit
// (`build --runners`): fetches, with a growing pause, until every job of the commit has a result, then prints
// the table and the problems as `build` does and ends as `build` would have. Living runners show their work on
// the remote (a claim made, refreshed every third of the expiry, removed; a result pushed): when the remote
// shows none of it for the claim expiry while jobs are still missing, no runner is at them, and the wait gives
// up on them (this process's clock only, as runners judge claims).
import { claimHolder, type Claim } from '../jobs/claimsGc';
import type { JobsAt, JobStatus, RepoJobs } from '../jobs/repoJobs';
import type { JobKey } from '../jobs/keys/key';
import { DataKitError } from '../shared/errors';
import { failedProblems, problemLines, remoteTimeout } from './build';
import { EXIT, type Io } from './context';
import { printable } from './format';
import { report, reportTable, summary, type JobReport } from './report';
import { expiryOf, runnerName } from './spread';

/** How long `--wait` waits by default (s): runners of a big commit may take long, but never for ever. */
const DEFAULT_WAIT_S = 3600;
const FIRST_PAUSE_MS = 500;
const LAST_PAUSE_MS = 5000;

export interface WaitValues {
  readonly rev: string;
  readonly json: boolean;
  readonly remote?: string;
  readonly timeout?: string;
  readonly 'claim-expiry'?: string;
}

/** Waits for every job of `at` to have a result (fetched from the remote), then reports as `build` would. */
export async function waitForResults(jobs: RepoJobs, at: JobsAt, values: WaitValues, io: Io, cwd: string): Promise<number> {
  const remote = values.remote ?? 'origin';
  const until = Date.now() + (values.timeout === undefined ? DEFAULT_WAIT_S * 1000 : remoteTimeout(values.timeout));
  const expiryMs = expiryOf(values['claim-expiry']);
  const { claims, entry } = jobs.claims(remote, runnerName());
  const progress = new Progress(at.keys.map(entry));
  let seen = new Map<string, Claim>();
  let gaveUp: Map<JobKey, string> | undefined;
  let pause = FIRST_PAUSE_MS;
  let missing: JobKey[] = [...at.keys];
  const finals = new Map<JobKey, JobStatus | undefined>();
  const skipped = new Map<JobKey, string>();
  const byDigest = new Map(at.keys.map((k) => [k.digest, k]));
  let told = '';
  for (;;) {
    for (const k of missing) { const s = await jobs.query(k); if (s && s.result.kind !== 'pending') { finals.set(k, s); } }
    // A job whose need did not pass is skipped, as `build` skips it (runners share such a record only once
    // they end: it need not be waited for).
    for (const k of at.keys) {
      if (finals.has(k) || skipped.has(k)) { continue; }
      const need = Object.entries(k.needs).find(([, d]) => { const n = byDigest.get(d); return n !== undefined && (skipped.has(n) || (finals.has(n) && finals.get(n)!.result.kind !== 'success')); });
      if (need) { skipped.set(k, need[0]); }
    }
    missing = missing.filter((k) => !finals.has(k) && !skipped.has(k));
    if (missing.length === 0 || Date.now() >= until) { break; }
    const still = progress.stillFor(finals.size + skipped.size, seen);
    if (still >= expiryMs) { gaveUp = new Map(missing.map((k) => [k, givenUpBecause(k, seen.get(entry(k)), missing, byDigest, still)])); break; }
    const names = missing.map((k) => k.job.name).join(', ');
    if (names !== told) { io.err(`datakit-ci: waiting for ${missing.length} result${missing.length === 1 ? '' : 's'} on ${remote}: ${printable(names.length > 200 ? `${names.slice(0, 200)}…` : names)}\n`); told = names; }
    await new Promise((r) => setTimeout(r, Math.min(pause, Math.max(0, until - Date.now()))));
    // Never longer than half the expiry between looks: a runner's refresh is then seen as it comes.
    pause = Math.min(LAST_PAUSE_MS, Math.max(FIRST_PAUSE_MS, expiryMs / 2), Math.round(pause * 1.5));
    try {
      await jobs.fetch(remote, { timeoutMs: Math.max(1000, until - Date.now()), claims: true });
      seen = await claims.read();
    } catch (e) {
      // A remote down for a moment costs a round, not the verdict; what it did meanwhile is unknown, so the
      // wait for a sign of work starts again.
      if (!DataKitError.is(e, 'RemoteFailed')) { throw e; }
      io.err(`datakit-ci: warning: ${printable(e.message)}; trying again\n`);
      progress.unknown();
    }
  }
  const reports = await Promise.all(at.keys.map(async (k): Promise<JobReport> => {
    const r = await report(jobs, k, finals.get(k));
    const need = skipped.get(k);
    const why = gaveUp?.get(k);
    if (why !== undefined) { return { ...r, message: `Given up: ${why}` }; }
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
  if (gaveUp !== undefined) {
    io.err(`datakit-ci: gave up waiting for ${gaveUp.size} job${gaveUp.size === 1 ? '' : 's'}: nothing changed on ${remote} for ${Math.round(expiryMs / 1000)} s (no result pushed, no claim made, refreshed or removed), so no runner is at ${gaveUp.size === 1 ? 'it' : 'them'}\n`);
    for (const [k, why] of gaveUp) { io.err(`datakit-ci:   ${printable(k.job.name)}: ${printable(why)}\n`); }
  } else if (missing.length > 0) {
    io.err(`datakit-ci: ${missing.length} job${missing.length === 1 ? ' has' : 's have'} no result on ${remote} after waiting: ${printable(missing.map((k) => k.job.name).join(', '))}\n`);
  }
  return reports.every((r) => r.state === 'success') ? EXIT.ok : EXIT.failed;
}

/** How long (ms, this process's clock) the remote has shown no sign of work on the commit's jobs: no new result, no claim of them made, refreshed or removed. */
class Progress {
  private last = '';
  private since = Date.now();

  constructor(private readonly entries: readonly string[]) {}

  stillFor(results: number, claims: ReadonlyMap<string, Claim>): number {
    const now = `${results} ${this.entries.map((e) => claims.get(e)?.value ?? '-').join(' ')}`;
    if (now !== this.last) { this.last = now; this.since = Date.now(); }
    return Date.now() - this.since;
  }

  /** A look that failed: nothing is known of what happened meanwhile. */
  unknown(): void { this.since = Date.now(); }
}

/** Why a job is given up on: its claim went unchanged, a job it needs has no result, or no runner claimed it. */
function givenUpBecause(k: JobKey, claim: Claim | undefined, missing: readonly JobKey[], byDigest: ReadonlyMap<string, JobKey>, stillMs: number): string {
  const s = `${Math.round(stillMs / 1000)} s`;
  if (claim !== undefined) { return `${claimHolder(claim)}'s claim did not change for ${s}`; }
  const need = Object.entries(k.needs).find(([, d]) => { const n = byDigest.get(d); return n !== undefined && missing.includes(n); });
  return need !== undefined ? `it needs ${need[0]}, which has no result` : `no runner claimed it for ${s}`;
}
