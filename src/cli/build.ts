// `datakit-ci build`: looks every job up (building what is missing), shows progress, ends with a table.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { Flow } from '../engine/flow';
import type { Disposable } from '../shared/events';
import { matchableFailure } from '../jobs/jobProblems';
import type { JobKey } from '../jobs/keys/key';
import type { MatchResult } from '../jobs/problems/matchLog';
import type { JobStatus, RepoJobs } from '../jobs/repoJobs';
import { DataKitError } from '../shared/errors';
import { printable, seconds } from './format';
import { EXIT, loadJobs, loadWorktreeJobs, pickJobs, RANGE_OPTIONS, REV_OPTIONS, untilFinal, type Io } from './context';
import { runRange } from './range';
import { report, reportLine, reportTable, summary, type JobReport } from './report';
import { stopOnSignals } from './signals';
import { runSpread, spreadFlags } from './spread';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Writes a log's chunks as they come, each line after `prefix`: linear in the output, holding no more than
 * one chunk, however long a line is (a 200 MB line once took quadratic time and 770 MB).
 */
export function prefixLines(prefix: string, io: Io, flow?: Flow): (chunk: string) => void {
  // A reader of the output slower than the job holds the job's output back (backpressure) until it drains.
  const write = (text: string): void => {
    io.out(text);
    const waiting = io.whenWritable?.();
    if (waiting && flow) {
      const hold = flow.hold();
      void waiting.then(() => hold.dispose());
    }
  };
  if (prefix === '') { return write; }
  let atLineStart = true;
  return (chunk) => {
    const parts: string[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (atLineStart) { parts.push(prefix); }
      const nl = chunk.indexOf('\n', i);
      const end = nl < 0 ? chunk.length : nl + 1;
      parts.push(chunk.slice(i, end));
      atLineStart = nl >= 0;
      i = end;
    }
    write(parts.join(''));
  };
}

export async function runBuild(jobs: RepoJobs, args: string[], io: Io, cwd: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: { ...REV_OPTIONS, ...RANGE_OPTIONS, json: { type: 'boolean', default: false }, verbose: { type: 'boolean', default: false }, worktree: { type: 'boolean', default: false },
      fetch: { type: 'boolean', default: false }, push: { type: 'boolean', default: false }, remote: { type: 'string' }, trust: { type: 'string' }, timeout: { type: 'string' },
      runners: { type: 'string' }, 'claim-expiry': { type: 'string' } },
  });
  const spread = spreadFlags(values);
  // The remote of --fetch and --push: origin unless named (a clone of someone else's project shares through
  // a remote of its own, not its upstream).
  if (values.remote !== undefined && !values.fetch && !values.push) { throw new DataKitError('Usage', '--remote names where --fetch and --push go: give one of them'); }
  if (values.timeout !== undefined && !values.fetch && !values.push) { throw new DataKitError('Usage', '--timeout is how long --fetch and --push may take: give one of them'); }
  const remote = values.remote ?? 'origin';
  if (values.trust !== undefined && values.trust !== 'any' && values.trust !== 'verified') { throw new DataKitError('Usage', '--trust takes `verified` (the default) or `any`'); }
  if (values.trust !== undefined) { jobs.acceptFetched(values.trust); }
  // Who signs and whom fetched results are trusted from is read from git's configuration (four git processes):
  // said before a fetch, a push or a range, else once something is to be built, never for a fully cached build.
  let said: Promise<void> | undefined;
  const say = (): Promise<void> => (said ??= sayTrust(jobs, values.trust === 'any', values.fetch, io));
  if (values.fetch || values.push || values.range !== undefined) { await say(); }
  const timeoutMs = values.timeout === undefined ? undefined : remoteTimeout(values.timeout);
  if (values.fetch) { await fetchOrSay(jobs, remote, timeoutMs, io); }
  const code = await buildWith(jobs, values, positionals, io, cwd, say, spread && ((all, keys) => runSpread(jobs, all, keys, spread, remote, timeoutMs, io)));
  if (values.push && code !== EXIT.usage) {
    const p = await jobs.push(remote, { timeoutMs });
    io.err(`datakit-ci: pushed to ${remote}: ${p.sent} sent, ${p.upToDate} already there${p.alreadyShared ? `, ${p.alreadyShared} left as ${remote} has them from another machine` : ''}\n`);
  }
  return code;
}

/**
 * Says, once per build, who signs the results it saves and what fetched results are trusted as: a result
 * that another machine pushed is used as it is only when no trusted builder is configured (then each is
 * shown as unverified) or `--trust any` says so.
 */
async function sayTrust(jobs: RepoJobs, any: boolean, fetching: boolean, io: Io): Promise<void> {
  const signing = await jobs.signing();
  if (signing.by) { io.err(`datakit-ci: results saved here are signed with ${signing.by}\n`); }
  if (signing.note) { io.err(`datakit-ci: note: ${signing.note}\n`); }
  if (!fetching) { return; }
  const configured = await jobs.trustedBuilders();
  if (!configured || any) {
    io.err(`datakit-ci: fetched results are used unverified (${configured ? '--trust any' : 'no trusted builders configured: see the README\'s "Sharing results"'})\n`);
  }
}

/**
 * `--fetch` of build and status: a remote that is down or does not answer in time costs the fetch, not the
 * command: it is said, and the jobs build here (or show what this clone has).
 */
export async function fetchOrSay(jobs: RepoJobs, remote: string, timeoutMs: number | undefined, io: Io, then = 'the jobs build here'): Promise<void> {
  try {
    const f = await jobs.fetch(remote, { timeoutMs });
    io.err(`datakit-ci: fetched ${f.results} result${f.results === 1 ? '' : 's'} from ${remote} (${f.changed} new or moved)\n`);
  } catch (e) {
    if (!DataKitError.is(e, 'RemoteFailed')) { throw e; }
    io.err(`datakit-ci: warning: ${e.message}; nothing was fetched, ${then}\n`);
  }
}

/** `--timeout SECONDS` of push and fetch: how long git may take to reach the remote and finish. */
export function remoteTimeout(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) { throw new DataKitError('Usage', '--timeout takes a number of seconds above 0'); }
  return n * 1000;
}

type BuildValues = { rev: string; config?: string; range?: string; yes: boolean; wide: boolean; json: boolean; verbose: boolean; worktree: boolean };

async function buildWith(jobs: RepoJobs, values: BuildValues, positionals: string[], io: Io, cwd: string, sayTrustOnce: () => Promise<void>,
  spread?: (all: readonly JobKey[], keys: readonly JobKey[]) => Promise<void>): Promise<number> {
  if (values.worktree && (values.range !== undefined || values.rev !== 'HEAD' || values.config !== undefined)) {
    throw new DataKitError('Usage', '--worktree builds the working tree with its own .datakit-ci.json: it takes no --rev, --range or --config');
  }
  if (values.range !== undefined) {
    if (values.rev !== 'HEAD' || values.verbose) { throw new DataKitError('Usage', '--range builds every commit of the range: it takes neither --rev nor --verbose'); }
    return runRange(jobs, { range: values.range, jobs: positionals, config: values.config, json: values.json, yes: values.yes, wide: values.wide, build: true }, io, cwd);
  }
  // A build of HEAD says when the working tree holds changes that it leaves out (found beside the build) — to
  // a person: on a terminal, or with --verbose. It costs a git process, which a script's cached build (whose
  // exit code and --json say what it needs) does without: a fully cached build then starts no process.
  const told = io.errIsTTY === true || values.verbose;
  const uncommitted = told && !values.worktree && values.rev === 'HEAD' && values.config === undefined ? jobs.uncommittedChanges().catch((e: Error) => { io.err(`datakit-ci: note: could not count the uncommitted changes: ${e.message}\n`); return 0; }) : undefined;
  const at = values.worktree ? await loadWorktreeJobs(jobs, io) : await loadJobs(jobs, { rev: values.rev, config: values.config, cwd }, io);
  const keys = pickJobs(at, positionals);
  // One of several runners: its share first (and the others' results fetched), then the table as always.
  if (spread) { await sayTrustOnce(); await spread(at.keys, keys); }
  const started = Date.now();
  const subs: Disposable[] = [];
  const live = io.isTTY && !values.json && !values.verbose;

  const stop = stopOnSignals(io, () => { for (const k of keys) { jobs.cancel(k); } });

  const statuses = await lookUpAll(jobs, keys, values.verbose ? { io, subs } : undefined);
  if ([...statuses.values()].some((s) => s.result.kind === 'pending')) { await sayTrustOnce(); }

  // A finished job's line says where its result came from; computed once, when it finishes.
  const done = new Map<JobKey, JobReport>();
  let frame = 0;
  let drawn = 0;
  const draw = (): void => {
    const lines = keys.map((k) => {
      const finished = done.get(k);
      if (finished) { return reportLine(finished); }
      const s = jobs.peek(k) ?? statuses.get(k)!;
      const reason = s.result.kind === 'pending' ? s.result.reason : '';
      return `${SPINNER[frame % SPINNER.length]} ${k.job.name.padEnd(16)} ${seconds(Date.now() - started).padStart(8)}  ${reason}`;
    });
    io.out((drawn ? `\x1b[${drawn}A` : '') + lines.map((l) => `\x1b[2K${l}\n`).join(''));
    drawn = lines.length;
    frame++;
  };
  const timer = live ? setInterval(draw, 100) : undefined;
  if (live) { draw(); }

  const lines = linesTogether(io);
  try {
    const finals = new Map<JobKey, JobStatus | undefined>();
    const reports = await Promise.all(keys.map(async (k) => {
      const final = await untilFinal(jobs, k, statuses.get(k)!);
      finals.set(k, final);
      const r = await report(jobs, k, final);
      done.set(k, r);
      if (!live && !values.json) { lines.add(reportLine(r)); }
      return r;
    }));
    lines.flush();
    if (timer) { clearInterval(timer); draw(); }
    const problems = await failedProblems(jobs, keys, finals, io);
    if (values.json) {
      io.out(JSON.stringify({ rev: values.worktree ? 'working tree' : values.rev, commit: at.commit, jobs: reports, problems: Object.fromEntries(problems) }, null, 2) + '\n');
    } else {
      io.out(`\n${reportTable(reports)}${summary(reports)}${problemLines(problems, jobs.dirs.topLevel, cwd)}`);
    }
    const left = await uncommitted;
    if (left) { io.err(`datakit-ci: note: built HEAD (${at.commit.slice(0, 7)}); ${left} uncommitted change${left === 1 ? ' is' : 's are'} not part of it (\`datakit-ci build --worktree\` builds them)\n`); }
    return stop.exitCode ?? (reports.every((r) => r.state === 'success') ? EXIT.ok : EXIT.failed);
  } finally {
    lines.flush();
    if (timer) { clearInterval(timer); }
    for (const s of subs) { s.dispose(); }
    stop.dispose();
  }
}

/** Each job's status as the build starts; with `verbose`, the live log of each job that runs, followed. */
async function lookUpAll(jobs: RepoJobs, keys: readonly JobKey[], verbose: { io: Io; subs: Disposable[] } | undefined): Promise<Map<JobKey, JobStatus>> {
  const statuses = new Map<JobKey, JobStatus>();
  for (const key of keys) {
    const s = await jobs.lookup(key);
    statuses.set(key, s);
    if (verbose && s.output.kind === 'live') {
      verbose.subs.push(s.output.log.subscribe(0, prefixLines(keys.length > 1 ? `[${key.job.name}] ` : '', verbose.io, s.output.log.flow)));
    }
  }
  return statuses;
}

/**
 * The lines of the jobs that finish in the same turn of the event loop, written together: one write for all of
 * a cached build's jobs instead of one each (a write to a pipe or a terminal is a system call).
 */
export function linesTogether(io: Io): { add(line: string): void; flush(): void } {
  let pending: string[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  const flush = (): void => {
    if (scheduled) { clearImmediate(scheduled); scheduled = undefined; }
    if (pending.length === 0) { return; }
    const text = pending.join('');
    pending = [];
    io.out(text);
  };
  return {
    add: (line) => {
      pending.push(`${line}\n`);
      scheduled ??= setImmediate(flush);
    },
    flush,
  };
}

/** How many problems of each failed job the command line prints (all are in `--json`, up to 1,000). */
const PRINTED_PROBLEMS = 10;

/** The problems each failed job's log names (its problem matcher, or the default one), by job name. */
export async function failedProblems(jobs: RepoJobs, keys: readonly JobKey[], finals: ReadonlyMap<JobKey, JobStatus | undefined>, io: Io): Promise<Map<string, MatchResult>> {
  const out = new Map<string, MatchResult>();
  for (const k of keys) {
    const result = matchableFailure(finals.get(k));
    if (result === undefined) { continue; }
    try {
      out.set(k.job.name, await jobs.problems(k, result));
    } catch (e) {
      io.err(`datakit-ci: could not read the problems of ${k.job.name}: ${(e as Error).message}\n`);
    }
  }
  return out;
}

/** `lib/a.js:14:11: error: message [job]`, paths relative to where the command runs (terminals link them). */
export function problemLines(problems: ReadonlyMap<string, MatchResult>, top: string | undefined, cwd: string): string {
  const lines: string[] = [];
  for (const [job, { findings, total }] of problems) {
    for (const f of findings.slice(0, PRINTED_PROBLEMS)) {
      const file = top ? path.relative(cwd, path.join(top, f.file)) : f.file;
      // Read from the log, which a fetched result's maker wrote: shown, never acted on.
      lines.push(printable(`${file}:${f.line}:${f.column}: ${f.severity}: ${f.message.split('\n')[0]} [${job}]`));
    }
    if (total > Math.min(findings.length, PRINTED_PROBLEMS)) { lines.push(`… and ${total - Math.min(findings.length, PRINTED_PROBLEMS)} more problems of ${job} (datakit-ci log ${job})`); }
  }
  return lines.length === 0 ? '' : `\nProblems in the logs of the failed jobs:\n${lines.join('\n')}\n`;
}
