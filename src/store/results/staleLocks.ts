// A `git gc` stopped before it ended (killed, or its machine shut down) leaves git's own lock files behind,
// and every gc after it fails on them ("Unable to create '…/commit-graph.lock': File exists"): git takes
// over the gc.pid of a gc that is no longer alive, but not the locks that gc held. Before a gc, the locks a
// dead gc of this host left are removed.
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { processAlive, readGcPid } from '../git/gcGuard';

/** git rewrites packed-refs in milliseconds and waits 1 s for its lock: a lock unchanged this long is nobody's. */
const LIVE_LOCK_MS = 1000;
/** File times come from a coarse clock: a lock the gc took at once may look a little older than its gc.pid. */
const CLOCK_SLACK_MS = 1000;

/** The locks a gc takes, relative to the git directory: refs packed, then the commit-graph (split: its chain and layers). */
function gcLocks(gitdir: string): string[] {
  const layers = 'objects/info/commit-graphs';
  let split: string[] = [];
  try {
    split = fs.readdirSync(path.join(gitdir, layers)).filter((f) => f.endsWith('.lock')).sort().map((f) => `${layers}/${f}`);
  } catch {
    // no split commit-graph
  }
  return ['packed-refs.lock', 'objects/info/commit-graph.lock', ...split];
}

function statOf(file: string): fs.Stats | undefined {
  try { return fs.statSync(file); } catch { return undefined; }
}

/**
 * When gc.pid names a gc of this host that is no longer alive, removes the locks a gc takes that date from
 * its run or later (a lock older than that gc was not its), then gc.pid. `objects/pack/*.keep` files are
 * not locks (they tell git to keep a pack) and stay. Returns the dead gc's pid and the files removed
 * (relative to `gitdir`), or undefined when there was no dead gc.
 */
export async function removeDeadGcLocks(gitdir: string): Promise<{ pid: number; removed: string[] } | undefined> {
  const pidFile = path.join(gitdir, 'gc.pid');
  const dead = deadGc(pidFile);
  if (!dead) { return undefined; }
  const candidates = gcLocks(gitdir)
    .map((name) => ({ name, file: path.join(gitdir, name), st: statOf(path.join(gitdir, name)) }))
    .filter((l): l is { name: string; file: string; st: fs.Stats } => l.st !== undefined && l.st.mtimeMs >= dead.started - CLOCK_SLACK_MS);
  // A lock written just now may be a live git's (one that updates packed-refs): it is left unless it is
  // still there, unchanged, once it has been there for longer than git holds one.
  const youngest = Math.max(0, ...candidates.map((l) => l.st.mtimeMs));
  const wait = youngest + LIVE_LOCK_MS - Date.now();
  if (wait > 0) { await new Promise((r) => setTimeout(r, wait)); }
  // git's own lock on gc.pid, so that a gc starting meanwhile is not undone: if one holds it, nothing is removed.
  const pidLock = path.join(gitdir, 'gc.pid.lock');
  let fd: number;
  try {
    fd = fs.openSync(pidLock, 'wx');
  } catch {
    return undefined;
  }
  const removed: string[] = [];
  try {
    const again = deadGc(pidFile);
    if (!again || again.raw !== dead.raw || again.started !== dead.started) { return undefined; }
    for (const l of candidates) {
      const now = statOf(l.file);
      if (!now || now.ino !== l.st.ino || now.mtimeMs !== l.st.mtimeMs) { continue; } // a live git's
      try { fs.rmSync(l.file); removed.push(l.name); } catch { /* gone meanwhile */ }
    }
    fs.rmSync(pidFile, { force: true });
  } finally {
    fs.closeSync(fd);
    fs.rmSync(pidLock, { force: true });
  }
  return { pid: dead.pid, removed: ['gc.pid', ...removed] };
}

/** The gc that gc.pid names, if it is of this host and no longer alive: its pid, when it started, the file's text. */
function deadGc(pidFile: string): { pid: number; started: number; raw: string } | undefined {
  const gc = readGcPid(pidFile);
  if (!gc || !Number.isInteger(gc.pid) || gc.pid <= 0 || gc.host !== os.hostname() || processAlive(gc.pid)) { return undefined; }
  return { pid: gc.pid, started: gc.started, raw: gc.raw };
}
