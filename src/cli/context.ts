// What every command shares: the terminal, its exit codes and errors, and the jobs of the revision (and
// the configuration) it was asked about, with what a user should hear about them first.
import path = require('node:path');
import { CONFIG_FILE } from '../jobs/config/config';
import { keyWarnings, type JobKey } from '../jobs/keys/key';
import { MAX_CONFIG_BYTES } from '../jobs/repoJobs';
import { readRegularTextSync } from '../shared/regularFile';
import type { JobsAt, JobStatus, RepoJobs } from '../jobs/repoJobs';
import { DataKitError, EXIT } from '../shared/errors';
import { printable } from './format';

export { EXIT };

export interface Io {
  out(text: string): void;
  err(text: string): void;
  isTTY: boolean;
  /** Whether stderr is a terminal (a person reads the notes). */
  errIsTTY?: boolean;
  /** A promise while what `out` wrote waits to be taken by the reader of the output (a slow pipe), else undefined. */
  whenWritable?(): Promise<void> | undefined;
  /** How many characters a line of the output may have (the terminal's width; 80 when unknown). */
  columns?: number;
  /** Asks the person at the terminal a yes/no question; absent when no one can answer (no terminal). */
  ask?(question: string): Promise<boolean>;
}

export interface JobsOptions {
  /** The revision (default HEAD). */
  rev: string;
  /** Another configuration file to read the jobs from (instead of the commit's .datakit-ci.json). */
  config?: string;
  /** The working directory, for --config and for comparing the working copy's configuration. */
  cwd: string;
}

/**
 * The jobs of the revision, from its own .datakit-ci.json or from `--config FILE`. Says, on stderr, which
 * configuration is used when the working copy's differs, and every input that matches nothing. A missing
 * or broken configuration, an unknown revision or a repository without commits ends the command (exit 2).
 */
export async function loadJobs(jobs: RepoJobs, opts: JobsOptions, io: Io): Promise<JobsAt> {
  if (opts.rev === 'HEAD' && jobs.headTarget().length === 0) {
    throw new DataKitError('Usage', 'this repository has no commit yet: datakit-ci builds commits, so commit something first');
  }
  const commit = await jobs.resolve(opts.rev);
  const short = commit.slice(0, 7);
  let at: JobsAt;
  let file = CONFIG_FILE;
  if (opts.config !== undefined) {
    file = path.relative(opts.cwd, path.resolve(opts.cwd, opts.config)) || opts.config;
    at = await jobs.jobsWithConfig(commit, readGivenConfig(opts.cwd, opts.config));
    const own = (await jobs.configText(commit)) === undefined ? `it has no ${CONFIG_FILE} of its own` : `not those of its own ${CONFIG_FILE}`;
    io.err(`datakit-ci: building ${opts.rev} (${short}) with the jobs of ${file}, ${own}\n`);
  } else {
    at = await jobs.jobsAt(commit);
    if (at.config === 'missing') {
      throw new DataKitError('Usage', `${opts.rev} (${short}) has no ${CONFIG_FILE}; \`--config FILE\` builds it with the jobs of another file`);
    }
    await noteEditedConfig(jobs, commit, opts, io);
  }
  if (at.config !== 'missing' && !at.config.ok) {
    for (const e of at.config.errors) { io.err(`${file}:${e.line}:${e.column}: ${e.message}\n`); }
    throw new DataKitError('ConfigError', `${file} ${opts.config ? '' : `at ${short} `}has ${at.config.errors.length} error${at.config.errors.length === 1 ? '' : 's'}; nothing was run`);
  }
  const positions = at.config !== 'missing' && at.config.ok ? at.config.config.positions : {};
  for (const w of keyWarnings(at.keys)) {
    const p = positions[w.job]?.inputs[w.index];
    io.err(`${file}:${p ? `${p.line}:${p.column}:` : ''} warning: ${w.message}\n`);
  }
  return at;
}

/**
 * The text of `--config FILE`: a regular file of at most MAX_CONFIG_BYTES (a FIFO or a device given by mistake
 * is refused at once, never read); a file that cannot be read ends the command (exit 2).
 */
export function readGivenConfig(cwd: string, config: string): string {
  let text: string | undefined;
  try {
    text = readRegularTextSync(path.resolve(cwd, config), { maxBytes: MAX_CONFIG_BYTES, name: `--config ${config}` });
  } catch (e) {
    throw DataKitError.is(e) ? e : new DataKitError('Usage', `cannot read --config ${config}: ${(e as Error).message}`);
  }
  if (text === undefined) { throw new DataKitError('Usage', `cannot read --config ${config}: no such file`); }
  return text;
}

/** When the working copy's configuration differs from the one that runs, says so and how to use it. */
async function noteEditedConfig(jobs: RepoJobs, commit: string, opts: JobsOptions, io: Io): Promise<void> {
  const top = jobs.dirs.topLevel;
  if (!top || jobs.headTarget()[0]?.commit !== commit) { return; }
  const rel = path.relative(opts.cwd, path.join(top, CONFIG_FILE)) || CONFIG_FILE;
  let mine: string | undefined;
  try {
    // Read at once (a small bounded file): through the thread pool it took six round trips before the jobs.
    mine = readRegularTextSync(path.join(top, CONFIG_FILE), { maxBytes: MAX_CONFIG_BYTES, name: rel });
  } catch (e) {
    // A link to /dev/zero or a FIFO in its place is said, never read: what runs is the commit's either way.
    io.err(`datakit-ci: warning: ${printable((e as Error).message)}; the one committed at ${commit.slice(0, 7)} is what runs\n`);
    return;
  }
  if (mine === undefined || await jobs.isCommittedConfig(commit, mine)) { return; }
  io.err(`datakit-ci: note: your ${rel} differs from the one committed at ${commit.slice(0, 7)}, which is what runs; \`--worktree\` builds your working tree with yours (\`--config ${rel}\` runs yours on HEAD)\n`);
}

export function pickJobs(at: JobsAt, names: string[]): JobKey[] {
  if (names.length === 0) { return [...at.keys]; }
  const unknown = names.filter((n) => !at.keys.some((k) => k.job.name === n));
  if (unknown.length) { throw new DataKitError('Usage', `unknown job${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (jobs: ${at.keys.map((k) => k.job.name).join(', ')})`); }
  return at.keys.filter((k) => names.includes(k.job.name));
}

/** The options every command that looks at a revision takes. */
export const REV_OPTIONS = {
  rev: { type: 'string', default: 'HEAD' },
  config: { type: 'string' },
} as const;

/**
 * `--range A..B` (every commit of a range), `--yes` (build it however many commits it has) and `--wide`
 * (the matrix with every job's full name, however wide the terminal).
 */
export const RANGE_OPTIONS = {
  range: { type: 'string' },
  yes: { type: 'boolean', default: false },
  wide: { type: 'boolean', default: false },
} as const;

/** The job's status once it is no longer pending. */
export async function untilFinal(jobs: RepoJobs, key: JobKey, first: JobStatus): Promise<JobStatus> {
  let s = first;
  while (s.result.kind === 'pending') {
    await s.result.changed;
    s = jobs.peek(key) ?? await jobs.lookup(key);
  }
  return s;
}

/**
 * The jobs of the working tree (`--worktree`), keyed as a commit of its content would be; HEAD's when it
 * does not differ from HEAD. Says which (what the command is `doing` with them), and what a commit of it
 * would leave out.
 */
export async function loadWorktreeJobs(jobs: RepoJobs, io: Io, doing: 'building' | 'explaining' | 'reading the logs of' | 'restoring the outputs of' = 'building'): Promise<JobsAt> {
  if (jobs.headTarget().length === 0) {
    throw new DataKitError('Usage', 'this repository has no commit yet: the working tree is built over HEAD, so commit something first');
  }
  if (!jobs.dirs.topLevel) { throw new DataKitError('Usage', 'this repository is bare: it has no working tree'); }
  const wt = await jobs.worktreeJobs();
  for (const n of wt.state.notes) { io.err(`datakit-ci: note: ${printable(n)}\n`); }
  const short = wt.state.head.slice(0, 7);
  if (!wt.at) {
    io.err(`datakit-ci: the working tree does not differ from HEAD (${short}): ${doing} HEAD\n`);
    return loadJobs(jobs, { rev: 'HEAD', cwd: jobs.dirs.topLevel }, io);
  }
  const n = wt.state.changes.size;
  const at = wt.at;
  if (at.config === 'missing') {
    throw new DataKitError('Usage', `the working tree has no ${CONFIG_FILE}; nothing to build`);
  }
  if (!at.config.ok) {
    for (const e of at.config.errors) { io.err(`${CONFIG_FILE}:${e.line}:${e.column}: ${e.message}\n`); }
    throw new DataKitError('ConfigError', `${CONFIG_FILE} of the working tree has ${at.config.errors.length} error${at.config.errors.length === 1 ? '' : 's'}; nothing was run`);
  }
  io.err(`datakit-ci: ${doing} the working tree: ${n} changed file${n === 1 ? '' : 's'} over HEAD (${short})${wt.state.changes.has(CONFIG_FILE) ? `, with its own ${CONFIG_FILE}` : ''}\n`);
  const positions = at.config.config.positions;
  for (const w of keyWarnings(at.keys)) {
    const p = positions[w.job]?.inputs[w.index];
    io.err(`${CONFIG_FILE}:${p ? `${p.line}:${p.column}:` : ''} warning: ${w.message.replace(` at ${short}`, ' in the working tree')}\n`);
  }
  return at;
}
