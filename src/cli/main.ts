// The datakit-ci command: the same engine as the extension, from a terminal, a git hook or a CI runner.
import { parseArgs } from 'node:util';
import { DataKitError } from '../shared/errors';
import { VERSION } from '../engine/version';
import { RepoJobs } from '../jobs/repoJobs';
import { runBuild } from './build';
import { loadJobs, pickJobs, UsageError, type Io } from './context';
import { report, reportTable, type JobReport } from './report';

const USAGE = `Usage: datakit-ci <command> [options]

Commands:
  status [--rev REV] [--json]                   every job of REV (default HEAD) and its state
  build [JOB...] [--rev REV] [--json] [--verbose]
                                                build what is missing or marked for rebuild
  log JOB [--rev REV] [--previous N]            the saved log (or the Nth previous build's)
  rebuild JOB [--rev REV]                       mark a job's result for rebuild
  clean [--dry-run]                             remove build directories of jobs HEAD no longer declares
  --version, --help

Exit codes: 0 all passed, 1 a job failed, 2 usage or configuration error.
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
    whenWritable: () => drained,
  };
}

/** `main` for HEAD on a branch, else the revision as given. */
async function revLabel(jobs: RepoJobs, rev: string): Promise<string> {
  return rev === 'HEAD' ? (jobs.headTarget()[0]?.name ?? rev) : rev;
}

async function status(jobs: RepoJobs, args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { rev: { type: 'string', default: 'HEAD' }, json: { type: 'boolean', default: false } }, allowPositionals: false });
  void positionals;
  const at = await loadJobs(jobs, values.rev!, io);
  if (!at) { return 2; }
  const reports: JobReport[] = [];
  for (const key of at.keys) {
    let s = await jobs.query(key);
    if (!s) {
      const holder = await jobs.buildingElsewhere(key);
      if (holder) { reports.push({ ...(await report(jobs, key, undefined)), state: 'pending', message: `Building in another process (pid ${holder})` }); continue; }
      s = undefined;
    }
    reports.push(await report(jobs, key, s));
  }
  if (values.json) {
    io.out(JSON.stringify({ rev: values.rev, commit: at.commit, jobs: reports }, null, 2) + '\n');
  } else {
    io.out(`${await revLabel(jobs, values.rev!)} @ ${at.commit.slice(0, 7)}\n`);
    io.out(reportTable(reports));
  }
  return reports.some((r) => r.state === 'failure') ? 1 : 0;
}

async function log(jobs: RepoJobs, args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { rev: { type: 'string', default: 'HEAD' }, previous: { type: 'string', default: '0' } }, allowPositionals: true });
  if (positionals.length !== 1) { throw new UsageError('log needs exactly one JOB'); }
  const n = Number(values.previous);
  if (!Number.isInteger(n) || n < 0) { throw new UsageError('--previous takes a whole number'); }
  const at = await loadJobs(jobs, values.rev!, io);
  if (!at) { return 2; }
  const [key] = pickJobs(at, positionals);
  const builds = (await jobs.history(key)).filter((h) => h.result !== 'rebuild');
  if (builds.length === 0) {
    io.err(`datakit-ci: ${key.job.name} has not been built for ${at.commit.slice(0, 7)}\n`);
    return 1;
  }
  if (n >= builds.length) {
    io.err(`datakit-ci: ${key.job.name} has ${builds.length} saved build${builds.length === 1 ? '' : 's'}; --previous ${n} is too far back\n`);
    return 1;
  }
  io.out(await jobs.store.readLog(builds[n]));
  return 0;
}

async function rebuild(jobs: RepoJobs, args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { rev: { type: 'string', default: 'HEAD' } }, allowPositionals: true });
  if (positionals.length !== 1) { throw new UsageError('rebuild needs exactly one JOB'); }
  const at = await loadJobs(jobs, values.rev!, io);
  if (!at) { return 2; }
  const [key] = pickJobs(at, positionals);
  const outcome = await jobs.cache.markForRebuild(key);
  const what: Record<typeof outcome, string> = {
    marked: `marked ${key.job.name} for rebuild; \`datakit-ci build\` will build it again`,
    pending: `${key.job.name} is being built now; the request was ignored`,
    forgotten: `forgot the unsaved result of ${key.job.name}`,
    'not-built': `${key.job.name} has never been built for ${at.commit.slice(0, 7)}; nothing to rebuild`,
  };
  io.out(what[outcome] + '\n');
  return 0;
}

async function clean(jobs: RepoJobs, args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { 'dry-run': { type: 'boolean', default: false } }, allowPositionals: false });
  const head = jobs.headTarget()[0];
  const r = await jobs.clean(head ? [head.commit] : [], { dryRun: values['dry-run'] });
  const mb = (r.bytes / 1024 / 1024).toFixed(1);
  const verb = values['dry-run'] ? 'Would remove' : 'Removed';
  io.out(r.removed.length === 0 ? `Nothing to remove in ${jobs.buildRoot}\n`
    : `${verb} ${r.removed.length} folder${r.removed.length === 1 ? '' : 's'} (${mb} MB) from ${jobs.buildRoot}:\n${r.removed.map((d) => `  ${d}\n`).join('')}`);
  if (r.busy.length > 0) { io.out(`Left ${r.busy.length} in use by a running build: ${r.busy.join(', ')}\n`); }
  return 0;
}

export async function main(argv: string[], io: Io = processIo(), cwd = process.cwd()): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === '--version' || cmd === 'version') { io.out(`${VERSION}\n`); return 0; }
  if (cmd === undefined || cmd === '--help' || cmd === 'help' || cmd === '-h') { io.out(USAGE); return 0; }
  const commands: Record<string, (jobs: RepoJobs, args: string[], io: Io) => Promise<number>> = { status, build: runBuild, log, rebuild, clean };
  const run = commands[cmd];
  if (!run) { io.err(`datakit-ci: unknown command '${cmd}'\n${USAGE}`); return 2; }
  let jobs: RepoJobs | undefined;
  try {
    // What the engine repaired or set aside (a damaged result, a stale lock) is said, never silent.
    const logger = { info: (): void => {}, error: (m: string): void => io.err(`datakit-ci: warning: ${m}\n`) };
    jobs = await RepoJobs.open({ dir: cwd, cacheDir: process.env.DATAKIT_CI_CACHE_DIR, logger });
    return await run(jobs, rest, io);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || (e as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      io.err(`datakit-ci: ${(e as Error).message}\n`);
      return 2;
    }
    if (DataKitError.is(e)) {
      io.err(`datakit-ci: ${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    jobs?.dispose();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
    // No input may show a user a stack trace: this is a bug of ours, said as such (DATAKIT_CI_DEBUG=1 shows where).
    const where = process.env.DATAKIT_CI_DEBUG ? `\n${e?.stack ?? ''}` : '';
    process.stderr.write(`datakit-ci: internal error: ${e instanceof Error ? e.message : String(e)} (please report it; DATAKIT_CI_DEBUG=1 shows where)${where}\n`);
    process.exitCode = 2;
  });
}
