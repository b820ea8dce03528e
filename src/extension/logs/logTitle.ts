// One title for a build's log, wherever it is opened from (a job's row, an earlier build, the history chart, a
// live channel): it names the job and what the build ran on, never an internal id.

/** What a build ran on (or a job is shown for): a commit, or that commit's working tree. */
export interface BuiltFrom {
  readonly commit?: string;
  readonly worktree?: boolean;
}

function what(b: BuiltFrom & { commit: string }): string {
  return b.worktree ? `working tree on ${b.commit.slice(0, 7)}` : b.commit.slice(0, 7);
}

/**
 * `lint @ 2adc093`; `lint · working tree on 83e761d`; a result reused for another commit than the one it was
 * built for says both, built-for first as its log's header does: `test @ 9707072 (reused for f6543b7)`.
 */
export function logTitle(job: string, built: BuiltFrom, shownFor?: BuiltFrom): string {
  if (built.commit === undefined) { return `${job} (built by another builder)`; }
  const on = built.worktree ? `${job} · ${what({ ...built, commit: built.commit })}` : `${job} @ ${what({ ...built, commit: built.commit })}`;
  const reused = shownFor?.commit !== undefined && (shownFor.commit !== built.commit || !!shownFor.worktree !== !!built.worktree);
  return reused ? `${on} (reused for ${what({ ...shownFor, commit: shownFor.commit! })})` : on;
}
