// The problems a job's saved log names, for the Problems panel and the command line: the log matched with
// the job's problem matcher (or the default one), paths made relative to the repository — those printed
// inside a build directory or the working copy included — and kept to the files of the job's commit where
// the matcher asks for them.
import * as fs from 'fs';
import * as path from 'path';
import { DataKitError, unlessMissing } from '../shared/errors';
import { checkoutFolders } from './run/checkout';
import type { JobKey } from './keys/key';
import type { MatchResult } from './problems/matchLog';
import type { Status } from '../engine/status';

export interface JobProblemsOptions {
  /** The files the job saw, when the caller has them (default: the key's commit's). */
  readonly files?: ReadonlySet<string>;
  readonly signal?: AbortSignal;
}

/**
 * How long matching one log may take. A declared `regexp` can backtrack without end (`(a+)+$`); the worker
 * is then stopped and that is said, instead of a command or a window waiting for ever.
 */
export const MATCH_DEADLINE_MS = 20_000;

/** Whether a job's status has problems to match: a failure (not a cancellation) with a saved log. */
export function matchableFailure(status: Status<unknown> | undefined): string | undefined {
  return status?.result.kind === 'failure' && status.output.kind === 'saved' && status.result.reason !== 'cancelled' ? status.output.saved.commit : undefined;
}

/**
 * Where a log's absolute paths may start, a repository path following: the working copy, and each checkout
 * a job or a setup ran in (matchLog's `roots`). Each also by its real path when a symbolic link is on the way
 * to it (macOS's /var → /private/var, a linked home folder): a tool prints the folder it runs in as the system
 * gives it (`process.cwd()`), which is the real path, not the one the job was started in.
 */
export async function problemRoots(buildRoot: string, topLevel: string | undefined): Promise<string[]> {
  const checkouts = await Promise.all(checkoutFolders(buildRoot).map(async (folder) => {
    const names = ((await unlessMissing(fs.promises.readdir(folder))) ?? []).filter((n) => !n.endsWith('.lock'));
    const real = names.length > 0 ? await realPath(folder) : folder;
    return names.flatMap((n) => (real === folder ? [path.join(folder, n)] : [path.join(folder, n), path.join(real, n)]));
  }));
  const top = topLevel === undefined ? [] : [...new Set([topLevel, await realPath(topLevel)])];
  return [...top, ...checkouts.flat()];
}

/** The path without symbolic links, or the path itself when it cannot be resolved. */
function realPath(p: string): Promise<string> {
  return fs.promises.realpath(p).catch(() => p);
}

/** What matching a job's log reads: its bytes, the files of a commit, and where builds ran. */
export interface ProblemSources {
  readLogBytes(): Promise<Uint8Array>;
  commitFiles(commit: string): Promise<Set<string>>;
  readonly buildRoot: string;
  readonly topLevel: string | undefined;
}

/**
 * The problems named by the log saved in `result` (a result of `key`), matched in a worker thread (an editor's
 * event loop stays free; a command line's 16 MiB log takes a fraction of a second either way).
 */
export async function jobProblems(sources: ProblemSources, key: JobKey, options: JobProblemsOptions = {}): Promise<MatchResult> {
  const [bytes, files, roots] = await Promise.all([sources.readLogBytes(), options.files ?? sources.commitFiles(key.commit), problemRoots(sources.buildRoot, sources.topLevel)]);
  // Loaded when first needed: a passing build never loads worker_threads.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { matchLogInWorker } = require('./problems/matchInWorker') as typeof import('./problems/matchInWorker');
  const deadline = AbortSignal.timeout(MATCH_DEADLINE_MS);
  try {
    // Only a failure's log is matched (matchableFailure): what the default matcher finds without a word of
    // severity is an error.
    return await matchLogInWorker(bytes, key.job.problemMatcher, { roots, files, failed: true }, options.signal ? AbortSignal.any([options.signal, deadline]) : deadline);
  } catch (e) {
    if (deadline.aborted && !options.signal?.aborted) {
      throw new DataKitError('MatchFailed', `Matching the log of ${key.job.name} took more than ${MATCH_DEADLINE_MS / 1000} s and was stopped: a "regexp" of its problemMatcher may backtrack without end`);
    }
    throw e;
  }
}
