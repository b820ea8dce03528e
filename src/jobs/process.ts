// Runs a job's command in its own process group and kills the whole group, grandchildren included, on
// cancel and on timeout — and whatever the command left running once it exits, as CI runners do.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { BuildFailure } from '../engine/builder';
import { formatDuration } from './duration';

export interface RunJobProcessOptions {
  command: string;
  cwd: string;
  /** Added to `process.env`. */
  env: Record<string, string>;
  signal?: AbortSignal;
  timeoutMs: number;
  /** How the timeout is named in `Timed out after …` (e.g. as written in the config); default: formatted. */
  timeoutLabel?: string;
  /** Between SIGTERM and SIGKILL. Default 2000. */
  killGraceMs?: number;
  /** Output, decoded as UTF-8, as it comes; stderr is merged into stdout in write order on POSIX. */
  onOutput(text: string): void;
}

const IS_WINDOWS = process.platform === 'win32';
const POLL_MS = 25;
/** How long to wait for the pipes once the group is gone: a process that left the group may hold them. */
const PIPE_GRACE_MS = 500;
const MAX_TIMER_MS = 2 ** 31 - 1;

export function runJobProcess(opts: RunJobProcessOptions): Promise<void> {
  if (opts.signal?.aborted) {
    return Promise.reject(new BuildFailure('Cancelled'));
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
      : ['/bin/sh', ['-c', 'exec /bin/sh -c "$1" 2>&1', 'sh', opts.command]];
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: !IS_WINDOWS,
      windowsHide: true,
      windowsVerbatimArguments: IS_WINDOWS,
    });
    let stopReason: 'timeout' | 'cancel' | undefined;
    let killing: Promise<void> | undefined;
    const killGroup = (): Promise<void> => (killing ??= killTree(child.pid as number, opts.killGraceMs ?? 2000));
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
      s.setEncoding('utf8'); // a streaming decoder: a character split between chunks stays whole
      s.on('data', (text: string) => {
        try {
          opts.onOutput(text);
        } catch (err) {
          console.error('DataKit CI: an output listener threw', err);
        }
      });
    }
    const cleanup = (): void => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.once('error', (err) => {
      cleanup();
      reject(new BuildFailure(`Cannot run the command: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      cleanup();
      void (async () => {
        if (!IS_WINDOWS) {
          // Leftovers of a finished command are killed too; after a stop, this waits for the kill.
          if (killing || groupAlive(child.pid as number)) {
            await killGroup();
          }
        }
        await Promise.race([closed, delay(PIPE_GRACE_MS)]);
        for (const s of streams) {
          s.destroy();
        }
        if (stopReason === 'cancel') {
          reject(new BuildFailure('Cancelled'));
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

/** Whether a process runs (a zombie, exited but not yet reaped, does not). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/**
 * Kills a process group (POSIX; `pgid` is its leader's pid) or a process tree (Windows): SIGTERM, then
 * SIGKILL after `graceMs` if any member remains; resolves once none runs.
 */
export async function killTree(pgid: number, graceMs = 2000): Promise<void> {
  if (IS_WINDOWS) {
    await new Promise<void>((done) => {
      spawn('taskkill', ['/pid', String(pgid), '/T', '/F'], { stdio: 'ignore', windowsHide: true })
        .once('exit', () => done()).once('error', () => done());
    });
    return;
  }
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (groupAlive(pgid) && Date.now() < deadline) {
    await delay(POLL_MS);
  }
  if (groupAlive(pgid)) {
    signalGroup(pgid, 'SIGKILL');
    // SIGKILL cannot be ignored; the cap only guards against a process stuck in the kernel.
    const cap = Date.now() + 5000;
    while (groupAlive(pgid) && Date.now() < cap) {
      await delay(POLL_MS);
    }
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * Whether any member of the group still runs. Zombies do not count: where PID 1 does not reap orphans
 * (some containers), a killed grandchild would otherwise look alive forever.
 */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') {
    return true;
  }
  try {
    for (const entry of fs.readdirSync('/proc')) {
      if (/^\d+$/.test(entry)) {
        const stat = readStat(Number(entry));
        if (stat && stat.pgrp === pgid && stat.state !== 'Z' && stat.state !== 'X') {
          return true;
        }
      }
    }
    return false;
  } catch {
    return true;
  }
}

function isZombie(pid: number): boolean {
  const state = process.platform === 'linux' ? readStat(pid)?.state : undefined;
  return state === 'Z' || state === 'X';
}

/** State and process group from /proc/<pid>/stat; the command name in parentheses may hold anything. */
function readStat(pid: number): { state: string; pgrp: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], pgrp: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
