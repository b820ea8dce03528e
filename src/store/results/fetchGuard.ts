// A fetch and our gc exclude each other. A fetch writes objects that no ref reaches until it ends (a pack
// in `objects/pack/tmp_pack_*`, or loose objects below git's unpack limit), and `git gc --prune=now`
// deletes what no ref reaches whatever its age: a gc beside a fetch deleted the pack it was still writing
// (the fetch then failed) or the loose objects its refs were about to name. So each fetch leaves a marker in
// `fetching/` while it runs, and gc holds `gc-running` while git prunes: a fetch that finds gc running
// takes its marker back and waits for it; a gc that finds a fetch running waits for it to end. (Each looks
// at the other's file after making its own, so at least one of two that start together sees the other.)
import { randomBytes } from 'node:crypto';
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { DataKitError } from '../../shared/errors';
import { processAlive } from '../git/gcGuard';

const FETCHING = 'fetching';
const GC_RUNNING = 'gc-running';
const POLL_MS = 50;
/** A marker whose fetch's deadline passed this long ago is no fetch's any more (its pid may be another's now). */
const DEADLINE_SLACK_MS = 10_000;
/** As git takes a gc.pid this old for a crashed gc's: a `gc-running` whose pid was reused blocks no fetch for longer. */
const GC_STALE_MS = 12 * 60 * 60 * 1000;

interface Holder { readonly pid: number; readonly host: string; readonly until: number }

function readHolder(file: string): Holder | undefined {
  let raw: string;
  try { raw = fs.readFileSync(file, 'utf8'); } catch { return undefined; }
  const [pid, host, until] = raw.trim().split(' ');
  return { pid: Number(pid), host: host ?? '', until: Number(until) };
}

/** Whether the process a marker names may still run: of this host, alive; of another, before its deadline. */
function live(h: Holder | undefined): h is Holder {
  if (!h || !Number.isInteger(h.pid) || h.pid <= 0) { return false; }
  if (!(Date.now() < h.until + DEADLINE_SLACK_MS)) { return false; }
  return h.host !== os.hostname() || h.pid === process.pid || processAlive(h.pid);
}

function writeMarker(file: string, until: number, exclusive: boolean): boolean {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${process.pid} ${os.hostname()} ${until}\n`, { flag: exclusive ? 'wx' : 'w' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') { return false; }
    throw e;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `fetch` while no gc of ours prunes `gitDir` (waiting for one that does, until `deadline`; then
 * `RemoteFailed`, saying why). `onWait` is told once when it waits.
 */
export async function whileFetching<T>(gitDir: string, deadline: number, fetch: () => Promise<T>, onWait?: (gcPid: number) => void): Promise<T> {
  const marker = path.join(gitDir, FETCHING, `${process.pid}-${randomBytes(4).toString('hex')}`);
  let told = false;
  for (;;) {
    writeMarker(marker, deadline, false);
    const gc = readHolder(path.join(gitDir, GC_RUNNING));
    if (!live(gc)) { break; }
    fs.rmSync(marker, { force: true });
    if (!told) { told = true; onWait?.(gc.pid); }
    if (Date.now() >= deadline) {
      throw new DataKitError('RemoteFailed', `Could not fetch into ${gitDir}: a gc of it (pid ${gc.pid}) was pruning it all along; fetch again once it has ended`);
    }
    await sleep(POLL_MS);
  }
  try {
    return await fetch();
  } finally {
    fs.rmSync(marker, { force: true });
  }
}

/** The fetches running into `gitDir` now; the markers of ended ones are removed. */
function runningFetches(gitDir: string): Holder[] {
  const dir = path.join(gitDir, FETCHING);
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return []; }
  const out: Holder[] = [];
  for (const n of names) {
    const h = readHolder(path.join(dir, n));
    if (live(h)) { out.push(h); } else if (h) { fs.rmSync(path.join(dir, n), { force: true }); }
  }
  return out;
}

/**
 * Runs `prune` (git gc) once no fetch runs into `gitDir`, holding `gc-running` so that none starts meanwhile.
 * A gc of ours already running there is `GitFailed`, as git's own says. `onWait` is told once when it waits.
 */
export async function whilePruning<T>(gitDir: string, prune: () => Promise<T>, onWait?: (fetchPids: number[]) => void): Promise<T> {
  const lock = path.join(gitDir, GC_RUNNING);
  while (!writeMarker(lock, Date.now() + GC_STALE_MS, true)) {
    const other = readHolder(lock);
    if (live(other)) {
      throw new DataKitError('GitFailed', `Another gc of this results repository is running (pid ${other.pid} on ${other.host}): run gc again once it has ended`);
    }
    fs.rmSync(lock, { force: true }); // a gc that was killed: taken over
  }
  try {
    let told = false;
    for (let fetches = runningFetches(gitDir); fetches.length > 0; fetches = runningFetches(gitDir)) {
      if (!told) { told = true; onWait?.(fetches.map((f) => f.pid)); }
      await sleep(POLL_MS);
    }
    return await prune();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/** A temp pack file untouched this long, with no fetch or gc running, is no live writer's. */
const TEMP_PACK_AGE_MS = 10 * 60 * 1000;
/** Whatever runs, a temp pack file untouched this long is left over. */
const TEMP_PACK_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/**
 * Removes what interrupted fetches and repacks left in `objects/pack`: temp packs and their indexes (a
 * killed fetch's `tmp_pack_*`, a killed repack's `.tmp-*`) untouched for a while when no fetch or gc runs
 * (a day old whatever runs), and the `.keep` a killed fetch left on a pack (git's `fetch-pack <pid> on
 * <host>`, of a process of this host no longer alive), which would keep that pack out of every repack.
 * Returns the files removed and their bytes.
 */
export function sweepTemporaryPacks(gitDir: string, isGcRunning: () => boolean): { files: number; bytes: number } {
  const dir = path.join(gitDir, 'objects', 'pack');
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return { files: 0, bytes: 0 }; }
  const busy = runningFetches(gitDir).length > 0 || live(readHolder(path.join(gitDir, GC_RUNNING))) || isGcRunning();
  const swept = { files: 0, bytes: 0 };
  for (const n of names) {
    const file = path.join(dir, n);
    let st: fs.Stats;
    try { st = fs.statSync(file); } catch { continue; }
    const age = Date.now() - st.mtimeMs;
    const temp = (n.startsWith('tmp_') || n.startsWith('.tmp-')) && (age > TEMP_PACK_MAX_AGE_MS || (!busy && age > TEMP_PACK_AGE_MS));
    if (!temp && !(n.endsWith('.keep') && deadFetchKeep(file))) { continue; }
    try { fs.rmSync(file); swept.files++; swept.bytes += st.size; } catch { /* gone meanwhile */ }
  }
  return swept;
}

/** Whether a `.keep` is the one a fetch of this host writes while it runs, and that fetch is no longer alive. */
function deadFetchKeep(file: string): boolean {
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch { return false; }
  const m = /^fetch-pack (\d+) on (\S+)\s*$/.exec(text);
  return m !== null && m[2] === os.hostname() && !processAlive(Number(m[1]));
}
