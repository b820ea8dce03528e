// Linux: the process table read from /proc, which costs a few file reads and no process. The shell, the
// signals and the kill loop are posix.ts's; only the looks differ.
import fs = require('node:fs');
import { ioError } from '../../shared/errors';
import { isZombie, PosixPlatform, probe } from './posix';
import type { RunMarker } from './types';

interface Stat {
  readonly state: string;
  readonly pgrp: number;
  /** Clock ticks after boot (field 22): with the pid, names one process for the life of the kernel. */
  readonly startTime: string;
}

/** What a read of /proc/<pid>/… fails with when the process is gone (or went while read) or is another user's. */
const UNREADABLE = new Set(['ENOENT', 'ESRCH', 'EACCES', 'EPERM']);

/** A file of /proc, or undefined when its process is gone or another user's. */
function readProc(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    if (UNREADABLE.has(String((e as NodeJS.ErrnoException).code))) { return undefined; }
    throw ioError(e, 'Reading the process table');
  }
}

/** State, process group and start time from /proc/<pid>/stat; the command name in parentheses may hold anything. */
function readStat(pid: number): Stat | undefined {
  const stat = readProc(`/proc/${pid}/stat`)?.toString('utf8');
  if (stat === undefined) { return undefined; }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0], pgrp: Number(fields[2]), startTime: fields[19] };
}

/**
 * The clock ticks of /proc/<pid>/stat per second: the kernel's USER_HZ, which its interface fixes at 100 on
 * every architecture Node runs on.
 */
const USER_HZ = 100;

let bootMs: number | undefined;

/** When the machine booted, in ms since 1970, from /proc/stat's `btime` (to the second); read once. */
function bootTime(): number | undefined {
  if (bootMs === undefined) {
    const m = /^btime (\d+)$/m.exec(readProc('/proc/stat')?.toString('utf8') ?? '');
    bootMs = m ? Number(m[1]) * 1000 : undefined;
  }
  return bootMs;
}

/** Every pid that /proc lists. */
function livePids(): number[] {
  try {
    return fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number);
  } catch (e) {
    throw ioError(e, 'Reading the process table');
  }
}

export class LinuxPlatform extends PosixPlatform {
  override readonly name = 'linux' as const;
  protected override readonly pollMs = 25;

  override async isAlive(pid: number): Promise<boolean> {
    // A process that exists but whose stat cannot be read (another user's, with /proc mounted hidepid) runs.
    return probe(pid) !== 'none' && !isZombie(readStat(pid)?.state);
  }

  override async startTime(pid: number): Promise<string | undefined> {
    return readStat(pid)?.startTime;
  }

  override async startedAt(pid: number): Promise<number | undefined> {
    const ticks = readStat(pid)?.startTime;
    const boot = bootTime();
    return ticks === undefined || boot === undefined ? undefined : boot + Number(ticks) * 1000 / USER_HZ;
  }

  /** Zombies do not count: where PID 1 does not reap orphans (some containers), a killed grandchild would look alive forever. */
  override async groupAlive(pgid: number): Promise<boolean> {
    const reach = probe(-pgid);
    if (reach !== 'ours') { return reach === 'denied'; }
    return livePids().some((pid) => {
      const stat = readStat(pid);
      return stat !== undefined && stat.pgrp === pgid && !isZombie(stat.state);
    });
  }

  /**
   * A process that left its job's process group (`setsid`, a double fork, `nohup`) keeps the environment it
   * was started with, as Jenkins' process tree killer relies on.
   */
  override async processesWithVariable(name: string, value: string): Promise<number[]> {
    return this.markedAtOnce({ name, value });
  }

  protected override markedAtOnce(run: RunMarker): number[] {
    const needle = Buffer.from(`${run.name}=${run.value}\0`);
    const found: number[] = [];
    for (const pid of livePids()) {
      if (pid === process.pid) { continue; }
      const environ = readProc(`/proc/${pid}/environ`);
      if (!environ) { continue; }
      // The first variable has no NUL before it.
      const at = environ.indexOf(needle);
      if ((at === 0 || (at > 0 && environ[at - 1] === 0)) && !isZombie(readStat(pid)?.state)) { found.push(pid); }
    }
    return found;
  }
}

export const linux = new LinuxPlatform();
