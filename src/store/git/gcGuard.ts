// Saving beside a concurrent `git gc --prune=now`. Our objects are written before the ref that makes them
// reachable moves; `git prune` (also run by gc) walks the refs first and deletes what it did not reach,
// whatever its age when the expiry is "now". So an object written before a prune's walk and made reachable
// after it can be deleted after the ref points at it. git's own plumbing loses objects this way (measured:
// hash-object / mktree / commit-tree / update-ref beside a `gc --prune=now` loop left a ref on a missing
// tree). A save therefore writes again, before its ref moves and once more after any gc that was running
// then has finished, every object of its own that is gone. `git gc` holds `gc.pid` while it runs.
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');

/** git itself takes a gc.pid this old for a crashed gc's. */
const GC_PID_STALE_MS = 12 * 60 * 60 * 1000;
const POLL_MS = 20;
/** However long a gc takes, a save does not wait longer than this for it. */
const MAX_WAIT_MS = 60_000;

/** What `gc.pid` says: the gc's pid and host, when it was written (the gc's start), and its text. */
export interface GcPid {
  readonly pid: number;
  readonly host: string;
  readonly started: number;
  readonly raw: string;
}

/** The gc that `gc.pid` names, if the file is there. */
export function readGcPid(file: string): GcPid | undefined {
  let raw: string;
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
    raw = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined; // no gc has run, or it ended and removed its file
  }
  const [pid, host] = raw.trim().split(/\s+/);
  return { pid: Number(pid), host: host ?? '', started: st.mtimeMs, raw };
}

/** When the gc that holds `gc.pid` started, if one is running. */
export function runningGcSince(gitdir: string): number | undefined {
  const gc = readGcPid(path.join(gitdir, 'gc.pid'));
  if (!gc || Date.now() - gc.started > GC_PID_STALE_MS) { return undefined; }
  if (gc.host === os.hostname() && !processAlive(gc.pid)) { return undefined; }
  return gc.started;
}

/** Whether a process of this host with this pid is alive (one of another user's is). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `restore` once no gc that started before `movedAt` (ms since the epoch) is running — at once when
 * none is, as is usual. Returns what `restore` returned.
 */
export async function afterConcurrentGc(gitdir: string, movedAt: number, restore: () => number | Promise<number>): Promise<number> {
  const deadline = Date.now() + MAX_WAIT_MS;
  for (;;) {
    const since = runningGcSince(gitdir);
    // File times come from a coarse clock, a few ms behind: a gc stamped up to 50 ms after the move may
    // still have walked the refs before it.
    if (since === undefined || since > movedAt + 50 || Date.now() > deadline) { break; }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return await restore();
}
