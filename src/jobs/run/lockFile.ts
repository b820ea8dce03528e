// Cross-process locks: a file created exclusively, holding its owner's pid, so that the extension, the CLI
// and other windows agree on who builds a key or uses a build directory. A lock whose owner died is taken
// over; the takeover itself is serialised by a second exclusive file, so of two takers only one wins.
//
// A holder is alive while its heartbeat (the file's mtime, refreshed while it holds the lock) is fresh and,
// on this host, while a process with its pid and its start time runs: a pid reused by an unrelated process,
// a holder on another host (or in a restarted container) that stopped beating, or one that hangs, cannot
// keep the lock forever. Whether a pid runs and when it started are the platform's (src/jobs/platform):
// /proc on Linux, ps on other POSIX systems (to the second), the process's creation time on Windows.
import { randomUUID } from 'node:crypto';
import fsSync = require('node:fs');
import { promises as fs } from 'node:fs';
import os = require('node:os');
import path = require('node:path');
import { platform } from '../platform';

export interface LockOptions {
  /** Wait for a held lock to be free (default true); when false, a held lock gives undefined at once. */
  wait?: boolean;
  /** Give up waiting after this long and return undefined (default: no limit). */
  timeoutMs?: number;
  /** How often a held lock is looked at again while waiting. */
  pollMs?: number;
  /** A lock file that cannot be parsed is taken for a crashed writer's once it is this old. */
  staleMs?: number;
  /** Stops waiting: acquireLock then returns undefined. */
  signal?: AbortSignal;
  /** Called once, when the lock is found held by a live process and the caller waits for it. */
  onWait?: (holder: LockHolder) => void;
  /** A live holder whose heartbeat is older than this is taken for a hung or departed one (default 60 s). */
  heartbeatStaleMs?: number;
  /** How often the holder refreshes its heartbeat (default 10 s). */
  heartbeatMs?: number;
  /** Recorded in the lock for whoever takes it over (e.g. the marker of the job that runs under it). */
  data?: string;
  /** Called before a stale lock is replaced, with what its holder recorded (e.g. to kill what it left running). */
  onTakeOver?: (stale: StaleHolder) => Promise<void> | void;
}

/** What a taken-over lock said about its holder; fields are absent when the file could not be parsed. */
export interface StaleHolder {
  readonly pid?: number;
  readonly hostname?: string;
  readonly data?: string;
  /** Why it was stale, for the log. */
  readonly reason: string;
}

export interface LockHolder {
  readonly pid: number;
}

export interface LockHandle {
  readonly file: string;
  /** Removes the lock file if it is still ours; idempotent. */
  release(): Promise<void>;
}

interface LockInfo {
  pid: number;
  hostname: string;
  /** The holder's start time as its platform tells it (see Platform.startTime); absent where it cannot tell. */
  startTime?: string;
  startedAt: string;
  token: string;
  data?: string;
}

type Look =
  | { state: 'free' }
  | { state: 'live'; pid?: number }
  | { state: 'stale'; raw: string; holder: StaleHolder };

const DEFAULT_POLL_MS = 100;
const DEFAULT_STALE_MS = 5000;
const DEFAULT_HEARTBEAT_MS = 10_000;
const DEFAULT_HEARTBEAT_STALE_MS = 60_000;
/** How far a process's start time, as the platform tells it (to the second at worst), may seem to come after its own lock. */
const START_SLACK_MS = 2000;

interface Ages {
  /** An unparseable file older than this is a crashed writer's. */
  readonly staleMs: number;
  readonly heartbeatStaleMs: number;
}

function agesOf(options: LockOptions): Ages {
  return { staleMs: options.staleMs ?? DEFAULT_STALE_MS, heartbeatStaleMs: options.heartbeatStaleMs ?? DEFAULT_HEARTBEAT_STALE_MS };
}

/** Takes the lock in `file`, or returns undefined when it is held (and not waited for, or the wait ended). */
export async function acquireLock(file: string, options: LockOptions = {}): Promise<LockHandle | undefined> {
  const ages = agesOf(options);
  const deadline = Date.now() + (options.timeoutMs ?? Infinity);
  const info: LockInfo = {
    pid: process.pid, hostname: os.hostname(), startTime: await ownStartTime(),
    startedAt: new Date().toISOString(), token: randomUUID(), ...(options.data !== undefined ? { data: options.data } : {}),
  };
  const content = JSON.stringify(info);
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  await fs.mkdir(path.dirname(file), { recursive: true });
  let told = false;
  for (;;) {
    if (options.signal?.aborted) { return undefined; }
    if (await createExclusive(file, content)) { return handle(file, content, heartbeatMs); }
    const seen = await look(file, ages);
    if (seen.state === 'free') { continue; } // released between the two steps
    if (seen.state === 'stale') {
      if (await takeOver(file, content, ages, options.onTakeOver)) { return handle(file, content, heartbeatMs); }
      if (options.wait === false) { return undefined; }
    } else {
      if (options.wait === false) { return undefined; }
      if (!told && seen.pid !== undefined) {
        told = true;
        options.onWait?.({ pid: seen.pid });
      }
    }
    const left = deadline - Date.now();
    if (left <= 0) { return undefined; }
    await sleep(Math.min(options.pollMs ?? DEFAULT_POLL_MS, left), options.signal);
  }
}

/** The live process that holds the lock in `file`, if any. */
export async function readLockHolder(file: string, options: Pick<LockOptions, 'staleMs' | 'heartbeatStaleMs'> = {}): Promise<LockHolder | undefined> {
  const seen = await look(file, agesOf(options));
  return seen.state === 'live' && seen.pid !== undefined ? { pid: seen.pid } : undefined;
}

/** Our lock: its heartbeat runs until it is released (and stops once the file is no longer ours). */
function handle(file: string, content: string, heartbeatMs: number): LockHandle {
  let released = false;
  const beat = setInterval(() => {
    // Synchronous and tiny: a heartbeat must not queue behind a busy thread pool.
    try {
      if (fsSync.readFileSync(file, 'utf8') === content) {
        const now = new Date();
        fsSync.utimesSync(file, now, now);
      } else {
        clearInterval(beat);
      }
    } catch {
      clearInterval(beat);
    }
  }, heartbeatMs);
  beat.unref();
  return {
    file,
    async release() {
      if (released) { return; }
      released = true;
      clearInterval(beat);
      // Only our own lock: after a takeover (we were thought dead) the file is someone else's.
      const raw = await fs.readFile(file, 'utf8').catch(() => undefined);
      if (raw === content) { await fs.rm(file, { force: true }); }
    },
  };
}

async function createExclusive(file: string, content: string): Promise<boolean> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') { return false; }
    throw e;
  }
  try {
    await fh.writeFile(content);
    await fh.close();
    return true;
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fs.rm(file, { force: true });
    throw e;
  }
}

function parse(raw: string): LockInfo | undefined {
  try {
    const v = JSON.parse(raw) as Partial<LockInfo>;
    const ok = typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0 && typeof v.hostname === 'string'
      && (v.startTime === undefined || typeof v.startTime === 'string') && (v.data === undefined || typeof v.data === 'string');
    return ok ? v as LockInfo : undefined;
  } catch {
    return undefined;
  }
}

let ownStart: Promise<string | undefined> | undefined;

/** This process's start time, recorded in each lock it takes (it never changes: looked up once). */
function ownStartTime(): Promise<string | undefined> {
  return (ownStart ??= platform().startTime(process.pid));
}

/** Why the holder of a parsed lock is not alive, or undefined while it is. */
async function deadBecause(info: LockInfo, heartbeatAge: number, ages: Ages): Promise<string | undefined> {
  if (info.hostname === os.hostname()) {
    if (!(await platform().isAlive(info.pid))) { return `its process ${info.pid} is gone`; }
    // A process with the holder's pid that started at another time (after the lock was taken) is not the
    // holder: its pid was reused.
    const now = info.startTime === undefined ? undefined : await platform().startTime(info.pid);
    if (now !== undefined && now !== info.startTime) {
      return `pid ${info.pid} now belongs to another process`;
    }
    // A lock that recorded no start time (its writer's system could not tell it): a process that started
    // after the lock was taken cannot have taken it.
    if (info.startTime === undefined) {
      const started = await platform().startedAt(info.pid);
      const taken = Date.parse(info.startedAt);
      if (started !== undefined && Number.isFinite(taken) && started > taken + START_SLACK_MS) {
        return `pid ${info.pid} now belongs to a process that started after the lock was taken`;
      }
    }
  }
  if (heartbeatAge > ages.heartbeatStaleMs) {
    const where = info.hostname === os.hostname() ? '' : ` on ${info.hostname}`;
    return `its holder (pid ${info.pid}${where}) has not refreshed it for ${Math.round(heartbeatAge / 1000)} s`;
  }
  return undefined;
}

async function look(file: string, ages: Ages): Promise<Look> {
  let raw: string;
  let mtimeMs: number;
  try {
    const fh = await fs.open(file, 'r');
    try {
      mtimeMs = (await fh.stat()).mtimeMs;
      raw = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') { return { state: 'free' }; }
    throw e;
  }
  const info = parse(raw);
  const age = Date.now() - mtimeMs;
  // Unparseable: a writer between create and write, or one that crashed there.
  if (!info) { return age > ages.staleMs ? { state: 'stale', raw, holder: { reason: 'it cannot be read' } } : { state: 'live' }; }
  const reason = await deadBecause(info, age, ages);
  if (reason === undefined) { return { state: 'live', pid: info.pid }; }
  return { state: 'stale', raw, holder: { pid: info.pid, hostname: info.hostname, data: info.data, reason } };
}

/** Replaces a stale lock by ours, under the takeover lock, after looking at it again. */
async function takeOver(file: string, content: string, ages: Ages, onTakeOver: LockOptions['onTakeOver']): Promise<boolean> {
  const guard = `${file}.takeover`;
  if (!(await createExclusive(guard, content))) {
    // Another taker is at it; its guard is cleared only if that taker died in the middle.
    const g = await look(guard, ages);
    if (g.state === 'stale') {
      const raw = await fs.readFile(guard, 'utf8').catch(() => undefined);
      if (raw === g.raw) { await fs.rm(guard, { force: true }); }
    }
    return false;
  }
  try {
    // Nobody else removes a stale lock while we hold the guard, and a newcomer only creates a missing one.
    const now = await look(file, ages);
    if (now.state === 'live') { return false; }
    if (now.state === 'stale') {
      await onTakeOver?.(now.holder);
      await fs.rm(file, { force: true });
    }
    return await createExclusive(file, content);
  } finally {
    await fs.rm(guard, { force: true });
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
