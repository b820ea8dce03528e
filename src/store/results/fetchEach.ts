// When fetching a remote's results at once fails, but the remote answers: one malformed result there (a missing
// or corrupt object) must cost that result only. The refs are fetched again in halves, down to the ones that
// fail alone, which are named; every other result is fetched.
import { DataKitError } from '../../shared/errors';
import type { GitResult } from '../git/git';
import type { StoreContext } from './storeContext';

/** Runs `git fetch` with options and the refspecs read from its input, until `deadline` (ms since the epoch). */
export type FetchRun = (options: readonly string[], refspecs: readonly string[], deadline: number) => Promise<GitResult>;

export interface FetchEachResult {
  /** The results that could not be fetched, with git's reason. */
  readonly failed: readonly { ref: string; reason: string }[];
}

/**
 * Lists the remote's results (`git ls-remote`; a remote that does not answer is `RemoteFailed`), fetches them
 * in halves down to single refs, then removes the fetched refs of results the remote no longer has (`--prune`).
 */
export async function fetchEach(ctx: StoreContext, opts: {
  remote: string; sharedPrefix: string; fetchedPrefix: string; deadline: number; firstError: string;
  run: FetchRun; lsRemote: (deadline: number) => Promise<GitResult>; error: (stderr: string) => string;
}): Promise<FetchEachResult> {
  const listed = await opts.lsRemote(opts.deadline);
  if (listed.code !== 0) {
    throw new DataKitError('RemoteFailed', `Could not fetch the results of ${opts.remote}: ${opts.error(opts.firstError) || opts.error(listed.stderr)}`);
  }
  const refs = listed.stdout.toString('utf8').split('\n').map((l) => l.split('\t')[1]).filter((r): r is string => r !== undefined && r.startsWith(opts.sharedPrefix));
  const local = (ref: string): string => `${opts.fetchedPrefix}${ref.slice(opts.sharedPrefix.length)}`;
  const failed: { ref: string; reason: string }[] = [];
  const fetchPart = async (part: readonly string[]): Promise<void> => {
    if (part.length === 0) { return; }
    const r = await opts.run([], part.map((ref) => `+${ref}:${local(ref)}`), opts.deadline);
    if (r.code === 0) { return; }
    if (Date.now() >= opts.deadline) {
      throw new DataKitError('RemoteFailed', `Could not fetch the results of ${opts.remote}: ${opts.error(r.stderr)}`);
    }
    if (part.length === 1) { failed.push({ ref: part[0]!, reason: opts.error(r.stderr) || `git exited with ${r.code}` }); return; }
    const half = Math.ceil(part.length / 2);
    await fetchPart(part.slice(0, half));
    await fetchPart(part.slice(half));
  };
  await fetchPart(refs);
  // As --prune would: what the remote no longer lists goes (a result it failed to send stays as it was).
  const there = new Set(refs.map(local));
  const gone = [...(await ctx.refs.list(opts.fetchedPrefix)).keys()].filter((r) => !there.has(r));
  if (gone.length > 0) {
    await ctx.git('prune fetched results', ['update-ref', '--stdin'], { input: gone.map((r) => `delete ${r}\n`).join('') });
  }
  return { failed };
}
