// The problems a job's saved log names, for the Problems panel and the command line: the log matched with
// the job's problem matcher (or the default one), paths made relative to the repository — those printed
// inside a build directory or the working copy included — and kept to the files of the job's commit where
// the matcher asks for them.
import * as fs from 'fs';
import * as path from 'path';
import { checkoutFolders } from './checkout';
import type { JobKey } from './key';
import { matchLog, type MatchResult } from './matchLog';
import { resolveMatcher } from './problemMatchers';
import type { RepoJobs } from './repoJobs';

export interface JobProblemsOptions {
  /** Match in a worker thread (the editor: its event loop stays free); else in this thread. */
  readonly worker: boolean;
  /** The files of the key's commit, when the caller has them. */
  readonly files?: ReadonlySet<string>;
  readonly signal?: AbortSignal;
}

/** The files of a commit, as git lists them. */
export async function commitFiles(jobs: RepoJobs, commit: string): Promise<Set<string>> {
  const r = await (await jobs.repo()).git(['ls-tree', '-r', '-z', '--name-only', commit]);
  return new Set(r.code === 0 ? r.stdout.toString('utf8').split('\0').filter(Boolean) : []);
}

/** The problems named by the log saved in `result` (a result of `key`). */
export async function jobProblems(jobs: RepoJobs, key: JobKey, result: string, options: JobProblemsOptions): Promise<MatchResult> {
  const [bytes, files] = await Promise.all([jobs.store.readLogBytes({ commit: result }), options.files ?? commitFiles(jobs, key.commit)]);
  // The job ran in one of the build directories: a path printed inside any of them is a repository path.
  const checkouts = (await Promise.all(checkoutFolders(jobs.buildRoot).map((folder) => fs.promises.readdir(folder)
    .then((names) => names.filter((n) => !n.endsWith('.lock')).map((n) => path.join(folder, n)), () => [])))).flat();
  const roots = [...(jobs.dirs.topLevel ? [jobs.dirs.topLevel] : []), ...checkouts];
  const spec = key.job.problemMatcher;
  if (!options.worker) { return matchLog(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), resolveMatcher(spec), { roots, files }); }
  // Loaded when first needed: the command line, which matches in its own thread, never loads worker_threads.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { matchLogInWorker } = require('./matchInWorker') as typeof import('./matchInWorker');
  return matchLogInWorker(bytes, spec, { roots, files }, options.signal);
}
