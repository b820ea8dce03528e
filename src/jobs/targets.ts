// What can be built: HEAD, then (optionally) the other local branches. The results repository is a
// separate repository, and branches() reads refs/heads/ only, so no results ref (nor refs/datakit-ci/*,
// where shared results are fetched) is ever a target.
import type { SourceRepo } from '../store/source/sourceRepo';

export interface Target {
  /** The branch name, or `HEAD` when detached; for an earlier commit of the branch, its id. */
  readonly name: string;
  readonly commit: string;
  readonly isHead: boolean;
  /** `main @ 1a2b3c4`, or `1a2b3c4 Fix the parser` for an earlier commit of the branch. */
  readonly label: string;
  /** An earlier commit of HEAD's branch (the `branch` targets), with its subject. */
  readonly subject?: string;
  /** The working tree over `commit` (its HEAD), when it differs from it. */
  readonly worktree?: true;
}

/** What the `branch` targets list beside the commits shown: what they were counted against, and how many there are. */
export interface BranchInfo {
  readonly base: string | undefined;
  readonly total: number;
}

function target(name: string, commit: string, isHead: boolean): Target {
  return { name, commit, isHead, label: `${name} @ ${commit.slice(0, 7)}` };
}

/** HEAD first, then the other local branches sorted by name; an unborn HEAD is left out. */
export async function listTargets(repo: SourceRepo, options: { branches: boolean }): Promise<Target[]> {
  const [head, branches] = await Promise.all([repo.head(), options.branches ? repo.branches() : Promise.resolve([])]);
  const out: Target[] = [];
  if (head) { out.push(target(head.branch ?? 'HEAD', head.commit, true)); }
  const others = branches
    .filter((b) => b.name !== head?.branch)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const b of others) { out.push(target(b.name, b.commit, false)); }
  return out;
}

/**
 * HEAD, then every earlier commit of its branch that is not on its upstream (or the default branch), newest
 * first, at most `max` in all.
 */
export async function branchTargets(repo: SourceRepo, max: number): Promise<{ targets: Target[]; info: BranchInfo }> {
  const [head, branch] = await Promise.all([repo.head(), repo.branchCommits(max)]);
  if (!head) { return { targets: [], info: { base: undefined, total: 0 } }; }
  const out: Target[] = [target(head.branch ?? 'HEAD', head.commit, true)];
  for (const c of branch.commits) {
    if (c.commit === head.commit) { continue; }
    out.push({ name: c.commit, commit: c.commit, isHead: false, label: `${c.commit.slice(0, 7)} ${c.subject}`, subject: c.subject });
  }
  return { targets: out, info: { base: branch.base, total: branch.total } };
}
