// The datakit-ci command: the same engine as the extension, from a terminal, a git hook or a CI runner.
import { isatty } from 'node:tty';
import { parseArgs } from 'node:util';
import { VERSION } from '../engine/version';
import { RepoJobs, type CleanResult } from '../jobs/repoJobs';
import { jobProcessesStarted } from '../jobs/run/process';
import { DataKitError, ioError, outcomeOf } from '../shared/errors';
import { fetchOrSay, remoteTimeout, runBuild } from './build';
import { runExplain } from './explain';
import { waitForResults } from './wait';
import { EXIT, loadJobs, loadWorktreeJobs, pickJobs, RANGE_OPTIONS, REV_OPTIONS, type Io } from './context';
import { runRange } from './range';
import { runRestore } from './restore';
import { runClaimsGc } from './spread';
import { sgrOnly } from '../shared/ansi';
import { localTime, printable, seconds, table } from './format';
import { report, reportTable, summary, type JobReport } from './report';

const USAGE = `Usage: datakit-ci <command> [options]

Commands:
  init [--force] [--print]                      write a .datakit-ci.json of the jobs found in the repository
                                                (package.json scripts, workspaces, Makefile targets)
  status [--rev REV] [--config FILE] [--json]   every job of REV (default HEAD) and its state
  status ... --fetch [--remote R] [--timeout S] fetch results from origin (or R) first
  status --range A..B [--json] [--yes] [--wide] every commit of a range × its jobs, as a matrix fitted to
                                                the terminal (--wide: every job's full name)
  build [JOB...] [--rev REV] [--config FILE] [--json] [--verbose]
                                                build what is missing or marked for rebuild
  build [JOB...] --range A..B [--yes] [--json] [--wide]
                                                build every commit of a range (asks above 50 commits)
  build [JOB...] --worktree [--json]            build the working tree, keyed as a commit of it would be
  build ... [--fetch] [--push] [--remote R] [--timeout S]
                                                fetch results from origin (or R) first / push them after;
                                                a remote that fails or takes S seconds (120) costs the
                                                fetch only: the jobs build here
  build ... --fetch --trust any                 use fetched results no trusted builder signed (see README)
  build ... --fetch --push --runners N [--claim-expiry S]
                                                one of N runners sharing the commit's jobs: claims jobs on
                                                the remote, pushes each result at once; a claim left
                                                unrefreshed S seconds (120) is taken over
  status ... --fetch --wait [--timeout S] [--claim-expiry S]
                                                wait until every job has a result (runners of --runners),
                                                then end as build would; give up on the jobs left when
                                                nothing changes on the remote for the claim expiry (120)
  log JOB [--rev REV | --worktree] [--previous N]
                                                the saved log (or the Nth previous build's)
  log JOB --build N                             the log of the Nth build that \`history JOB\` lists
  history JOB [-n N] [--json]                   the job's last N builds (20) across every commit, numbered
  restore JOB [--rev REV | --worktree] [--yes]  write a cached success's outputs into the working tree
                                                (asks before overwriting a file; never builds)
  explain JOB [--rev REV | --worktree] [--json]
                                                why the job has its key: what changed since its previous
                                                build (files of each input, definition, tool), its inputs,
                                                the raw key; never builds
  rebuild JOB [--rev REV]                       mark a job's result for rebuild
  clean [--dry-run]                             remove what build directories hold that HEAD no longer needs
                                                (jobs it does not declare, spare directories, setups not
                                                current) and say how much disk it frees
  push [REMOTE] [--timeout S]                   send the results to REMOTE (origin) under refs/datakit-ci/
  fetch [REMOTE] [--timeout S]                  bring REMOTE's results here: a job without a result uses them
                                                (git may take S seconds, 120 by default)
  gc [--max-age DAYS] [--keep N] [--max-size MIB]
                                                keep HEAD's and the branches' results, the last N (10) builds
                                                of each and what is younger than DAYS (30); drop the rest,
                                                and clean the build directories for HEAD and the branches
  gc --remote R [--claim-expiry S] [--timeout S]
                                                remove the claims runners left on R: those whose result is
                                                there, unrefreshed S seconds (120); any unrefreshed a day
  --version, --help

--config FILE takes the jobs from FILE instead of the commit's .datakit-ci.json (any commit, even one
that has none); the keys cover the definitions used.

Exit codes: 0 all passed, 1 a job failed, 2 bad usage or configuration, 3 the result asked for was never
built (or not that far back); after a signal, 130 (SIGINT), 143 (SIGTERM), 129 (SIGHUP).
`;

/**
 * The process's own output. A reader that goes away (`datakit-ci log JOB | head`) ends the output quietly,
 * with no EPIPE stack; a reader slower than the writer is waited for (see `whenWritable`).
 */
function processIo(): Io {
  let closed = false;
  let drained: Promise<void> | undefined;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') { throw e; }
    closed = true;
    process.stdout.emit('drain'); // whoever waits for the reader stops waiting: there is none
  });
  return {
    out: (t) => {
      if (closed || process.stdout.write(t) || drained) { return; }
      drained = new Promise<void>((r) => process.stdout.once('drain', () => { drained = undefined; r(); }));
    },
    err: (t) => { process.stderr.write(t); },
    isTTY: Boolean(process.stdout.isTTY),
    columns: outputColumns(),
    errIsTTY: Boolean(process.stderr.isTTY),
    whenWritable: () => drained,
    // Whether stdin is a terminal, asked of its descriptor: process.stdin would open a stream (and load
    // Node's stream modules) in every command, where only a question reads it.
    ...(isatty(0) && process.stderr.isTTY ? { ask: askOnTerminal } : {}),
  };
}

/** The terminal's width; else `COLUMNS` (as shells set it); else 80. */
function outputColumns(): number {
  if (process.stdout.isTTY && process.stdout.columns > 0) { return process.stdout.columns; }
  const env = Number(process.env.COLUMNS);
  return Number.isInteger(env) && env > 0 ? env : 80;
}

/** A question on stderr, answered on stdin: yes only for `y` or `yes`. */
async function askOnTerminal(question: string): Promise<boolean> {
  const readline = await import('node:readline/promises');
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

type Command = (jobs: RepoJobs, args: string[], io: Io, cwd: string) => Promise<number>;

/** `main` for HEAD on a branch, else the revision as given; a branch's name may hold a bidirectional override or a C1 control, shown. */
function revLabel(jobs: RepoJobs, rev: string): string {
  return printable(rev === 'HEAD' ? (jobs.headTarget()[0]?.name ?? rev) : rev);
}

const status: Command = async (jobs, args, io, cwd) => {
  const { values } = parseArgs({ args, options: { ...REV_OPTIONS, ...RANGE_OPTIONS, json: { type: 'boolean', default: false },
    fetch: { type: 'boolean', default: false }, remote: { type: 'string' }, timeout: { type: 'string' }, wait: { type: 'boolean', default: false }, 'claim-expiry': { type: 'string' } }, allowPositionals: false });
  if ((values.remote !== undefined || values.timeout !== undefined || values.wait) && !values.fetch) { throw new DataKitError('Usage', '--remote, --timeout and --wait say where, how long and until when --fetch goes: give it'); }
  if (values['claim-expiry'] !== undefined && !values.wait) { throw new DataKitError('Usage', '--claim-expiry says how long --wait waits for a runner that shows no sign of work: give --wait'); }
  if (values.wait) {
    if (values.range !== undefined) { throw new DataKitError('Usage', '--wait waits for one commit\'s results: it takes no --range'); }
    const at = await loadJobs(jobs, { rev: values.rev, config: values.config, cwd }, io);
    await fetchOrSay(jobs, values.remote ?? 'origin', undefined, io, 'waiting for them');
    return waitForResults(jobs, at, values, io, cwd);
  }
  if (values.fetch) { await fetchOrSay(jobs, values.remote ?? 'origin', values.timeout === undefined ? undefined : remoteTimeout(values.timeout), io, 'the jobs show what this clone has'); }
  if (values.range !== undefined) {
    if (values.rev !== 'HEAD') { throw new DataKitError('Usage', '--range shows every commit of the range: it takes no --rev'); }
    return runRange(jobs, { range: values.range, jobs: [], config: values.config, json: values.json, yes: values.yes, wide: values.wide, build: false }, io, cwd);
  }
  const at = await loadJobs(jobs, { rev: values.rev, config: values.config, cwd }, io);
  const reports: JobReport[] = [];
  for (const key of at.keys) {
    const s = await jobs.query(key);
    const holder = s ? undefined : await jobs.buildingElsewhere(key);
    reports.push(holder
      ? { ...(await report(jobs, key, undefined)), state: 'pending', message: `Building in another process (pid ${holder})` }
      : await report(jobs, key, s));
  }
  if (values.json) {
    io.out(JSON.stringify({ rev: values.rev, commit: at.commit, jobs: reports }, null, 2) + '\n');
  } else {
    io.out(`${revLabel(jobs, values.rev)} @ ${at.commit.slice(0, 7)}\n${reportTable(reports)}${summary(reports)}`);
  }
  return reports.some((r) => r.state === 'failure') ? EXIT.failed : EXIT.ok;
};

/**
 * `log JOB [--rev REV | --worktree] [--previous N]`, or `log JOB --build N`: the Nth build that `history JOB`
 * lists (1 the newest), whatever it was built from — a commit, the working tree, another machine.
 */
const log: Command = async (jobs, args, io, cwd) => {
  const { values, positionals } = parseArgs({ args, options: { ...REV_OPTIONS, worktree: { type: 'boolean', default: false },
    previous: { type: 'string' }, build: { type: 'string' } }, allowPositionals: true });
  if (positionals.length !== 1) { throw new DataKitError('Usage', 'log needs exactly one JOB'); }
  if (values.build !== undefined) {
    if (values.previous !== undefined || values.worktree || values.rev !== 'HEAD' || values.config !== undefined) {
      throw new DataKitError('Usage', '--build N names one build of `history JOB`: it takes no --rev, --worktree, --config or --previous');
    }
    io.out(sgrOnly(await jobs.readLog(await historyBuild(jobs, positionals[0]!, values.build))));
    return EXIT.ok;
  }
  if (values.worktree && (values.rev !== 'HEAD' || values.config !== undefined)) { throw new DataKitError('Usage', '--worktree reads the working tree\'s jobs: it takes no --rev or --config'); }
  const n = Number(values.previous ?? '0');
  if (!Number.isInteger(n) || n < 0) { throw new DataKitError('Usage', '--previous takes a whole number'); }
  const at = values.worktree ? await loadWorktreeJobs(jobs, io, 'reading the logs of') : await loadJobs(jobs, { rev: values.rev, config: values.config, cwd }, io);
  const [key] = pickJobs(at, positionals);
  const builds = (await jobs.history(key)).filter((h) => h.result !== 'rebuild');
  const what = values.worktree ? 'the working tree' : at.commit.slice(0, 7);
  if (builds.length === 0) {
    throw new DataKitError('NotBuilt', `${key.job.name} has not been built for ${what} (\`history ${key.job.name}\` lists every saved build; \`log ${key.job.name} --build N\` reads one)`);
  }
  if (n >= builds.length) {
    throw new DataKitError('NotBuilt', `${key.job.name} has ${builds.length} saved build${builds.length === 1 ? '' : 's'}; --previous ${n} is too far back`);
  }
  // A log may come from a fetched result, written by whoever made it: its colours are kept, nothing that would
  // act on the terminal (a link, a title, the cursor) is. A pipe gets the same text, colours too, as always.
  io.out(sgrOnly(await jobs.readLog(builds[n]!)));
  return EXIT.ok;
};

/** The Nth (1: the newest) build of `history JOB`. */
async function historyBuild(jobs: RepoJobs, job: string, nth: string): Promise<{ commit: string }> {
  const n = Number(nth);
  if (!Number.isInteger(n) || n < 1) { throw new DataKitError('Usage', '--build takes the number of a build in `history JOB` (1 is the newest)'); }
  const builds = await jobs.jobHistory(job, n);
  const b = builds[n - 1];
  if (!b) {
    throw new DataKitError('NotBuilt', builds.length === 0 ? `${job} has no saved build` : `${job} has ${builds.length} saved build${builds.length === 1 ? '' : 's'}; --build ${n} is too far back`);
  }
  return b;
}

/** The last builds of a job across every commit: `history JOB [-n N] [--json]`. */
const history: Command = async (jobs, args, io) => {
  const { values, positionals } = parseArgs({ args, options: { n: { type: 'string', short: 'n', default: '20' }, json: { type: 'boolean', default: false } }, allowPositionals: true });
  if (positionals.length !== 1) { throw new DataKitError('Usage', 'history needs exactly one JOB'); }
  const n = Number(values.n);
  if (!Number.isInteger(n) || n < 1) { throw new DataKitError('Usage', '-n takes a whole number above 0'); }
  const job = positionals[0]!;
  const builds = await jobs.jobHistory(job, n);
  if (values.json) {
    io.out(JSON.stringify({ job, builds: builds.map((b) => ({ ...b, started: new Date(b.started).toISOString(), finished: new Date(b.finished).toISOString() })) }, null, 2) + '\n');
    return EXIT.ok;
  }
  if (builds.length === 0) { throw new DataKitError('NotBuilt', `${job} has no saved build`); }
  const mark = { success: '✔', failure: '✘', cancelled: '⊘' } as const;
  io.out(table([
    ['#', '', 'FINISHED', 'COMMIT', 'DURATION', 'QUEUED', 'BUILT BY', 'SUBJECT / FAILURE'],
    ...builds.map((b, i) => [
      String(i + 1), mark[b.result], localTime(new Date(b.finished).toISOString()), b.source?.slice(0, 7) ?? '-', seconds(b.runMs ?? b.finished - b.started),
      // Who built it and why it failed are a result's own words (a fetched one's, whoever made it): shown, never acted on.
      b.queuedMs !== undefined ? seconds(b.queuedMs) : '-',
      printable(`${b.builtBy ?? '-'}${b.fetchedFrom ? ` (fetched from ${b.fetchedFrom}, ${b.verified === 'unverified' ? 'unverified' : `verified: ${b.verified}`})` : ''}`),
      printable([b.worktree ? `(working tree) ${b.sourceSubject ?? ''}`.trim() : b.sourceSubject, b.failure].filter(Boolean).join(' — ')),
    ]),
  ]));
  return EXIT.ok;
};

const rebuild: Command = async (jobs, args, io, cwd) => {
  const { values, positionals } = parseArgs({ args, options: REV_OPTIONS, allowPositionals: true });
  if (positionals.length !== 1) { throw new DataKitError('Usage', 'rebuild needs exactly one JOB'); }
  const at = await loadJobs(jobs, { rev: values.rev, config: values.config, cwd }, io);
  const [key] = pickJobs(at, positionals);
  const outcome = await jobs.markForRebuild(key);
  const what: Record<typeof outcome, string> = {
    marked: `marked ${key.job.name} for rebuild; \`datakit-ci build\` will build it again`,
    pending: `${key.job.name} is being built now; the request was ignored`,
    forgotten: `forgot the unsaved result of ${key.job.name}`,
    'not-built': `${key.job.name} has never been built for ${at.commit.slice(0, 7)}; nothing to rebuild`,
  };
  io.out(what[outcome] + '\n');
  return EXIT.ok;
};

const clean: Command = async (jobs, args, io) => {
  const { values } = parseArgs({ args, options: { 'dry-run': { type: 'boolean', default: false } }, allowPositionals: false });
  const head = jobs.headTarget()[0];
  const r = await jobs.clean(head ? [head.commit] : [], { dryRun: values['dry-run'] });
  const verb = values['dry-run'] ? 'Would remove' : 'Removed';
  io.out(r.removed.length === 0 ? `Nothing to remove in ${jobs.buildRoot}\n`
    : `${verb} ${r.removed.length} folder${r.removed.length === 1 ? '' : 's'} from ${jobs.buildRoot}, ${values['dry-run'] ? 'which would free' : 'freeing'} ${freedText(r)}:\n${r.removed.map((d) => `  ${d}\n`).join('')}`);
  if (r.busy.length > 0) { io.out(`Left ${r.busy.length} in use by a running build: ${r.busy.join(', ')}\n`); }
  for (const m of r.tookOver) { io.err(`datakit-ci: ${m}\n`); }
  return EXIT.ok;
};

/** `12.3 MiB (4567 files and folders)`: what removing build directories gives back to the disk. */
function freedText(r: CleanResult): string {
  return `${(r.bytes / 1024 / 1024).toFixed(1)} MiB (${r.entries} files and folders)`;
}

/** `push [REMOTE]`: every result to the repository's remote, under refs/datakit-ci/. */
const push: Command = async (jobs, args, io) => {
  const { values, positionals } = parseArgs({ args, options: { timeout: { type: 'string', default: '120' } }, allowPositionals: true });
  if (positionals.length > 1) { throw new DataKitError('Usage', 'push takes at most one REMOTE'); }
  const remote = positionals[0] ?? 'origin';
  const r = await jobs.push(remote, { timeoutMs: remoteTimeout(values.timeout) });
  io.out(`pushed to ${remote}: ${r.sent} result${r.sent === 1 ? '' : 's'} sent, ${r.upToDate} already there${r.alreadyShared ? `, ${r.alreadyShared} left as ${remote} has them from another machine` : ''}\n`);
  return EXIT.ok;
};

/** `fetch [REMOTE]`: the remote's results, used where there is no result of our own. */
const fetch: Command = async (jobs, args, io) => {
  const { values, positionals } = parseArgs({ args, options: { timeout: { type: 'string', default: '120' } }, allowPositionals: true });
  if (positionals.length > 1) { throw new DataKitError('Usage', 'fetch takes at most one REMOTE'); }
  const remote = positionals[0] ?? 'origin';
  const r = await jobs.fetch(remote, { timeoutMs: remoteTimeout(values.timeout) });
  io.out(`fetched from ${remote}: ${r.results} result${r.results === 1 ? '' : 's'} (${r.changed} new or moved)\n`);
  return EXIT.ok;
};

/** `gc [--max-age DAYS] [--keep N] [--max-size MIB]`: retention and a bounded results repository. */
const gc: Command = async (jobs, args, io) => {
  const { values, positionals } = parseArgs({ args, options: { 'max-age': { type: 'string' }, keep: { type: 'string' }, 'max-size': { type: 'string' },
    remote: { type: 'string' }, 'claim-expiry': { type: 'string' }, timeout: { type: 'string' } }, allowPositionals: true });
  if (positionals.length > 0) { throw new DataKitError('Usage', 'gc takes no JOB: it looks at every result'); }
  if (values.remote !== undefined) {
    if (values['max-age'] !== undefined || values.keep !== undefined || values['max-size'] !== undefined) { throw new DataKitError('Usage', 'gc --remote removes claims on the remote: it takes no --max-age, --keep or --max-size (a gc without --remote does)'); }
    return runClaimsGc(jobs, values.remote, values['claim-expiry'], values.timeout === undefined ? undefined : remoteTimeout(values.timeout), io);
  }
  if (values['claim-expiry'] !== undefined || values.timeout !== undefined) { throw new DataKitError('Usage', '--claim-expiry and --timeout are for the claims of gc --remote R: give it'); }
  const num = (name: string, v: string | undefined, min: number): number | undefined => {
    if (v === undefined) { return undefined; }
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) { throw new DataKitError('Usage', `--${name} takes a number of at least ${min}`); }
    return n;
  };
  const maxAgeDays = num('max-age', values['max-age'] ?? '30', 0)!;
  const keepBuilds = Math.floor(num('keep', values.keep ?? '10', 1)!);
  const maxMiB = num('max-size', values['max-size'], 1);
  const r = await jobs.gc({ maxAgeMs: maxAgeDays * 86_400_000, keepBuilds, ...(maxMiB !== undefined ? { maxBytes: maxMiB * 1024 * 1024 } : {}) });
  const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;
  io.out(`${r.entries} results: ${r.removed} removed, ${r.trimmed} trimmed to their last ${keepBuilds} builds (${r.commitsDropped} older builds dropped)${r.busy ? `, ${r.busy} left whole while being written` : ''}\n`);
  io.out(`results repository: ${mib(r.bytesBefore)} → ${mib(r.bytesAfter)}\n`);
  const dirs = r.buildDirs;
  io.out(dirs.removed.length === 0 ? `build directories: nothing to remove${dirs.busy.length ? ` (${dirs.busy.length} in use)` : ''}\n`
    : `build directories: removed ${dirs.removed.length} folder${dirs.removed.length === 1 ? '' : 's'}, freeing ${freedText(dirs)}${dirs.busy.length ? `; left ${dirs.busy.length} in use by a running build` : ''}\n${dirs.removed.map((d) => `  ${d}\n`).join('')}`);
  for (const m of dirs.tookOver) { io.err(`datakit-ci: ${m}\n`); }
  if (r.overCap) { io.err(`datakit-ci: warning: still over ${maxMiB} MiB: what is left that gc could not remove: ${r.left ?? 'unknown'}\n`); }
  return EXIT.ok;
};

/** Each command, and whether it only reads (never creating the results repository). */
const COMMANDS: Record<string, { run: Command; readOnly: boolean }> = {
  status: { run: status, readOnly: true },
  log: { run: log, readOnly: true },
  history: { run: history, readOnly: true },
  explain: { run: runExplain, readOnly: true },
  // Reads a result and writes into the working tree only.
  restore: { run: runRestore, readOnly: true },
  build: { run: runBuild, readOnly: false },
  rebuild: { run: rebuild, readOnly: false },
  clean: { run: clean, readOnly: false },
  push: { run: push, readOnly: false },
  fetch: { run: fetch, readOnly: false },
  gc: { run: gc, readOnly: false },
};

/**
 * Whether the code this run compiled is worth keeping for the next runs (see loader.ts): not when it ran a job.
 * A build that ran jobs compiled what running them takes; kept, that made every later cached build deserialise
 * it for nothing (a cache of 618 KB against 370 KB, ~6 ms of a cached build of 50 jobs), where compiling it again
 * costs a build that runs jobs little beside the jobs.
 */
export function compiledCodeWorthKeeping(): boolean {
  return jobProcessesStarted() === 0;
}

export async function main(argv: string[], io: Io = processIo(), cwd = process.cwd()): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === '--version' || cmd === 'version') { io.out(`${VERSION}\n`); return EXIT.ok; }
  if (cmd === undefined || cmd === '--help' || cmd === 'help' || cmd === '-h') { io.out(USAGE); return EXIT.ok; }
  const command = COMMANDS[cmd];
  if (!command && cmd !== 'init') { io.err(`datakit-ci: unknown command '${cmd}'\n${USAGE}`); return EXIT.usage; }
  let jobs: RepoJobs | undefined;
  try {
    // What the engine repaired or set aside (a damaged result, a stale lock) is said, never silent.
    // A warning may name what a remote sent (a result's ref, its words): each line shown, never acted on.
    const logger = { info: (): void => {}, error: (m: string): void => io.err(`datakit-ci: warning: ${m.split('\n').map(printable).join('\n')}\n`) };
    // init reads the working tree's files only: it needs neither the results nor a commit.
    // Loaded for `init` only: the suggestion code is no part of every other command's start.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (!command) { return await (require('./init') as typeof import('./init')).runInit(rest, io, cwd); }
    // `status --fetch` writes what it fetches into the results repository.
    const readOnly = command.readOnly && !(cmd === 'status' && rest.includes('--fetch'));
    jobs = await RepoJobs.open({ dir: cwd, cacheDir: process.env.DATAKIT_CI_CACHE_DIR, logger, readOnly });
    return await command.run(jobs, rest, io, cwd);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      io.err(`datakit-ci: ${(e as Error).message}\n`);
      return EXIT.usage;
    }
    if (DataKitError.is(e, 'NotARepository')) {
      io.err(`datakit-ci: ${cwd} is not inside a git repository; datakit-ci builds the commits of a repository, so run it in one\n`);
      return EXIT.usage;
    }
    // Ours, or the disk's (a system error is the machine's, never a usage error): the table says how it ends.
    const outcome = outcomeOf(e);
    if (outcome === undefined) { throw e; }
    // A message may quote what a remote or a fetched result said: each line shown, never acted on.
    io.err(`datakit-ci: ${(DataKitError.is(e) ? e.message : ioError(e).message).split('\n').map(printable).join('\n')}\n`);
    return outcome.exit;
  } finally {
    jobs?.dispose();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
    // No input may show a user a stack trace: this is a bug of ours, said as such (DATAKIT_CI_DEBUG=1 shows where).
    const where = process.env.DATAKIT_CI_DEBUG ? `\n${e?.stack ?? ''}` : '';
    process.stderr.write(`datakit-ci: internal error: ${e instanceof Error ? e.message : String(e)} (please report it; DATAKIT_CI_DEBUG=1 shows where)${where}\n`);
    process.exitCode = EXIT.usage;
  });
}
