// `build --range A..B` and `status --range A..B`: every commit of a range, commits × jobs as a matrix.
import type { JobKey } from '../jobs/keys/key';
import type { CommitJobs, JobStatus, RepoJobs } from '../jobs/repoJobs';
import { CONFIG_FILE } from '../jobs/config/config';
import { firstFailing, verdictOf, type FirstFailing, type Verdict } from '../jobs/firstFailing';
import { DataKitError, EXIT } from '../shared/errors';
import { readGivenConfig, untilFinal, type Io } from './context';
import { printable, seconds } from './format';
import { report, type JobReport } from './report';
import { stopOnSignals } from './signals';

/** How many commits a range may have before the command asks (or wants `--yes`). */
export const MAX_RANGE_COMMITS = 50;

export interface RangeOptions {
  range: string;
  jobs: string[];
  config?: string;
  json: boolean;
  yes: boolean;
  build: boolean;
  /** Every job's full name in the matrix, however wide it is (default: fitted to `Io.columns`). */
  wide?: boolean;
}

interface Row {
  commit: string;
  subject: string;
  /** Whose configuration declared its jobs (see RepoJobs.jobsOfCommits). */
  from: CommitJobs['from'] | 'none';
  reports: JobReport[];
  /** Each job's verdict, for where it broke. */
  verdicts: Map<string, Verdict>;
}

const MARK: Record<JobReport['state'], string> = { success: '✓', failure: '✘', pending: '⟳', 'not built': '·' };

/** The jobs that broke at `commit` (`test (before it: not known)` when the commit before it was not built). */
function brokeAt(ff: FirstFailing, commit: string): string[] {
  return [...ff.byJob].filter(([, b]) => b.kind !== 'alreadyFailing' && b.commit === commit)
    .map(([job, b]) => (b.kind === 'brokeAfterUnknown' ? `${job} (before it: not known)` : job));
}

/** How the matrix is drawn: the terminal's width, or every job's full name whatever the width (`--wide`). */
export interface MatrixLayout {
  columns: number;
  wide: boolean;
}

/** The fewest characters of a commit's subject worth showing beside full job names; below that, jobs get labels. */
const MIN_SUBJECT = 24;
const LABELS = '123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** One short label per job (`1`…`9`, `a`…`z`, `A`…`Z`; numbers of one width past 61 jobs). */
function labels(n: number): string[] {
  if (n <= LABELS.length) { return [...LABELS.slice(0, n)]; }
  const w = String(n).length;
  return Array.from({ length: n }, (_v, i) => String(i + 1).padStart(w));
}

/** `text` cut to `width` characters, with `…` where it was cut. */
function fit(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

/** `1 build:core  2 test:core …`, as many on a line as the width takes. */
function legend(names: readonly string[], marks: readonly string[], columns: number): string[] {
  const lines: string[] = [];
  let line = 'JOBS:';
  for (const [i, n] of names.entries()) {
    const item = `${marks[i]!.trim()} ${printable(n)}`;
    if (line.length > 5 && line.length + 2 + item.length > columns) { lines.push(line); line = '     '; }
    line += `  ${item}`;
  }
  lines.push(line);
  return lines;
}

/**
 * The commits × jobs matrix: one row per commit, newest first, each commit where a job broke marked. Fitted
 * to the terminal: job names head their columns when they leave room for the subject, else each job gets a
 * one-character label, named in a legend below; subjects are cut to the width. `wide` draws the full names.
 */
export function rangeMatrix(rows: readonly Row[], ff: FirstFailing, layout: MatrixLayout = { columns: 80, wide: true }): string {
  const names: string[] = [];
  for (const r of rows) { for (const j of r.reports) { if (!names.includes(j.job)) { names.push(j.job); } } }
  const full = 7 + names.reduce((w, n) => w + 2 + Math.max(1, n.length), 0) + 2;
  const short = !layout.wide && full + MIN_SUBJECT > layout.columns;
  const heads = short ? labels(names.length) : names;
  const gap = short ? ' ' : '  ';
  const widths = heads.map((n) => Math.max(1, n.length));
  // The commit, the cells and the spaces around them: what is left of a line is the subject's.
  const left = 7 + 2 + widths.reduce((w, x) => w + x, 0) + gap.length * (widths.length - 1) + 2;
  const head = ['COMMIT ', heads.map((n, i) => n.padEnd(widths[i]!)).join(gap), 'SUBJECT'].join('  ');
  const lines = rows.map((r) => {
    const cells = names.map((n, i) => {
      const j = r.reports.find((x) => x.job === n);
      return (j ? MARK[j.state] : ' ').padEnd(widths[i]!);
    });
    const broke = brokeAt(ff, r.commit);
    const note = broke.length > 0 ? `  ← first failing: ${broke.join(', ')}` : r.from === 'none' ? `  (no ${CONFIG_FILE})` : '';
    // The note says where a job broke: it is kept whole, and the subject gives way to it.
    const text = layout.wide ? printable(`${r.subject}${note}`) : `${fit(printable(r.subject), Math.max(10, layout.columns - left - note.length))}${printable(note)}`;
    return [r.commit.slice(0, 7), cells.join(gap), text].join('  ').trimEnd();
  });
  const key = short ? `${legend(names, heads, layout.columns).join('\n')}\n` : '';
  return `${head}\n${lines.join('\n')}\n${key}`;
}

function rangeSummary(rows: readonly Row[], ff: FirstFailing, base: string | undefined): string {
  const failing = rows.filter((r) => r.reports.some((j) => j.state === 'failure')).length;
  const passing = rows.filter((r) => r.reports.length > 0 && r.reports.every((j) => j.state === 'success')).length;
  const rest = rows.length - failing - passing;
  const first = ff.overall ? `; the first failing commit is ${ff.overall.slice(0, 7)} (${brokeAt(ff, ff.overall).join(', ')})` : '';
  const already = [...ff.byJob].filter(([, b]) => b.kind === 'alreadyFailing').map(([job]) => job);
  const before = already.length > 0 ? `${already.join(', ')} ${already.length === 1 ? 'was' : 'were'} already failing at ${base?.slice(0, 7) ?? 'the base'}, before the range\n` : '';
  return `${rows.length} commit${rows.length === 1 ? '' : 's'}: ${passing} passed, ${failing} failed${rest ? `, ${rest} not finished` : ''}${first}\n${before}✓ passed  ✘ failed  ⟳ building  · not built\n`;
}

/**
 * The range's base — the commit before its oldest, whose results say whether a job failing at the oldest
 * broke there — and each of its jobs' verdicts from what is saved (never built for this): undefined when the
 * oldest commit has no parent.
 */
async function baseVerdicts(jobs: RepoJobs, oldest: string, picked: (keys: readonly JobKey[]) => JobKey[]): Promise<{ commit?: string; verdicts?: Map<string, Verdict> }> {
  const commit = await jobs.resolve(`${oldest}^`).catch((e: unknown) => { if (DataKitError.is(e, 'UnknownRevision')) { return undefined; } throw e; });
  if (commit === undefined) { return {}; }
  const at = await jobs.cachedJobsAt(commit) ?? await jobs.jobsAt(commit);
  const verdicts = new Map<string, Verdict>();
  for (const k of picked(at.keys)) { verdicts.set(k.job.name, verdictOf((jobs.peek(k) ?? await jobs.query(k))?.result)); }
  return { commit, verdicts };
}

/** Why a range is refused or cut, said before anything runs. */
async function confirmSize(total: number, opts: RangeOptions, io: Io): Promise<number> {
  if (total <= MAX_RANGE_COMMITS || opts.yes) { return total; }
  if (!opts.build) {
    io.err(`datakit-ci: ${opts.range} has ${total} commits; showing the newest ${MAX_RANGE_COMMITS} (--yes shows them all)\n`);
    return MAX_RANGE_COMMITS;
  }
  const question = `${opts.range} has ${total} commits, more than ${MAX_RANGE_COMMITS}. Build them all?`;
  if (io.ask && await io.ask(question)) { return total; }
  throw new DataKitError('Usage', `${opts.range} has ${total} commits, more than ${MAX_RANGE_COMMITS}; nothing was built (--yes builds them all, or give a shorter range)`);
}

/** The `--config` file's text, when one was given. */
function givenConfig(opts: RangeOptions, cwd: string): string | undefined {
  return opts.config === undefined ? undefined : readGivenConfig(cwd, opts.config);
}

/** A commit of the range with the keys of the jobs asked for. */
interface RangeCommit {
  commit: string;
  subject: string;
  from: Row['from'];
  keys: JobKey[];
}

/**
 * The jobs of every commit of the range, checked before anything runs: a broken configuration anywhere, no
 * configuration at all, or a job asked for that no commit has, stops the command. Says which commits borrow
 * a configuration.
 */
async function rangeJobs(jobs: RepoJobs, opts: RangeOptions, commits: readonly { commit: string; subject: string }[], given: string | undefined, io: Io): Promise<RangeCommit[]> {
  const all = await jobs.jobsOfCommits(commits.map((c) => c.commit), given, { saved: !opts.build });
  for (const { at } of all) {
    if (at.config !== 'missing' && !at.config.ok) {
      for (const e of at.config.errors) { io.err(`${opts.config ?? CONFIG_FILE}:${e.line}:${e.column}: ${e.message}\n`); }
      throw new DataKitError('ConfigError', `${opts.config ?? `${CONFIG_FILE} at ${at.commit.slice(0, 7)}`} has ${at.config.errors.length} error${at.config.errors.length === 1 ? '' : 's'}; nothing was run`);
    }
  }
  const borrowed = all.filter((c) => c.from !== 'own' && c.from !== 'given');
  if (borrowed.length > 0) {
    io.err(`datakit-ci: ${borrowed.length} commit${borrowed.length === 1 ? ' has' : 's have'} no ${CONFIG_FILE} (${borrowed.map((b) => b.at.commit.slice(0, 7)).join(', ')}): using the one of ${borrowed[0]!.from.slice(0, 7)}, the newest on the range\n`);
  }
  if (given !== undefined) { io.err(`datakit-ci: every commit of ${opts.range} uses the jobs of ${opts.config}\n`); }
  if (all.every((c) => c.at.config === 'missing')) {
    throw new DataKitError('Usage', `no commit of ${opts.range} has a ${CONFIG_FILE}; \`--config FILE\` builds them with the jobs of another file`);
  }
  if (opts.jobs.length > 0) {
    const known = new Set(all.flatMap((c) => c.at.keys.map((k) => k.job.name)));
    const unknown = opts.jobs.filter((j) => !known.has(j));
    if (unknown.length > 0) { throw new DataKitError('Usage', `unknown job${unknown.length > 1 ? 's' : ''} on ${opts.range}: ${unknown.join(', ')} (jobs: ${[...known].join(', ')})`); }
  }
  const picked = (keys: readonly JobKey[]): JobKey[] => keys.filter((k) => opts.jobs.length === 0 || opts.jobs.includes(k.job.name));
  return all.map((c, i) => ({ commit: commits[i]!.commit, subject: commits[i]!.subject, from: c.at.config === 'missing' ? 'none' as const : c.from, keys: picked(c.at.keys) }));
}

/**
 * Builds every key of the range at once, newest commit first (the pool runs them in declaration order,
 * within its slots; commits whose inputs are identical for a job share one key, hence one build), and says
 * each distinct key built once, as it finishes: `✔ code @ 1a2b3c4 built in 1.2 s (3 of 7)`.
 */
async function buildRange(jobs: RepoJobs, rows: readonly RangeCommit[], opts: RangeOptions, io: Io): Promise<Map<JobKey, JobStatus | undefined>> {
  const asked = rows.flatMap((r) => r.keys);
  const first = await Promise.all(asked.map((k) => jobs.lookup(k)));
  const keys = new Map<string, JobKey[]>();
  for (const k of asked) { keys.set(k.digest, [...keys.get(k.digest) ?? [], k]); }
  const toBuild = new Set(asked.filter((_k, i) => first[i]!.result.kind === 'pending').map((k) => k.digest));
  if (!opts.json) { io.out(`${keys.size} distinct key${keys.size === 1 ? '' : 's'} for ${rows.length} commit${rows.length === 1 ? '' : 's'}: ${keys.size - toBuild.size} cached, ${toBuild.size} to build\n`); }
  let finished = 0;
  return new Map(await Promise.all(asked.map(async (k, i) => {
    const s = await untilFinal(jobs, k, first[i]!);
    const same = keys.get(k.digest)!;
    if (same[0] === k && toBuild.has(k.digest)) {
      finished++;
      if (!opts.json) {
        const r = await report(jobs, k, s);
        const also = same.length > 1 ? `, and for ${same.length - 1} more commit${same.length > 2 ? 's' : ''} with the same inputs` : '';
        const what = s.result.kind === 'success' ? 'built in' : s.result.kind === 'failure' && s.result.reason === 'cancelled' ? 'cancelled after' : 'failed in';
        io.out(`${r.state === 'success' ? '✔' : '✘'} ${k.job.name} @ ${k.commit.slice(0, 7)} ${what} ${seconds(r.durationMs)}${also} (${finished} of ${toBuild.size})\n`);
      }
    }
    return [k, s] as const;
  })));
}

/** Each commit's reports: its jobs' statuses, or `Building in another process` for one another process holds. */
async function rangeRows(jobs: RepoJobs, rows: readonly RangeCommit[], statuses: ReadonlyMap<JobKey, JobStatus | undefined>): Promise<Row[]> {
  const out: Row[] = [];
  for (const r of rows) {
    const reports: JobReport[] = [];
    for (const k of r.keys) {
      const s = statuses.get(k);
      const holder = s ? undefined : await jobs.buildingElsewhere(k);
      reports.push(holder
        ? { ...(await report(jobs, k, undefined)), state: 'pending', message: `Building in another process (pid ${holder})` }
        : await report(jobs, k, s));
    }
    out.push({ commit: r.commit, subject: r.subject, from: r.from, reports, verdicts: new Map(r.keys.map((k) => [k.job.name, verdictOf(statuses.get(k)?.result)])) });
  }
  return out;
}

export async function runRange(jobs: RepoJobs, opts: RangeOptions, io: Io, cwd: string): Promise<number> {
  // The newest MAX_RANGE_COMMITS and the count in one reading; the rest only if asked for.
  const first = await jobs.rangeCommits(opts.range, MAX_RANGE_COMMITS);
  const { total } = first;
  if (total === 0) { throw new DataKitError('NothingToDo', `${opts.range} has no commits: nothing to ${opts.build ? 'build' : 'show'}`); }
  const n = await confirmSize(total, opts, io);
  const { commits } = n > first.commits.length ? await jobs.rangeCommits(opts.range, n) : first;
  const asked = await rangeJobs(jobs, opts, commits, givenConfig(opts, cwd), io);
  let statuses: Map<JobKey, JobStatus | undefined>;
  const stop = opts.build ? stopOnSignals(io, () => { for (const r of asked) { for (const k of r.keys) { jobs.cancel(k); } } }) : undefined;
  try {
    if (opts.build) {
      statuses = await buildRange(jobs, asked, opts, io);
    } else {
      statuses = new Map();
      for (const r of asked) { for (const k of r.keys) { statuses.set(k, jobs.peek(k) ?? await jobs.query(k)); } }
    }
  } finally {
    stop?.dispose();
  }
  const rows = await rangeRows(jobs, asked, statuses);
  const picked = (keys: readonly JobKey[]): JobKey[] => keys.filter((k) => opts.jobs.length === 0 || opts.jobs.includes(k.job.name));
  const base = rows.length > 0 ? await baseVerdicts(jobs, rows[rows.length - 1]!.commit, picked) : {};
  const ff = firstFailing(rows, base.verdicts);
  if (opts.json) {
    io.out(JSON.stringify({
      range: opts.range, total, firstFailing: ff.overall ?? null,
      // Where each job broke (the commit; before it, `unknown` when the commit before was never built), and
      // the jobs that were failing already at the base, the commit before the range's oldest.
      firstFailingByJob: Object.fromEntries([...ff.byJob].filter(([, b]) => b.kind !== 'alreadyFailing')
        .map(([job, b]) => [job, { commit: (b as { commit: string }).commit, before: b.kind === 'broke' ? 'passed' : 'unknown' }])),
      alreadyFailing: [...ff.byJob].filter(([, b]) => b.kind === 'alreadyFailing').map(([job]) => job),
      base: base.commit ?? null,
      commits: rows.map((r) => ({ commit: r.commit, subject: r.subject, config: r.from === 'own' || r.from === 'none' || r.from === 'given' ? r.from : `from ${r.from}`, jobs: r.reports })),
    }, null, 2) + '\n');
  } else {
    io.out(`${opts.build ? '\n' : ''}${rangeMatrix(rows, ff, { columns: io.columns ?? 80, wide: opts.wide ?? false })}${rangeSummary(rows, ff, base.commit)}`);
  }
  if (stop?.exitCode !== undefined) { return stop.exitCode; }
  return rows.some((r) => r.reports.some((j) => j.state === 'failure')) ? EXIT.failed : EXIT.ok;
}
