// Keeping the disk in bounds: the results repository's retention (gc) and the build directories of jobs and
// setups no current commit declares (clean).
import fs = require('node:fs');
import path = require('node:path');
import { unlessMissing } from '../shared/errors';
import type { GcReport, GitStore } from '../store/results/gitStore';
import type { JobsAt } from './commitJobs';
import { entryName } from './keys/key';
import { cleanBuildRoot, type CleanResult } from './run/cleanup';
import type { FileEntryLocks } from './run/entryLocks';
import { setupDirName } from './run/setup';

export interface GcOptions {
  readonly maxAgeMs?: number;
  readonly keepBuilds?: number;
  readonly maxBytes?: number;
}

export interface MaintenanceDeps {
  readonly store: GitStore;
  readonly locks: FileEntryLocks;
  readonly builder: string;
  readonly buildRoot: string;
  /** The commits whose results and build directories are kept (HEAD and the local branches). */
  readonly commits: readonly string[];
  readonly jobsAt: (commit: string) => Promise<JobsAt>;
}

/**
 * Retention (see GitStore.gc): keeps every result of the commits' jobs, the last `keepBuilds` builds of each
 * key and whatever is younger than `maxAgeMs`; removes the rest, the keys files of commits gone with them and
 * what of the build directories is no longer current (see cleanBuildDirs). The jobs of a commit that cannot be read stop the gc:
 * their results would otherwise lose their protection.
 */
export async function collectGarbage(deps: MaintenanceDeps, options: GcOptions = {}): Promise<GcReport & { buildDirs: CleanResult }> {
  const keep = new Set<string>();
  for (const commit of deps.commits) {
    for (const k of (await deps.jobsAt(commit)).keys) { keep.add(entryName(k)); }
  }
  const maxAgeMs = options.maxAgeMs ?? 30 * 86_400_000;
  const report = await deps.store.gc(deps.builder, {
    keep: (entry) => keep.has(entry),
    busy: async (entry) => (await deps.locks.holder(`${deps.builder}/${entry}`)) !== undefined,
    maxAgeMs, keepBuilds: options.keepBuilds ?? 10, ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
  });
  await removeOldKeyFiles(path.join(deps.store.dir, 'keys'), new Set(deps.commits.map((c) => `${c}.json`)), maxAgeMs);
  const cleaned = await cleanBuildDirs(deps);
  return { ...report, buildDirs: cleaned };
}

/** The keys files of commits no target holds, computed long ago (they are computed again when needed). */
async function removeOldKeyFiles(keysDir: string, current: ReadonlySet<string>, maxAgeMs: number): Promise<void> {
  for (const f of await unlessMissing(fs.promises.readdir(keysDir)) ?? []) {
    if (current.has(f)) { continue; }
    const st = await unlessMissing(fs.promises.stat(path.join(keysDir, f)));
    if (st && Date.now() - st.mtimeMs > maxAgeMs) { await fs.promises.rm(path.join(keysDir, f), { force: true }); }
  }
}

/**
 * Removes the build directories of jobs that none of the commits declares (renamed and deleted jobs), spare
 * directories, the setup products of keys none of them uses (and the links to them), and what earlier
 * layouts left; what a build holds stays.
 */
export async function cleanBuildDirs(deps: Pick<MaintenanceDeps, 'buildRoot' | 'commits' | 'jobsAt'>, options: { dryRun?: boolean } = {}): Promise<CleanResult> {
  const jobs = new Set<string>();
  const setups = new Set<string>();
  for (const commit of deps.commits) {
    for (const k of (await deps.jobsAt(commit)).keys) {
      jobs.add(k.job.name);
      if (k.setup) { setups.add(setupDirName(k.setup)); }
    }
  }
  return cleanBuildRoot(deps.buildRoot, { jobs, setups }, options);
}
