// Cross-process locks: a file created exclusively, holding its owner's pid, so that the extension, the CLI
// and other windows agree on who builds a key or uses a build directory. A lock whose owner died is taken
// over; the takeover itself is serialised by a second exclusive file, so of two takers only one wins.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isProcessAlive } from './process';

export { isProcessAlive };

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
  startedAt: string;
  token: string;
}

type Look =
  | { state: 'free' }
  | { state: 'live'; pid?: number }
  | { state: 'stale'; raw: string };

const DEFAULT_POLL_MS = 100;
const DEFAULT_STALE_MS = 5000;

/** Takes the lock in `file`, or returns undefined when it is held (and not waited for, or the wait ended). */
export async function acquireLock(file: string, options: LockOptions = {}): Promise<LockHandle | undefined> {
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const deadline = Date.now() + (options.timeoutMs ?? Infinity);
  const info: LockInfo = { pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString(), token: randomUUID() };
  const content = JSON.stringify(info);
  await fs.mkdir(path.dirname(file), { recursive: true });
  let told = false;
  for (;;) {
    if (options.signal?.aborted) { return undefined; }
    if (await createExclusive(file, content)) { return handle(file, content); }
    const seen = await look(file, staleMs);
    if (seen.state === 'free') { continue; } // released between the two steps
    if (seen.state === 'stale') {
      if (await takeOver(file, content, staleMs)) { return handle(file, content); }
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
export async function readLockHolder(file: string): Promise<LockHolder | undefined> {
  const seen = await look(file, DEFAULT_STALE_MS);
  return seen.state === 'live' && seen.pid !== undefined ? { pid: seen.pid } : undefined;
}

/** Whether a process with this pid exists (EPERM: it exists but belongs to another user). */
function handle(file: string, content: string): LockHandle {
  let released = false;
  return {
    file,
    async release() {
      if (released) { return; }
      released = true;
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
    return typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0 && typeof v.hostname === 'string'
      ? v as LockInfo : undefined;
  } catch {
    return undefined;
  }
}

async function look(file: string, staleMs: number): Promise<Look> {
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
  // Unparseable: a writer between create and write, or one that crashed there.
  if (!info) { return Date.now() - mtimeMs > staleMs ? { state: 'stale', raw } : { state: 'live' }; }
  // Another machine's pid (a shared file system) cannot be checked from here.
  if (info.hostname !== os.hostname() || isProcessAlive(info.pid)) { return { state: 'live', pid: info.pid }; }
  return { state: 'stale', raw };
}

/** Replaces a stale lock by ours, under the takeover lock, after looking at it again. */
async function takeOver(file: string, content: string, staleMs: number): Promise<boolean> {
  const guard = `${file}.takeover`;
  if (!(await createExclusive(guard, content))) {
    // Another taker is at it; its guard is cleared only if that taker died in the middle.
    const g = await look(guard, staleMs);
    if (g.state === 'stale') {
      const raw = await fs.readFile(guard, 'utf8').catch(() => undefined);
      if (raw === g.raw) { await fs.rm(guard, { force: true }); }
    }
    return false;
  }
  try {
    // Nobody else removes a stale lock while we hold the guard, and a newcomer only creates a missing one.
    const now = await look(file, staleMs);
    if (now.state === 'live') { return false; }
    if (now.state === 'stale') { await fs.rm(file, { force: true }); }
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
