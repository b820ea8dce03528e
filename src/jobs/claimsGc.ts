// `gc --remote R`: the claims runners left on a remote, removed (see store/results/claimsGc.ts).
import { applyClaimsGc, planClaimsGc, type ClaimsGcOptions, type ClaimsGcReport } from '../store/results/claimsGc';
import type { RepoJobs } from './repoJobs';

export type { ClaimsGcReport };
export { claimHolder, type Claim } from '../store/results/claims';

/** Removes the leftover and stale claims on `remote`, each with a lease on the value seen; says what it did. */
export async function gcClaims(jobs: RepoJobs, remote: string, runner: string, options: ClaimsGcOptions & { timeoutMs?: number }): Promise<ClaimsGcReport> {
  const { claims } = jobs.claims(remote, runner, options.timeoutMs);
  return applyClaimsGc(claims, await planClaimsGc(claims, remote, options));
}
