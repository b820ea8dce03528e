// Runs a job's command in its own process group and kills the whole group, grandchildren included, on
// cancel and on timeout — and whatever the command left running once it exits, as CI runners do. What
// differs by operating system (the shell, finding and killing the processes) is the platform's (src/jobs/platform).
import type { ChildProcessByStdio } from 'node:child_process';
import fs = require('node:fs');
import type { Readable } from 'node:stream';
import { BuildFailure } from '../../engine/builder';
import { DataKitError } from '../../shared/errors';
import { childProcess } from '../../shared/lazy';
import { CANCELLED_MESSAGE } from '../../shared/resultCommit';
import { formatDuration } from '../config/duration';
import { platform, type Platform, type RunMarker } from '../platform';

export type { RunMarker } from '../platform';

export interface RunJobProcessOptions {
  command: string;
  cwd: string;
  /** The whole environment (see environment.ts); nothing of `process.env` is added. */
  env: Record<string, string>;
  /** The variable of `env` that marks this run's processes; killed with the group when the job ends. */
  run?: RunMarker;
  signal?: AbortSignal;
  timeoutMs: number;
  /** How the timeout is named in `Timed out after …` (e.g. as written in the config); default: formatted. */
  timeoutLabel?: string;
  /** Between SIGTERM and SIGKILL. Default 2000. */
  killGraceMs?: number;
  /**
   * Output, decoded as UTF-8, as it comes. stderr is merged into stdout in write order on POSIX, unless
   * `stderr` is `apart`: then each stream has its pipe and stderr's text comes with `'stderr'` (the order
   * between the two pipes is then the order in which they were read).
   */
  onOutput(text: string, stream?: 'stderr'): void;
  stderr?: 'merged' | 'apart';
  /** While held, the output is not read: the command blocks on its writes instead of output piling up. */
  flow?: { readonly held: boolean; whenFlowing(): Promise<void> };
}

const DEFAULT_KILL_GRACE_MS = 2000;
/** How long to wait for the pipes once the group is gone: a process that left the group may hold them. */
const PIPE_GRACE_MS = 500;
const MAX_TIMER_MS = 2 ** 31 - 1;

type Child = ChildProcessByStdio<null, Readable, Readable>;

/** The jobs this process runs now, for `killAllNow`. */
const running = new Set<JobRun>();
/** How many job (and setup) processes this process started. */
let started = 0;

/** How many job (and setup) processes this process started (the command line keeps compiled code only from runs that started none). */
export function jobProcessesStarted(): number {
  return started;
}

export function runJobProcess(opts: RunJobProcessOptions): Promise<void> {
  const refused = refusal(opts);
  if (refused) { return Promise.reject(refused); }
  const os = platform();
  const shell = os.shell(opts.command, opts.stderr ?? 'merged');
  started++;
  const child = childProcess().spawn(shell.file, [...shell.args], {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: shell.detached,
    windowsHide: true,
    windowsVerbatimArguments: shell.windowsVerbatimArguments,
  });
  return new JobRun(os, child, opts).result();
}

/** SIGKILLs, at once, every job this process runs (a second Ctrl-C); their builds then end as cancelled. */
export function killAllNow(): void {
  for (const r of running) { r.killNow(); }
}

/** Why the command cannot start, if it cannot: a cancel that came first, or no directory to run it in. */
function refusal(opts: RunJobProcessOptions): DataKitError | undefined {
  if (opts.signal?.aborted) { return new DataKitError('Cancelled', CANCELLED_MESSAGE); }
  let stat: fs.Stats;
  try {
    stat = fs.statSync(opts.cwd);
  } catch {
    // Whatever stat says (missing, a file on the way, no permission), the command cannot run there.
    return new BuildFailure(`Cannot run the command: the directory ${opts.cwd} does not exist`);
  }
  return stat.isDirectory() ? undefined : new BuildFailure(`Cannot run the command: ${opts.cwd} is not a directory`);
}

/** One running command: its output, its stops (cancel, timeout), the kill of its processes, its outcome. */
class JobRun {
  private stopReason: 'timeout' | 'cancel' | undefined;
  private killing: Promise<void> | undefined;
  private killFailure: unknown;
  private graceMs: number;

  constructor(private readonly os: Platform, private readonly child: Child, private readonly opts: RunJobProcessOptions) {
    this.graceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  }

  /** Settles once the command has exited and what it left running is gone. */
  result(): Promise<void> {
    const { child } = this;
    if (child.pid !== undefined) { this.os.track(child.pid); }
    running.add(this);
    const unwatch = this.watchStops();
    const closed = this.readOutput();
    return new Promise<void>((resolve, reject) => {
      child.once('error', (err) => {
        unwatch();
        running.delete(this);
        reject(new BuildFailure(`Cannot run the command: ${err.message}`));
      });
      child.once('exit', (code, signal) => {
        unwatch();
        this.finish(closed, code, signal).then(resolve, reject);
      });
    });
  }

  killNow(): void {
    this.stopReason ??= 'cancel';
    this.graceMs = 0;
    this.os.killNow(this.child.pid, this.opts.run);
    void this.killAll();
  }

  private stop(reason: 'timeout' | 'cancel'): void {
    this.stopReason ??= reason;
    if (this.child.pid !== undefined) { void this.killAll(); }
  }

  /** Kills the job's processes, once (later calls share the first); a failure is kept for the outcome. */
  private killAll(): Promise<void> {
    return (this.killing ??= this.os.killTree(this.child.pid, this.graceMs, this.opts.run)
      .catch((e: unknown) => { this.killFailure ??= e; }));
  }

  /** Stops the command on cancel and on timeout; returns what undoes it. */
  private watchStops(): () => void {
    const { signal, timeoutMs } = this.opts;
    const onAbort = (): void => this.stop('cancel');
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = Number.isFinite(timeoutMs) && timeoutMs > 0
      ? setTimeout(() => this.stop('timeout'), Math.min(timeoutMs, MAX_TIMER_MS))
      : undefined;
    return () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
  }

  /** Hands the output to `onOutput` as it comes; resolves once both pipes are closed. */
  private readOutput(): Promise<void> {
    const { child, opts } = this;
    const streams = [child.stdout, child.stderr];
    for (const s of streams) {
      const which = s === child.stderr && opts.stderr === 'apart' ? 'stderr' as const : undefined;
      s.setEncoding('utf8'); // a streaming decoder: a character split between chunks stays whole
      s.on('data', (text: string) => {
        try {
          if (which) { opts.onOutput(text, which); } else { opts.onOutput(text); }
        } catch (err) {
          console.error('DataKit CI: an output listener threw', err);
        }
        if (opts.flow?.held) {
          s.pause();
          void opts.flow.whenFlowing().then(() => s.resume());
        }
      });
    }
    return Promise.all(streams.map((s) => new Promise<void>((done) => s.once('close', done)))).then(() => undefined);
  }

  /** After the command's exit: what it left running is killed, the pipes get a moment, then the outcome. */
  private async finish(closed: Promise<void>, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    try {
      // Leftovers of a finished command are killed too, those that left its group included; after a stop,
      // this waits for the kill.
      if (this.killing || await this.leftovers()) { await this.killAll(); }
      // A grandchild that kept the pipes open is not waited for long; the timer goes once they close (a
      // pending timer would keep a command-line process alive for nothing).
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((done) => { grace = setTimeout(done, PIPE_GRACE_MS); })]);
      clearTimeout(grace);
    } finally {
      this.child.stdout.destroy();
      this.child.stderr.destroy();
      running.delete(this);
    }
    if (this.killFailure !== undefined) { throw this.killFailure; }
    const failure = this.failure(code, signal);
    if (failure) { throw failure; }
  }

  /** Whether any process of the command still runs, in its group or marked as this run's. */
  private async leftovers(): Promise<boolean> {
    const { run } = this.opts;
    return await this.os.groupAlive(this.child.pid as number)
      || (run !== undefined && (await this.os.processesWithVariable(run.name, run.value)).length > 0);
  }

  private failure(code: number | null, signal: NodeJS.Signals | null): DataKitError | undefined {
    if (this.stopReason === 'cancel') { return new DataKitError('Cancelled', CANCELLED_MESSAGE); }
    if (this.stopReason === 'timeout') { return new BuildFailure(`Timed out after ${this.opts.timeoutLabel ?? formatDuration(this.opts.timeoutMs)}`); }
    if (signal) { return new BuildFailure(`Killed by ${signal}`); }
    if (code !== 0) { return new BuildFailure(`Command exited with code ${code}`); }
    return undefined;
  }
}
