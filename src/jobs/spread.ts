// One commit's jobs spread over several runners that share nothing but the git remote: each runner claims
// jobs no one has claimed (see store/results/claims.ts), the longest chain of `needs` first, builds them,
// pushes each result at once and removes its claim; a job whose needs another runner builds waits for their
// results to come through fetches. What is left when the remote refuses claims is built here, as without.
import { createHash } from 'node:crypto';
import { Mutex } from 'async-mutex';
import { DataKitError } from '../shared/errors';
import type { Claim, Claims } from '../store/results/claims';
import { claimHolder } from '../store/results/claims';

/** Who holds a claim, as it can be shown (see claims.ts). */
export { claimHolder };
import type { JobKey } from './keys/key';
import type { JobStatus, RepoJobs } from './repoJobs';

export interface SpreadOptions {
  readonly remote: string;
  /** Who this runner is (printable ASCII), as other runners are told. */
  readonly runner: string;
  /** A claim nobody refreshed for this long (ms) is taken over; ours are refreshed three times as often. */
  readonly expiryMs: number;
  /** How long each push or fetch may take (ms). */
  readonly timeoutMs?: number;
  /** How many jobs build here at once. */
  readonly slots: number;
  /** Told what happens, a line at a time (what a remote said is printable ASCII by then). */
  readonly say: (line: string) => void;
}

export interface SpreadReport {
  /** The jobs built here. */
  readonly built: string[];
  /** Why claims stopped (the remote refused or failed): the jobs left build here without them. */
  readonly stopped?: string;
}

/** Waits between looks at the remote while nothing can be claimed: from the first, growing to the last. */
const FIRST_WAIT_MS = 250;
const LAST_WAIT_MS = 2000;
/** How long a job takes when its history says nothing. */
const UNKNOWN_RUN_MS = 1000;

/** The keys with every key they need, transitively (the needs are claimed and built as any other job). */
export function withNeeds(all: readonly JobKey[], picked: readonly JobKey[]): JobKey[] {
  const byDigest = new Map(all.map((k) => [k.digest, k]));
  const out = new Set<JobKey>();
  const visit = (k: JobKey): void => {
    if (out.has(k)) { return; }
    for (const d of Object.values(k.needs)) { const n = byDigest.get(d); if (n) { visit(n); } }
    out.add(k);
  };
  for (const k of picked) { visit(k); }
  return all.filter((k) => out.has(k));
}

/**
 * How long the longest chain of jobs from each key on takes (its own run, then its slowest dependent's
 * chain), from the median of its last successful runs: the longest go first, so that the commit's critical
 * path starts at once.
 */
export async function chainLengths(jobs: RepoJobs, keys: readonly JobKey[], say: (line: string) => void): Promise<Map<JobKey, number>> {
  // Every job's history read at once (a job's is a walk of its branches: their waits overlap).
  const runMs = new Map(await Promise.all(keys.map(async (k) => {
    const history = await jobs.jobHistory(k.job.name, 5).catch((e: Error) => {
      say(`${k.job.name}: its past run times could not be read (${e.message}); its chain is weighed at ${UNKNOWN_RUN_MS} ms a job`);
      return [];
    });
    const runs = history.filter((b) => b.result === 'success' && b.runMs !== undefined).map((b) => b.runMs!).sort((a, b) => a - b);
    return [k, runs.length ? runs[Math.floor(runs.length / 2)]! : UNKNOWN_RUN_MS] as const;
  })));
  const dependents = new Map<string, JobKey[]>();
  for (const k of keys) { for (const d of Object.values(k.needs)) { dependents.set(d, [...dependents.get(d) ?? [], k]); } }
  const out = new Map<JobKey, number>();
  const length = (k: JobKey): number => {
    let v = out.get(k);
    if (v === undefined) {
      v = runMs.get(k)! + Math.max(0, ...(dependents.get(k.digest) ?? []).map(length));
      out.set(k, v);
    }
    return v;
  };
  for (const k of keys) { length(k); }
  return out;
}

/**
 * Builds this runner's share of `keys`: returns once every one of them has a result here (built, or fetched
 * from another runner), or once claims stopped working (`stopped` says why: the caller builds what is left).
 */
export async function buildSpread(jobs: RepoJobs, keys: readonly JobKey[], o: SpreadOptions): Promise<SpreadReport> {
  const { claims, entry } = jobs.claims(o.remote, o.runner, o.timeoutMs);
  const lengths = await chainLengths(jobs, keys, o.say);
  const byDigest = new Map(keys.map((k) => [k.digest, k]));
  const needsOf = (k: JobKey): JobKey[] => Object.values(k.needs).map((d) => byDigest.get(d)).filter((n): n is JobKey => n !== undefined);
  const order = [...keys].sort((a, b) => lengths.get(b)! - lengths.get(a)!);
  const done = new Set<JobKey>();
  const skipped = new Set<JobKey>();
  const building = new Map<JobKey, Promise<void>>();
  /** Pushes of results built here, under way. */
  const sharing = new Set<Promise<void>>();
  const built: string[] = [];
  const said = new Set<string>();
  const sayOnce = (id: string, line: string): void => { if (!said.has(id)) { said.add(id); o.say(line); } };
  // Pushes of results that could not go with their claim's removal: one at a time.
  const pushes = new Mutex();
  let wait = FIRST_WAIT_MS;
  let failed: { e: unknown } | undefined;
  try {
    for (;;) {
      // Claims and results in one fetch: a claim goes with or after its result (see claims.ts `finish`), so
      // a job seen unclaimed has its result here if it was built; one claimed after is asked about below.
      await jobs.fetch(o.remote, { timeoutMs: o.timeoutMs, claims: true });
      const seen = await claims.read();
      for (const k of order) { if (!done.has(k) && !building.has(k) && finished(await jobs.query(k))) { done.add(k); } }
      if (done.size === keys.length) { break; }
      // A job whose need failed is skipped here, as on one machine, never claimed: every runner sees the
      // same needs' results, so each skips it alike.
      for (const k of order) {
        if (!done.has(k) && !building.has(k) && needsOf(k).some((n) => skipped.has(n) || (done.has(n) && notPassed(jobs.peek(n))))) { skipped.add(k); done.add(k); }
      }
      const ready = order.filter((k) => !done.has(k) && !building.has(k) && needsOf(k).every((n) => done.has(n)));
      // The jobs free to claim, this runner's turn among equals first (runners that all went for the same
      // job would take one job a round between them).
      const free = spreadTies(ready.filter((k) => claimable(seen.get(entry(k)), k, o.expiryMs, sayOnce)), lengths, o.runner);
      // Each free slot claims the next free job, and on losing it to another runner the one after, at once
      // (each claim is a push: the slots' claims overlap).
      let started = 0;
      const next = free[Symbol.iterator]();
      const lane = async (): Promise<void> => {
        for (let it = next.next(); !it.done; it = next.next()) {
          const k = it.value;
          const value = await take(claims, entry(k), seen.get(entry(k)), k, o);
          if (value === undefined || await resultMeanwhile(jobs, claims, entry(k), k, value, o)) { continue; }
          // Never a rejection left unawaited: the first failure is kept and ends the loop below.
          // The slot is free once the job is built: its result is pushed while the next job is claimed.
          building.set(k, buildOne(jobs, claims, entry(k), k, value, o).then((share) => {
            built.push(k.job.name);
            done.add(k);
            const p: Promise<void> = share(pushes).catch((e: unknown) => { failed ??= { e }; }).finally(() => sharing.delete(p));
            sharing.add(p);
          }, (e: unknown) => { failed ??= { e }; }).finally(() => building.delete(k)));
          started++;
          return;
        }
      };
      await Promise.all(Array.from({ length: Math.max(0, o.slots - building.size) }, lane));
      if (started > 0) { wait = FIRST_WAIT_MS; }
      if (building.size >= o.slots) {
        // Every slot busy: nothing to claim until one frees, so no look at the remote meanwhile.
        await Promise.race(building.values());
      } else if (started === 0) {
        // A slot stays idle: why, once per job it waits on.
        for (const [k, line] of waitsFor(order.filter((k) => !done.has(k) && !building.has(k) && !ready.includes(k)), (n) => (done.has(n) ? undefined : building.has(n) ? 'here' : seen.get(entry(n)) ?? 'unclaimed'), needsOf)) { sayOnce(`waits:${k.digest}`, line); }
        await Promise.race([...building.values(), new Promise((r) => setTimeout(r, wait))]);
        wait = Math.min(LAST_WAIT_MS, Math.round(wait * 1.5));
      }
      if (failed) { throw failed.e; }
    }
    await Promise.all(sharing);
    if (failed) { throw failed.e; }
    return { built };
  } catch (e) {
    if (!DataKitError.is(e, 'RemoteFailed')) { throw e; }
    // What is building goes on (its result stays here, and is pushed with the rest if the remote takes it).
    await Promise.allSettled(building.values());
    await Promise.allSettled(sharing);
    return { built, stopped: e.message };
  }
}

/**
 * `keys` (longest chain first) with each run of equally long chains turned to start at a place of its own
 * for this runner: runners of one commit then go for different jobs of a wide graph instead of racing for
 * the same one.
 */
export function spreadTies(keys: readonly JobKey[], lengths: ReadonlyMap<JobKey, number>, runner: string): JobKey[] {
  const turn = createHash('sha256').update(runner).digest().readUInt32BE(0);
  const out: JobKey[] = [];
  for (let i = 0; i < keys.length;) {
    let j = i + 1;
    while (j < keys.length && lengths.get(keys[j]!) === lengths.get(keys[i]!)) { j++; }
    const run = keys.slice(i, j);
    const at = turn % run.length;
    out.push(...run.slice(at), ...run.slice(0, at));
    i = j;
  }
  return out;
}

/**
 * What each waiting job waits for: its needs without a result (`where` of each: built here, claimed by another
 * runner, not claimed yet; undefined when it has one), as a line to say.
 */
export function waitsFor(waiting: readonly JobKey[], where: (n: JobKey) => 'here' | 'unclaimed' | Claim | undefined, needsOf: (k: JobKey) => JobKey[]): [JobKey, string][] {
  const out: [JobKey, string][] = [];
  for (const k of waiting) {
    const on = needsOf(k).flatMap((n) => {
      const w = where(n);
      if (w === undefined) { return []; }
      return [`${n.job.name} (${w === 'here' ? 'building here' : w === 'unclaimed' ? 'no runner has claimed it yet' : `building on ${claimHolder(w)}`})`];
    });
    if (on.length > 0) { out.push([k, `${k.job.name}: waits for ${on.join(', ')}`]); }
  }
  return out;
}

/** Whether a job can be claimed: no runner claimed it, or its claim expired. One another runner holds is said once. */
function claimable(c: Claim | undefined, k: JobKey, expiryMs: number, sayOnce: (id: string, line: string) => void): boolean {
  if (c === undefined || (!c.mine && c.unchangedMs >= expiryMs)) { return true; }
  if (!c.mine) { sayOnce(c.value, `${k.job.name}: building on ${claimHolder(c)}`); }
  return false;
}

/** Whether a status is a result other than a success (a need of this kind skips what needs it). */
function notPassed(s: JobStatus | undefined): boolean {
  return s !== undefined && s.result.kind === 'failure';
}

/** Whether a status is a result (not pending, not none). */
function finished(s: JobStatus | undefined): boolean {
  return s !== undefined && s.result.kind !== 'pending';
}

/** Claims the job, or takes over a claim left unchanged for `expiryMs`: the claim's value, or undefined when another runner holds it. */
async function take(claims: Claims, entry: string, seen: Claim | undefined, k: JobKey, o: SpreadOptions): Promise<string | undefined> {
  if (seen === undefined) {
    const r = await claims.claim(entry);
    return r.won ? r.value : undefined;
  }
  const r = await claims.takeOver(entry, seen.value);
  if (r.won) { o.say(`${k.job.name}: taking it over from ${claimHolder(seen)}, whose claim did not change for ${Math.round(seen.unchangedMs / 1000)} s`); }
  return r.won ? r.value : undefined;
}

/**
 * Whether the job's result reached the remote between our look and our claim (another runner pushed it and
 * went): then it is fetched, and the claim removed. One the checks here refuse is built here all the same.
 */
async function resultMeanwhile(jobs: RepoJobs, claims: Claims, entry: string, k: JobKey, value: string, o: SpreadOptions): Promise<boolean> {
  if (!await claims.resultThere(entry)) { return false; }
  await jobs.fetch(o.remote, { timeoutMs: o.timeoutMs, claims: true });
  if (finished(await jobs.query(k))) { await claims.release(entry, value); return true; }
  o.say(`${k.job.name}: the remote's result cannot be used here (see the warnings above): it builds here`);
  return false;
}

/**
 * Builds one claimed job, refreshing the claim meanwhile; gives back how to share its result: push it and
 * remove the claim (run while the slot builds the next job).
 */
async function buildOne(jobs: RepoJobs, claims: Claims, entry: string, k: JobKey, first: string, o: SpreadOptions): Promise<(pushes: Mutex) => Promise<void>> {
  let value: string | undefined = first;
  let refreshing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    refreshing = refreshing.then(async () => {
      if (value === undefined) { return; }
      try {
        value = await claims.refresh(entry, value);
        if (value === undefined) { o.say(`${k.job.name}: another runner took the claim over; it still builds here`); }
      } catch (e) {
        o.say(`${k.job.name}: could not refresh its claim: ${(e as Error).message}`);
      }
    });
  }, Math.max(50, Math.round(o.expiryMs / 3)));
  let s: JobStatus;
  try {
    s = await jobs.lookup(k);
    while (s.result.kind === 'pending') { await s.result.changed; s = jobs.peek(k) ?? await jobs.lookup(k); }
  } finally {
    clearInterval(timer);
    await refreshing;
  }
  return async (pushes) => {
    try {
      // The result and the claim's removal in one push; else (another result there, the claim lost) apart.
      const result = s.output.kind === 'saved' ? s.output.saved.commit : undefined;
      if (value !== undefined && result !== undefined && await claims.finish(entry, value, result)) { return; }
      await pushes.runExclusive(() => jobs.push(o.remote, { timeoutMs: o.timeoutMs }));
    } catch (e) {
      if (!DataKitError.is(e, 'RemoteFailed')) { throw e; }
      o.say(`${k.job.name}: built here, but its result could not be pushed: ${e.message}`);
    }
    if (value !== undefined && !await claims.release(entry, value)) { o.say(`${k.job.name}: its claim was taken over meanwhile; another runner may build it too`); }
  };
}
