// What Linux's /proc says about processes: whether one runs, when it started (so that a reused pid is not
// taken for the process that held a lock), which belong to a process group, and which carry a marker in
// their environment (so that a job's descendants that left its process group are still found).
import fs = require('node:fs');

interface Stat {
  readonly state: string;
  readonly pgrp: number;
  /** Clock ticks after boot (field 22): with the pid, names one process for the life of the kernel. */
  readonly startTime: string;
}

/** State, process group and start time from /proc/<pid>/stat; the command name in parentheses may hold anything. */
function readStat(pid: number): Stat | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], pgrp: Number(fields[2]), startTime: fields[19] };
  } catch {
    return undefined;
  }
}

const HAS_PROC = process.platform === 'linux' && fs.existsSync('/proc/self/stat');

function isZombie(state: string | undefined): boolean {
  return state === 'Z' || state === 'X';
}

/** Whether a process runs (a zombie, exited but not yet reaped, does not). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') { return false; }
  }
  return !HAS_PROC || !isZombie(readStat(pid)?.state);
}

/** When the process started, in clock ticks after boot; undefined where /proc cannot tell (or it is gone). */
export function processStartTime(pid: number): string | undefined {
  return HAS_PROC ? readStat(pid)?.startTime : undefined;
}

/** Every live pid (Linux); undefined elsewhere. */
function livePids(): number[] | undefined {
  if (!HAS_PROC) { return undefined; }
  try {
    return fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number);
  } catch {
    return undefined;
  }
}

/**
 * Whether any member of the group still runs. Zombies do not count: where PID 1 does not reap orphans
 * (some containers), a killed grandchild would otherwise look alive forever.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const pids = livePids();
  if (!pids) { return true; }
  return pids.some((pid) => {
    const stat = readStat(pid);
    return stat !== undefined && stat.pgrp === pgid && !isZombie(stat.state);
  });
}

/**
 * The live processes whose environment holds `name=value` (Linux; none elsewhere), this process excepted.
 * A process that left its job's process group (`setsid`, a double fork, `nohup`) keeps the environment it
 * was started with, as Jenkins' process tree killer relies on.
 */
export function processesWithVariable(name: string, value: string): number[] {
  const pids = livePids();
  if (!pids) { return []; }
  const needle = Buffer.from(`${name}=${value}\0`);
  const found: number[] = [];
  for (const pid of pids) {
    if (pid === process.pid) { continue; }
    let environ: Buffer;
    try {
      environ = fs.readFileSync(`/proc/${pid}/environ`);
    } catch {
      continue; // gone, or another user's
    }
    // The first variable has no NUL before it.
    const at = environ.indexOf(needle);
    if (at === 0 || (at > 0 && environ[at - 1] === 0)) {
      if (!isZombie(readStat(pid)?.state)) { found.push(pid); }
    }
  }
  return found;
}
