// Where each job broke on a range of commits (a branch's own commits, `--range A..B`): the oldest commit where
// it fails while the commit before it — or, for the range's oldest commit, the range's base — passed. A job
// that already failed at the base broke before the range: it marks nothing, and is said as such.

/** A job's result on one commit, as far as breaking goes: a cancel, a skip, a pending or missing build is `unknown`. */
export type Verdict = 'passed' | 'failed' | 'unknown';

/** What the range says about one job. */
export type JobBreak =
  /** It fails first at `commit`, the commit before it (or the base) having passed. */
  | { readonly kind: 'broke'; readonly commit: string }
  /** It fails first at `commit`, and whether the commit before it passed is not known (never built there). */
  | { readonly kind: 'brokeAfterUnknown'; readonly commit: string }
  /** It failed at the base already: it did not break on the range. */
  | { readonly kind: 'alreadyFailing' };

export interface FirstFailing {
  /** By job name, for the jobs that fail somewhere on the range. */
  readonly byJob: ReadonlyMap<string, JobBreak>;
  /** The oldest commit where some job broke (`broke` or `brokeAfterUnknown`), or undefined. */
  readonly overall: string | undefined;
}

/**
 * `rows` are the range's commits, newest first (as `git log` lists them), each with its jobs' verdicts;
 * `base` the verdicts at the range's base (the commit the range starts after), undefined when unknown.
 */
export function firstFailing(rows: readonly { commit: string; verdicts: ReadonlyMap<string, Verdict> }[], base: ReadonlyMap<string, Verdict> | undefined): FirstFailing {
  const byJob = new Map<string, JobBreak>();
  const jobs = new Set(rows.flatMap((r) => [...r.verdicts.keys()]));
  for (const job of jobs) {
    const b = breakOf(rows.map((r) => ({ commit: r.commit, verdict: r.verdicts.get(job) ?? 'unknown' })), base?.get(job) ?? 'unknown');
    if (b) { byJob.set(job, b); }
  }
  // The oldest of the commits where a job broke: rows are newest first.
  const broke = new Set([...byJob.values()].flatMap((b) => (b.kind === 'alreadyFailing' ? [] : [b.commit])));
  let overall: string | undefined;
  for (let i = rows.length - 1; i >= 0 && overall === undefined; i--) { if (broke.has(rows[i]!.commit)) { overall = rows[i]!.commit; } }
  return { byJob, overall };
}

/**
 * One job's break: the oldest commit where it fails right after a pass (of the commit before it, or the base).
 * Without one, what its first failure follows: a failure (it was already failing) or nothing known.
 */
function breakOf(rows: readonly { commit: string; verdict: Verdict }[], base: Verdict): JobBreak | undefined {
  let before = base;
  let first: JobBreak | undefined;
  for (let i = rows.length - 1; i >= 0; i--) {
    const { commit, verdict } = rows[i]!;
    if (verdict === 'failed') {
      if (before === 'passed') { return { kind: 'broke', commit }; }
      first ??= before === 'failed' ? { kind: 'alreadyFailing' } : { kind: 'brokeAfterUnknown', commit };
    }
    if (verdict !== 'unknown') { before = verdict; }
  }
  return first;
}

/** A status's verdict: a passed or failed build; anything else (cancelled, skipped, pending, not built) is unknown. */
export function verdictOf(result: { readonly kind: string; readonly reason?: string } | undefined): Verdict {
  if (result?.kind === 'success') { return 'passed'; }
  return result?.kind === 'failure' && result.reason === 'failed' ? 'failed' : 'unknown';
}
