// `build --fetch --push --runners N`: this runner is one of N that share the commit's jobs through claims on
// the remote (see jobs/spread.ts); it returns once every job has a result here, and `build` goes on as usual.
import os = require('node:os');
import type { JobKey } from '../jobs/keys/key';
import type { RepoJobs } from '../jobs/repoJobs';
import { buildSpread, withNeeds } from '../jobs/spread';
import { gcClaims } from '../jobs/claimsGc';
import { DataKitError } from '../shared/errors';
import { printable } from './format';
import { EXIT, type Io } from './context';

/** How long a claim nobody refreshes lasts by default (s): a runner that died frees its jobs after this. */
const DEFAULT_EXPIRY_S = 120;

export interface SpreadFlags {
  readonly runners: number;
  readonly expiryMs: number;
}

/** `--runners N` and `--claim-expiry SECONDS`, checked; undefined without `--runners`. */
export function spreadFlags(values: { runners?: string; 'claim-expiry'?: string; fetch: boolean; push: boolean; range?: string; worktree: boolean }): SpreadFlags | undefined {
  if (values.runners === undefined) {
    if (values['claim-expiry'] !== undefined) { throw new DataKitError('Usage', '--claim-expiry is how long a claim of --runners lasts: give --runners'); }
    return undefined;
  }
  const runners = Number(values.runners);
  if (!Number.isInteger(runners) || runners < 1) { throw new DataKitError('Usage', '--runners takes how many runners share the commit: a whole number above 0'); }
  if (!values.fetch || !values.push) { throw new DataKitError('Usage', '--runners shares the jobs through the remote: give --fetch and --push too'); }
  if (values.range !== undefined || values.worktree) { throw new DataKitError('Usage', '--runners shares one commit\'s jobs: it takes no --range or --worktree'); }
  return { runners, expiryMs: expiryOf(values['claim-expiry']) };
}

/** How long a claim may go unrefreshed before gc removes it whatever it holds: runners refresh theirs every few minutes at most. */
const CLAIM_MAX_AGE_MS = 86_400_000;

/** `--claim-expiry S` in ms (default 120 s). */
export function expiryOf(value: string | undefined): number {
  const expiry = Number(value ?? DEFAULT_EXPIRY_S);
  if (!Number.isFinite(expiry) || expiry <= 0) { throw new DataKitError('Usage', '--claim-expiry takes a number of seconds above 0'); }
  return expiry * 1000;
}

/**
 * `gc --remote R`: removes the claims runners left on R, one line each saying why (a claim's holder and entry
 * are what the remote says: printable by then).
 */
export async function runClaimsGc(jobs: RepoJobs, remote: string, expiry: string | undefined, timeoutMs: number | undefined, io: Io): Promise<number> {
  const expiryMs = expiryOf(expiry);
  const r = await gcClaims(jobs, remote, runnerName(), { expiryMs, maxAgeMs: Math.max(CLAIM_MAX_AGE_MS, 10 * expiryMs), ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
  io.out(`claims on ${remote}: ${r.removed.length} removed, ${r.left.length + r.inUse} left${r.inUse ? ` (${r.inUse} held by runners at work)` : ''}\n`);
  for (const c of r.removed) { io.out(`  removed ${printable(c.entry)} of ${printable(c.holder)}: ${printable(c.why)}\n`); }
  for (const c of r.left) { io.out(`  left ${printable(c.entry)} of ${printable(c.holder)}: ${printable(c.why)}\n`); }
  return EXIT.ok;
}

/** This machine as other runners are told of it: printable ASCII, the host and the process. */
export function runnerName(): string {
  return `${os.hostname().replace(/[^ -~]/g, '?').slice(0, 80)} pid ${process.pid}`;
}

/** Builds this runner's share of the jobs `keys` (and their needs), saying what it does on stderr. */
export async function runSpread(jobs: RepoJobs, all: readonly JobKey[], keys: readonly JobKey[], flags: SpreadFlags, remote: string, timeoutMs: number | undefined, io: Io): Promise<void> {
  const runner = runnerName();
  const spread = withNeeds(all, keys);
  io.err(`datakit-ci: ${runner}, one of ${flags.runners} runners, shares ${spread.length} job${spread.length === 1 ? '' : 's'} through claims on ${remote}\n`);
  const started = Date.now();
  const r = await buildSpread(jobs, spread, {
    remote, runner, expiryMs: flags.expiryMs, ...(timeoutMs !== undefined ? { timeoutMs } : {}), slots: Math.max(1, os.availableParallelism()),
    say: (line) => io.err(`datakit-ci: ${printable(line)}\n`),
  });
  if (r.stopped !== undefined) {
    io.err(`datakit-ci: warning: ${printable(r.stopped)}; the jobs left build here, unclaimed\n`);
  }
  io.err(`datakit-ci: built ${r.built.length} of ${spread.length} job${spread.length === 1 ? '' : 's'} here in ${((Date.now() - started) / 1000).toFixed(1)} s${r.built.length ? ` (${printable(r.built.join(', '))})` : ''}\n`);
}
