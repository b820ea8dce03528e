// Restoring a cached success's outputs into the working tree: what the editor's Restore Outputs and
// `datakit-ci restore` share — the same checks before anything is written, the same plan to show, the same write.
import type { JobKey } from './keys/key';
import type { Saved } from '../engine/status';
import type { JobStatus, RepoJobs } from './repoJobs';
import { plannedRestore, restoreOutputs, restoreProblem } from './run/outputs';
import { DataKitError } from '../shared/errors';

/** Where outputs that were built on another machine come from, and who vouched for them. */
export interface RestoreOrigin {
  readonly remote: string;
  readonly builtBy?: string;
  /** The trusted builder who signed the result, or undefined: no trusted builder did (unverified). */
  readonly verifiedBy?: string;
}

/** What a restore would write, checked: shown to the person before `applyRestore` writes it. */
export interface RestorePlan {
  readonly job: string;
  readonly saved: Saved;
  readonly target: string;
  readonly files: readonly { path: string; mode: string }[];
  /** Files of the working tree the restore would replace, and the files it would create. */
  readonly overwritten: readonly string[];
  readonly created: readonly string[];
  /** Set when the result was fetched from a remote rather than built here. */
  readonly fetched?: RestoreOrigin;
}

/**
 * The plan to restore `key`'s outputs into `target`: refused when the job has no successful saved result, saved
 * no files, or names a path that would leave the target or write into a `.git` (every path is checked first).
 */
export async function planRestore(jobs: RepoJobs, key: JobKey, status: JobStatus | undefined, target: string | undefined): Promise<RestorePlan> {
  const name = key.job.name;
  if (!status || status.output.kind !== 'saved') {
    throw new DataKitError('NoOutputs', `${name} has no saved result for ${key.commit.slice(0, 7)}`);
  }
  if (status.result.kind !== 'success') {
    throw new DataKitError('NoOutputs', `${name} failed: only a success's outputs are restored`);
  }
  if (!target) { throw new DataKitError('NoWorkTree', 'a bare repository has no work tree to restore into'); }
  const saved = status.output.saved;
  const files = await jobs.outputFiles(saved);
  if (files.length === 0) { throw new DataKitError('NoOutputs', `${name} saved no output files`); }
  const refused = files.map((f) => [f.path, restoreProblem(f.path)] as const).filter(([, why]) => why);
  if (refused.length > 0) {
    throw new DataKitError('UnsafePath', `refusing to restore the outputs of ${name}: ${refused.map(([p, why]) => `"${p}" (${why})`).join(', ')}`);
  }
  const { overwritten, created } = await plannedRestore(files.map((f) => f.path), target);
  const provenance = await jobs.provenance(key, saved.commit);
  const builtBy = provenance.fetchedFrom === undefined ? undefined : (await jobs.resultTimes(saved.commit)).builtBy;
  const fetched = provenance.fetchedFrom === undefined ? undefined : {
    remote: provenance.fetchedFrom,
    ...(builtBy !== undefined ? { builtBy } : {}),
    ...(provenance.verifiedBy !== undefined ? { verifiedBy: provenance.verifiedBy } : {}),
  };
  return { job: name, saved, target, files, overwritten, created, ...(fetched ? { fetched } : {}) };
}

/** Writes the planned outputs into the working tree; the paths written. */
export async function applyRestore(jobs: RepoJobs, plan: RestorePlan): Promise<string[]> {
  const data = await Promise.all(plan.files.map(async (f) => ({ path: f.path, mode: f.mode, data: await jobs.readOutput(plan.saved, f.path) })));
  return restoreOutputs(data, plan.target);
}
