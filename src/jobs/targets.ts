// What can be built: HEAD, then (optionally) the other local branches. The results repository is a
// separate repository, and branches() reads refs/heads/ only, so no results ref (nor refs/datakit-ci/*,
// where shared results are fetched) is ever a target.
import type { SourceRepo } from '../store/sourceRepo';

export interface Target {
  /** The branch name, or `HEAD` when detached. */
  readonly name: string;
  readonly commit: string;
  readonly isHead: boolean;
  /** `main @ 1a2b3c4` */
  readonly label: string;
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
