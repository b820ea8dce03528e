// What differs by operating system when a job runs: the shell that runs its command, how its processes are
// found and killed (those that left its process group included), whether a lock's holder still runs, and
// where the cache directory is. One implementation per file beside this one; index.ts picks the one of this
// machine. (The interface is declared here, not in index.ts, because the implementations need it and
// index.ts loads them: declared there, each would import the file that loads it.)

/** A variable set in a job's environment, unique to one run: its descendants are found by it. */
export interface RunMarker {
  readonly name: string;
  readonly value: string;
}

/** How to start a job's command: what to hand to `child_process.spawn`. */
export interface ShellCommand {
  readonly file: string;
  readonly args: readonly string[];
  /** POSIX: the command leads a process group of its own, so that the whole group can be signalled. */
  readonly detached: boolean;
  /** Windows: the arguments reach cmd.exe as written (it has quoting rules of its own). */
  readonly windowsVerbatimArguments: boolean;
}

export interface Platform {
  /** Which implementation this is, for messages and tests: `linux` (/proc), `posix` (ps), `windows`. */
  readonly name: 'linux' | 'posix' | 'windows';
  /**
   * The shell command line that runs `command`. With `stderr: 'merged'`, stderr is written into stdout's
   * pipe where the system allows it, so that the log keeps the order in which the command wrote.
   */
  shell(command: string, stderr: 'merged' | 'apart'): ShellCommand;
  /** Whether a process runs (one that exited but was not reaped yet, a zombie, does not). */
  isAlive(pid: number): Promise<boolean>;
  /**
   * When the process started, as a string that names it together with its pid (undefined if it is gone or
   * the system cannot tell): a lock records its holder's, so that a reused pid is not taken for the holder.
   */
  startTime(pid: number): Promise<string | undefined>;
  /**
   * When the process started on the wall clock, in milliseconds since 1970 (undefined if it is gone or the
   * system cannot tell), to within a second or two: compared with when a lock was taken, it tells a process
   * that took a dead holder's pid later apart from the holder where the lock recorded no start time.
   */
  startedAt(pid: number): Promise<number | undefined>;
  /**
   * Told when a job's first process has started, before any other look at it: a system without process
   * groups notes what tells its tree apart from a process that takes its id once it exits (POSIX: nothing,
   * a process group's id is not given to a new process while the group has a member).
   */
  track(root: number): void;
  /** Whether any process of the job started as `root` still runs (POSIX: its process group). */
  groupAlive(root: number): Promise<boolean>;
  /** The live processes whose environment holds `name=value`, this process excepted. */
  processesWithVariable(name: string, value: string): Promise<number[]>;
  /**
   * Kills the job started as `root` (when given) and every process that carries the run's marker: asked
   * to end first, killed after `graceMs` if any remains; resolves once none runs.
   */
  killTree(root: number | undefined, graceMs: number, run?: RunMarker): Promise<void>;
  /**
   * Kills the same at once, before returning: for the last moment of a process (a second Ctrl-C, a window
   * that closes), when nothing after it may run.
   */
  killNow(root: number | undefined, run?: RunMarker): void;
  /** The directory that holds every repository's build directories (see cacheDir.ts). */
  cacheBase(env?: NodeJS.ProcessEnv): string;
}
