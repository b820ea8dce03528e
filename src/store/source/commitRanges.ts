// Lists of commits: a range (`A..B`), and the commits of the current branch that its upstream lacks. Both
// are git's answers (`rev-list`, `log --topo-order`): history is walked by git, never here.
import { DataKitError } from '../../shared/errors';
import type { GitResult, RunGitOptions } from '../git/git';
import type { RepoHead } from './sourceTypes';

/** What the lists need of a repository reader (SourceRepo). */
export interface RevisionReader {
  git(args: string[], options?: RunGitOptions): Promise<GitResult>;
  resolve(rev: string): Promise<string>;
  head(): Promise<RepoHead | undefined>;
  commitSubject(commit: string): Promise<string>;
}

export type CommitList = { commits: { commit: string; subject: string }[]; total: number };

/**
 * The commits of `A..B` (or `A...B`), newest first (`git rev-list --topo-order`): at most `max` of them,
 * with how many there are in all. A side left empty is HEAD, as for git. Anything that is not such a range
 * is `InvalidRange`; a side the repository does not know is `UnknownRevision`, naming it.
 */
export async function rangeCommits(repo: RevisionReader, range: string, max: number): Promise<CommitList> {
  // A ref name never holds '..': the first one splits the range.
  const at = range.indexOf('..');
  const op = range[at + 2] === '.' ? '...' : '..';
  const [a, b] = [range.slice(0, at), range.slice(at + op.length)];
  if (at < 0 || b.includes('..') || /[\s\0]/.test(range) || range.startsWith('-') || (!a && !b)) {
    throw new DataKitError('InvalidRange', `Not a range of commits: '${range}' (write it as A..B: the commits reachable from B and not from A)`);
  }
  const [from, to] = await Promise.all([repo.resolve(a || 'HEAD'), repo.resolve(b || 'HEAD')]);
  const spec = `${from}${op}${to}`;
  const [count, list] = await Promise.all([
    repo.git(['rev-list', '--count', spec, '--']),
    repo.git(['log', '--topo-order', '--format=%H %s', `--max-count=${max}`, spec, '--']),
  ]);
  const commits = list.stdout.toString('utf8').split('\n').filter(Boolean).map((line) => {
    const sp = line.indexOf(' '); // after a SHA-1 or a SHA-256 id
    return { commit: line.slice(0, sp), subject: line.slice(sp + 1) };
  });
  return { commits, total: Number(count.stdout.toString('utf8').trim()) };
}

/**
 * The commits of the current branch that are not on its upstream (or, without one, not on the default
 * branch: `origin/HEAD`, else `main` or `master`), newest first, HEAD included; with what they were
 * counted against. Just HEAD when there is nothing to compare with.
 */
export async function branchCommits(repo: RevisionReader, max: number): Promise<{ base: string | undefined } & CommitList> {
  const head = await repo.head();
  if (!head) { return { base: undefined, commits: [], total: 0 }; }
  const upstream = await repo.git(['rev-parse', '--abbrev-ref', '--symbolic-full-name', '@{upstream}'], { allowFailure: true });
  let base = upstream.code === 0 ? upstream.stdout.toString('utf8').trim() : undefined;
  if (!base) {
    const origin = await repo.git(['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD'], { allowFailure: true });
    const candidates = [origin.code === 0 ? origin.stdout.toString('utf8').trim() : '', 'main', 'master'].filter((b) => b && b !== head.branch);
    for (const c of candidates) {
      const r = await repo.git(['rev-parse', '--verify', '--quiet', `${c}^{commit}`], { allowFailure: true });
      if (r.code === 0) { base = c; break; }
    }
  }
  if (!base) {
    return { base: undefined, commits: [{ commit: head.commit, subject: await repo.commitSubject(head.commit) }], total: 1 };
  }
  const mergeBase = await repo.git(['merge-base', base, head.commit], { allowFailure: true });
  const from = mergeBase.code === 0 ? mergeBase.stdout.toString('utf8').trim() : undefined;
  const range = from ? await rangeCommits(repo, `${from}..${head.commit}`, max) : { commits: [], total: 0 };
  if (range.commits[0]?.commit !== head.commit) { // HEAD on its base: HEAD alone
    return { base, commits: [{ commit: head.commit, subject: await repo.commitSubject(head.commit) }], total: 1 };
  }
  return { base, ...range };
}
