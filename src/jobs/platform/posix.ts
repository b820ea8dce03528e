// POSIX systems other than Linux (macOS, the BSDs): the process table read with `ps`. Also the base of
// linux.ts, which reads the same facts from /proc: the shell, the signals and the kill loop are the same.
//
// `ps` runs once per look (a few milliseconds, never on the thread that waits: it is asked asynchronously,
// except by killNow). Columns by name with `-o` (pid, pgid, stat, and `lstart` for the start time: to the
// second, printed in UTC and the C locale so that every process of the host writes the same text for one
// process). The environment is printed after the command by `ps -E` (macOS), `ps -e` (the BSDs) and `ps e`
// (Linux's procps), only for one's own processes; other systems' ps (AIX, illumos) print none, so that
// there a process that left its job's group is not found by its marker, only the group is killed.
import { childProcess } from '../../shared/lazy';
import { DataKitError, ioError } from '../../shared/errors';
import { cacheBaseDir } from './cacheDir';
import type { Platform, RunMarker, ShellCommand } from './types';

const ENVIRONMENT_FLAG: Partial<Record<NodeJS.Platform, string>> = { darwin: '-E', freebsd: '-e', openbsd: '-e', netbsd: '-e', linux: 'e' };
/** The same text for the same process, whoever asks. */
const PS_ENV = { ...process.env, LC_ALL: 'C', TZ: 'UTC0' };
const MAX_OUTPUT = 256 * 1024 * 1024;
/** After SIGKILL, how long to look again: SIGKILL cannot be ignored, this only bounds a process stuck in the kernel. */
const KILL_CAP_MS = 5000;

/** A row of the process table; `command` holds the environment after the arguments when it was asked for. */
export interface ProcessRow {
  readonly pid: number;
  readonly pgid: number;
  readonly state: string;
  readonly command: string;
}

export function isZombie(state: string | undefined): boolean {
  return state !== undefined && (state.startsWith('Z') || state.startsWith('X'));
}

export class PosixPlatform implements Platform {
  readonly name: Platform['name'] = 'posix';
  /** How often killTree looks again: each look here is a `ps`. */
  protected readonly pollMs: number = 100;

  shell(command: string, stderr: 'merged' | 'apart'): ShellCommand {
    // The outer shell execs the inner one with stderr on stdout's pipe, so that the log keeps the order in
    // which the command wrote; the inner shell sees the command exactly as written.
    const outer = stderr === 'apart' ? 'exec /bin/sh -c "$1"' : 'exec /bin/sh -c "$1" 2>&1';
    return { file: '/bin/sh', args: ['-c', outer, 'sh', command], detached: true, windowsVerbatimArguments: false };
  }

  track(_root: number): void {
    // A process group's id stays its own while the group has a member: nothing to note.
  }

  async isAlive(pid: number): Promise<boolean> {
    if (probe(pid) === 'none') { return false; }
    const state = (await ps(['-o', 'stat=', '-p', String(pid)], true)).trim();
    return state !== '' && !isZombie(state);
  }

  async startTime(pid: number): Promise<string | undefined> {
    const text = (await ps(['-o', 'lstart=', '-p', String(pid)], true)).trim().replace(/\s+/g, ' ');
    return text === '' ? undefined : text;
  }

  async startedAt(pid: number): Promise<number | undefined> {
    // lstart is printed in UTC (PS_ENV), as `Mon Dec  7 12:00:00 2026`.
    const text = await this.startTime(pid);
    const ms = text === undefined ? NaN : Date.parse(`${text} GMT`);
    return Number.isFinite(ms) ? ms : undefined;
  }

  /** Zombies do not count: where PID 1 does not reap orphans, a killed grandchild would look alive forever. */
  async groupAlive(pgid: number): Promise<boolean> {
    const reach = probe(-pgid);
    if (reach !== 'ours') { return reach === 'denied'; }
    return parseTable(await ps(['-A', '-o', 'pid=,pgid=,stat='], false)).some((r) => r.pgid === pgid && !isZombie(r.state));
  }

  async processesWithVariable(name: string, value: string): Promise<number[]> {
    const args = tableWithEnvironment();
    return args ? marked(parseTable(await ps(args, false)), name, value) : [];
  }

  async killTree(root: number | undefined, graceMs: number, run?: RunMarker): Promise<void> {
    const markedNow = async (): Promise<number[]> => (run ? this.processesWithVariable(run.name, run.value) : []);
    const alive = async (): Promise<boolean> => (root !== undefined && await this.groupAlive(root)) || (await markedNow()).length > 0;
    const send = async (signal: NodeJS.Signals): Promise<void> => {
      if (root !== undefined) { signalGroup(root, signal); }
      for (const pid of await markedNow()) { signalProcess(pid, signal); }
    };
    await send('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (await alive() && Date.now() < deadline) { await delay(this.pollMs); }
    if (!(await alive())) { return; }
    await send('SIGKILL');
    const cap = Date.now() + KILL_CAP_MS;
    while (await alive() && Date.now() < cap) {
      await delay(this.pollMs);
      await send('SIGKILL'); // a process forked since the last look
    }
  }

  killNow(root: number | undefined, run?: RunMarker): void {
    if (root !== undefined) { signalGroup(root, 'SIGKILL'); }
    for (const pid of run ? this.markedAtOnce(run) : []) { signalProcess(pid, 'SIGKILL'); }
  }

  cacheBase(env: NodeJS.ProcessEnv = process.env): string {
    return cacheBaseDir(env);
  }

  /**
   * processesWithVariable without waiting, for killNow. A `ps` that fails here finds nothing: killNow runs
   * when nothing else may (a second Ctrl-C), the group is killed already, and the killTree that follows it
   * reads the table again and reports its failure with the job.
   */
  protected markedAtOnce(run: RunMarker): number[] {
    const args = tableWithEnvironment();
    if (!args) { return []; }
    const r = childProcess().spawnSync('ps', args, { env: PS_ENV, encoding: 'utf8', maxBuffer: MAX_OUTPUT, stdio: ['ignore', 'pipe', 'ignore'] });
    return r.status === 0 ? marked(parseTable(r.stdout), run.name, run.value) : [];
  }
}

export const posix = new PosixPlatform();

/** The arguments of a `ps` that prints every process with its environment, or undefined where ps cannot. */
function tableWithEnvironment(): string[] | undefined {
  const flag = ENVIRONMENT_FLAG[process.platform];
  return flag ? ['-A', '-ww', '-o', 'pid=,pgid=,stat=,command=', flag] : undefined;
}

function parseTable(text: string): ProcessRow[] {
  const rows: ProcessRow[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s?(.*)$/.exec(line);
    if (m) { rows.push({ pid: Number(m[1]), pgid: Number(m[2]), state: m[3], command: m[4] }); }
  }
  return rows;
}

/**
 * The live processes of `rows` whose environment holds `name=value`, this one excepted. ps prints the
 * variables after the arguments, separated by spaces: the whole `name=value` word is looked for (an argument
 * that spells the marker itself would match too; a run's value is a random UUID).
 */
function marked(rows: readonly ProcessRow[], name: string, value: string): number[] {
  const word = new RegExp(`(?:^|\\s)${escapeRegExp(`${name}=${value}`)}(?=\\s|$)`);
  return rows.filter((r) => r.pid !== process.pid && !isZombie(r.state) && word.test(r.command)).map((r) => r.pid);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The output of `ps args`. With `emptyIfNone` (a `-p PID` question), the exit code 1 with nothing printed
 * that ps gives for a pid no process has is an answer, not a failure.
 */
function ps(args: string[], emptyIfNone: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    childProcess().execFile('ps', args, { env: PS_ENV, encoding: 'utf8', maxBuffer: MAX_OUTPUT }, (err, stdout, stderr) => {
      if (!err || (emptyIfNone && err.code === 1 && stdout.trim() === '')) {
        resolve(stdout);
      } else {
        reject(new DataKitError('IoFailed', `Could not read the process table: ps ${args.join(' ')} failed: ${stderr.trim() || err.message}`,
          { errno: err.code, command: ['ps', ...args] }, { cause: err }));
      }
    });
  });
}

/**
 * Whether `pid` (a negative one names a process group) exists: `ours` when a signal reaches it, `denied` when
 * it is another user's, `none` when there is none. A zombie exists: the callers look at its state.
 */
export function probe(pid: number): 'ours' | 'denied' | 'none' {
  try {
    process.kill(pid, 0);
    return 'ours';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? 'denied' : 'none';
  }
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  signalProcess(-pgid, signal);
}

export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    // ESRCH: already gone. EPERM: another user's (a pid reused since the look): not ours to kill.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ESRCH' && code !== 'EPERM') { throw ioError(err, `Could not send ${signal} to ${pid}`); }
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
