// Runs a job's command in its own process group and kills the whole group, grandchildren included, on
// cancel and on timeout — and whatever the command left running once it exits, as CI runners do.
import { childProcess } from '../../shared/lazy';
import fs = require('node:fs');
import { BuildFailure } from '../../engine/builder';
import { DataKitError } from '../../shared/errors';
import { CANCELLED_MESSAGE } from '../../shared/resultCommit';
import { formatDuration } from '../config/duration';
import { groupAlive, processesWithVariable } from './procfs';

export { isProcessAlive } from './procfs';

/** A variable set in a job's environment, unique to one run: its descendants are found by it. */
export interface RunMarker {
  readonly name: string;
  readonly value: string;
}

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

const IS_WINDOWS = process.platform === 'win32';
const POLL_MS = 25;
/** How long to wait for the pipes once the group is gone: a process that left the group may hold them. */
const PIPE_GRACE_MS = 500;
const MAX_TIMER_MS = 2 ** 31 - 1;

interface RunningJob { killNow(): void }
/** The jobs this process runs now, for `killAllNow`. */
const running = new Set<RunningJob>();

export function runJobProcess(opts: RunJobProcessOptions): Promise<void> {
  if (opts.signal?.aborted) {
    return Promise.reject(new DataKitError('Cancelled', CANCELLED_MESSAGE));
  }
  try {
    if (!fs.statSync(opts.cwd).isDirectory()) {
      return Promise.reject(new BuildFailure(`Cannot run the command: ${opts.cwd} is not a directory`));
    }
  } catch {
    return Promise.reject(new BuildFailure(`Cannot run the command: the directory ${opts.cwd} does not exist`));
  }
  return new Promise<void>((resolve, reject) => {
    const [file, args] = IS_WINDOWS
      ? [process.env.ComSpec ?? 'cmd.exe', ['/d', '/s', '/c', `"${opts.command}"`]]
      // The outer shell execs the inner one with stderr on stdout's pipe, so that the log keeps the order
      // in which the command wrote; the inner shell sees the command exactly as written.
      : ['/bin/sh', ['-c', opts.stderr === 'apart' ? 'exec /bin/sh -c "$1"' : 'exec /bin/sh -c "$1" 2>&1', 'sh', opts.command]];
    const child = childProcess().spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: !IS_WINDOWS,
      windowsHide: true,
      windowsVerbatimArguments: IS_WINDOWS,
    });
    let stopReason: 'timeout' | 'cancel' | undefined;
    let killing: Promise<void> | undefined;
    let graceMs = opts.killGraceMs ?? 2000;
    const killGroup = (): Promise<void> => (killing ??= killTree(child.pid, graceMs, opts.run));
    const entry: RunningJob = {
      killNow: () => {
        stopReason ??= 'cancel';
        graceMs = 0;
        if (!IS_WINDOWS && child.pid !== undefined) { signalGroup(child.pid, 'SIGKILL'); }
        for (const pid of opts.run ? processesWithVariable(opts.run.name, opts.run.value) : []) { signalProcess(pid, 'SIGKILL'); }
        void killGroup();
      },
    };
    running.add(entry);
    const stop = (reason: 'timeout' | 'cancel'): void => {
      stopReason ??= reason;
      if (child.pid !== undefined) {
        void killGroup();
      }
    };
    const onAbort = (): void => stop('cancel');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = Number.isFinite(opts.timeoutMs) && opts.timeoutMs > 0
      ? setTimeout(() => stop('timeout'), Math.min(opts.timeoutMs, MAX_TIMER_MS))
      : undefined;
    const streams = [child.stdout, child.stderr];
    const closed = Promise.all(streams.map((s) => new Promise<void>((done) => s.once('close', done))));
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
    const cleanup = (): void => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    const settle = (): void => { running.delete(entry); };
    child.once('error', (err) => {
      cleanup();
      settle();
      reject(new BuildFailure(`Cannot run the command: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      cleanup();
      void (async () => {
        if (!IS_WINDOWS) {
          // Leftovers of a finished command are killed too, those that left its group included; after a
          // stop, this waits for the kill.
          if (killing || groupAlive(child.pid as number) || (opts.run && processesWithVariable(opts.run.name, opts.run.value).length > 0)) {
            await killGroup();
          }
        }
        // A grandchild that kept the pipes open is not waited for long; the timer goes once they close (a
        // pending timer would keep a command-line process alive for nothing).
        let grace: NodeJS.Timeout | undefined;
        await Promise.race([closed, new Promise<void>((done) => { grace = setTimeout(done, PIPE_GRACE_MS); })]);
        clearTimeout(grace);
        for (const s of streams) {
          s.destroy();
        }
        settle();
        if (stopReason === 'cancel') {
          reject(new DataKitError('Cancelled', CANCELLED_MESSAGE));
        } else if (stopReason === 'timeout') {
          reject(new BuildFailure(`Timed out after ${opts.timeoutLabel ?? formatDuration(opts.timeoutMs)}`));
        } else if (signal) {
          reject(new BuildFailure(`Killed by ${signal}`));
        } else if (code !== 0) {
          reject(new BuildFailure(`Command exited with code ${code}`));
        } else {
          resolve();
        }
      })();
    });
  });
}

/**
 * Kills a process group (POSIX; `pgid` is its leader's pid) and every process that carries the run's
 * marker (`runVariable`), or a process tree (Windows): SIGTERM, then SIGKILL after `graceMs` if any remains;
 * resolves once none runs.
 */
export async function killTree(pgid: number | undefined, graceMs = 2000, run?: RunMarker): Promise<void> {
  if (IS_WINDOWS) {
    if (pgid === undefined) { return; }
    await new Promise<void>((done) => {
      childProcess().spawn('taskkill', ['/pid', String(pgid), '/T', '/F'], { stdio: 'ignore', windowsHide: true })
        .once('exit', () => done()).once('error', () => done());
    });
    return;
  }
  const marked = (): number[] => (run ? processesWithVariable(run.name, run.value) : []);
  const alive = (): boolean => (pgid !== undefined && groupAlive(pgid)) || marked().length > 0;
  const signal = (sig: NodeJS.Signals): void => {
    if (pgid !== undefined) { signalGroup(pgid, sig); }
    for (const pid of marked()) { signalProcess(pid, sig); }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) {
    await delay(POLL_MS);
  }
  if (alive()) {
    signal('SIGKILL');
    // SIGKILL cannot be ignored; the cap only guards against a process stuck in the kernel.
    const cap = Date.now() + 5000;
    while (alive() && Date.now() < cap) {
      await delay(POLL_MS);
      signal('SIGKILL'); // a process forked since the last look
    }
  }
}

/** SIGKILLs, at once, every job this process runs (a second Ctrl-C); their builds then end as cancelled. */
export function killAllNow(): void {
  for (const r of running) { r.killNow(); }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
