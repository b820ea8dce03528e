// A job's cache key: what was built, not when. Git already content-addresses every file, so the key is a
// digest of the builder's version, the normalised job definition and the object ids of the job's inputs.
import { createHash } from 'node:crypto';
import { VERSION } from '../engine/version';
import type { SourceRepo } from '../store/sourceRepo';
import { normalizeJob, type JobDefinition } from './config';

export interface JobKey {
  readonly job: JobDefinition;
  /** The commit this key was computed for (recorded in key.json, not part of the digest). */
  readonly commit: string;
  /** Each input path and its object id in the commit (`null` when absent); `.` is the root tree. */
  readonly inputs: Readonly<Record<string, string | null>>;
  readonly digest: string;
}

export const TOOL = `datakit-ci/${VERSION}`;

export async function computeKey(repo: SourceRepo, commit: string, job: JobDefinition): Promise<JobKey> {
  const inputs: Record<string, string | null> = {};
  if (!job.inputs) {
    inputs['.'] = await repo.rootTree(commit);
  } else {
    const ids = await repo.objectIds(commit, job.inputs);
    for (const p of [...job.inputs].sort()) { inputs[p] = ids.get(p) ?? null; }
  }
  return { job, commit, inputs, digest: digestOf(job, inputs) };
}

/** The key's digest: what was built (the tool, the normalised definition, the inputs' object ids). */
export function digestOf(job: JobDefinition, inputs: Readonly<Record<string, string | null>>): string {
  return createHash('sha256').update(JSON.stringify({ tool: TOOL, job: normalizeJob(job), inputs })).digest('hex');
}

/** What key.json in each saved entry records: everything the digest was made of, and the source commit. */
export function keyJson(key: JobKey): string {
  return JSON.stringify({
    tool: TOOL,
    digest: key.digest,
    job: JSON.parse(normalizeJob(key.job)),
    inputs: key.inputs,
    commit: key.commit,
  }, null, 2) + '\n';
}

/** The entry's name in the results repository: `<job>/<first 16 hex digits of the digest>`. */
export function entryName(key: JobKey): string {
  return `${key.job.name}/${key.digest.slice(0, 16)}`;
}

/** Input paths whose object ids differ between two keys' records (why a job was rebuilt). */
export function changedInputs(before: Record<string, string | null>, after: Record<string, string | null>): string[] {
  const paths = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...paths].filter((p) => before[p] !== after[p]).sort();
}
