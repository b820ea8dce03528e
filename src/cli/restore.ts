// `datakit-ci restore JOB [--rev REV | --worktree] [--yes]`: a cached success's outputs written into the
// working tree, with the checks of the editor's Restore Outputs. Never builds: a job without a result says so.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { RepoJobs } from '../jobs/repoJobs';
import { applyRestore, planRestore, type RestorePlan } from '../jobs/restore';
import { DataKitError } from '../shared/errors';
import { EXIT, loadJobs, loadWorktreeJobs, pickJobs, REV_OPTIONS, type Io } from './context';
import { printable } from './format';

/** What the restore would do, as a person reads it before saying yes. */
function describe(plan: RestorePlan, cwd: string): string {
  const where = path.relative(cwd, plan.target) || '.';
  const lines = [`${plan.job}: ${plan.files.length} output file${plan.files.length === 1 ? '' : 's'} to restore into ${where}`];
  const f = plan.fetched;
  if (f) {
    // A fetched result's words are its maker's: shown, never acted on.
    lines.push(`  built by ${printable(f.builtBy ?? 'another machine')}, fetched from ${printable(f.remote)}, ${f.verifiedBy !== undefined ? `verified: ${printable(f.verifiedBy)}` : 'unverified (no trusted builder signed it)'}`);
  }
  const shown = 20;
  const list = (mark: string, paths: readonly string[]): void => {
    for (const p of paths.slice(0, shown)) { lines.push(`  ${mark} ${printable(p)}`); }
    if (paths.length > shown) { lines.push(`  … and ${paths.length - shown} more`); }
  };
  list('overwrite', plan.overwritten);
  list('new      ', plan.created);
  return `${lines.join('\n')}\n`;
}

export async function runRestore(jobs: RepoJobs, args: string[], io: Io, cwd: string): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true,
    options: { ...REV_OPTIONS, worktree: { type: 'boolean', default: false }, yes: { type: 'boolean', default: false } } });
  if (positionals.length !== 1) { throw new DataKitError('Usage', 'restore needs exactly one JOB'); }
  if (values.worktree && (values.rev !== 'HEAD' || values.config !== undefined)) { throw new DataKitError('Usage', '--worktree restores a build of the working tree: it takes no --rev or --config'); }
  const at = values.worktree ? await loadWorktreeJobs(jobs, io, 'restoring the outputs of') : await loadJobs(jobs, { rev: values.rev, config: values.config, cwd }, io);
  const [key] = pickJobs(at, positionals);
  const status = await jobs.query(key);
  if (!status) {
    throw new DataKitError('NotBuilt', `${key.job.name} has no saved result for ${values.worktree ? 'the working tree' : at.commit.slice(0, 7)}; \`datakit-ci build ${key.job.name}\` builds it (restore never builds)`);
  }
  const plan = await planRestore(jobs, key, status, jobs.dirs.topLevel);
  io.out(describe(plan, cwd));
  // Writing over a person's files, or writing files nobody trusted vouched for, is asked first.
  const why = [plan.overwritten.length > 0 ? `overwrite ${plan.overwritten.length} file${plan.overwritten.length === 1 ? '' : 's'}` : '',
    plan.fetched && plan.fetched.verifiedBy === undefined ? 'write files no trusted builder signed' : ''].filter(Boolean).join(' and ');
  if (why && !values.yes) {
    if (!io.ask) { throw new DataKitError('Usage', `restoring would ${why}; nothing was restored (--yes restores them)`); }
    if (!await io.ask(`Restore them (${why})?`)) { io.out('nothing was restored\n'); return EXIT.ok; }
  }
  const written = await applyRestore(jobs, plan);
  io.out(`restored ${written.length} file${written.length === 1 ? '' : 's'} of ${plan.job}\n`);
  return EXIT.ok;
}
