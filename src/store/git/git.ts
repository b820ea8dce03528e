// Running the git CLI: every command we start gets the same environment and global options, so that it
// neither follows variables inherited from a hook or terminal nor takes the user's optional locks.
import { childProcess } from '../../shared/lazy';
import fs = require('node:fs');
import { DataKitError } from '../../shared/errors';

export interface GitResult {
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly code: number;
}

export interface RunGitOptions {
  cwd?: string;
  env?: Record<string, string>;
  input?: string | Buffer;
  /** Resolve with the exit code instead of throwing `GitFailed`. */
  allowFailure?: boolean;
  /** Kill git after this long (a remote that does not answer); the result then has code -1 and says so. */
  timeoutMs?: number;
}

// Inherited from a git hook or a terminal, these would point our commands at another repository or index.
const LOCATING_VARS = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR', 'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_NAMESPACE', 'GIT_PREFIX'];

/** The environment of every git command: no optional locks (never the user's index.lock), no prompt. */
export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const v of LOCATING_VARS) { delete env[v]; }
  return { ...env, GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0', ...extra };
}

/** Options before the subcommand: an fsmonitor daemon must not be started for our reads or build dirs. */
export const GIT_GLOBAL_ARGS = ['-c', 'core.fsmonitor=false'];

export function gitNotFound(): DataKitError {
  return new DataKitError('GitNotFound', 'Could not run git: install git and make sure it is on the PATH.');
}

/**
 * How git is started on POSIX: in a process group of its own (stopping it stops what it started, an ssh),
 * beside a watchdog that holds the read end of a pipe whose write end only this process has. When this
 * process ends, however it ends (an exit, a signal, kill -9, a CI runner killing its group), the pipe
 * closes and the watchdog kills git's group: no git of ours goes on writing after us. When git ends by
 * itself, the watchdog goes with it. A background command's input would be /dev/null: git gets ours by fd 4.
 */
const WATCHED_GIT = [
  'command -v "$1" >/dev/null 2>&1 || exit 127',
  'exec 4<&0 0</dev/null',
  // `command`: the program, never a shell function of that name (bash, as some systems' sh, imports exported ones).
  'command "$@" 0<&4 4<&- 3<&- &',
  'g=$!',
  'exec 4<&-',
  '( exec 0<&3 3<&- 1>/dev/null 2>&1; read -r x || :; kill -KILL 0 ) &',
  'w=$!',
  'exec 3<&-',
  'wait "$g"',
  'c=$?',
  'kill "$w" 2>/dev/null',
  'exit "$c"',
].join('\n');

/** Runs one git command; a missing git binary is `GitNotFound`, a failure `GitFailed` (unless allowed). */
export function runGit(args: string[], options: RunGitOptions = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const posix = process.platform !== 'win32';
    const gitArgs = [...GIT_GLOBAL_ARGS, ...args];
    const child = childProcess().spawn(posix ? '/bin/sh' : 'git', posix ? ['-c', WATCHED_GIT, 'sh', 'git', ...gitArgs] : gitArgs, {
      cwd: options.cwd, env: gitEnv(options.env), stdio: posix ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'], windowsHide: true, detached: posix,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => { /* git may exit before reading all its input */ });
    // The watchdog's pipe: read (nothing comes) so that its end is seen, never closed by us before the process ends.
    const lifeline = child.stdio[3] as import('node:stream').Readable | null | undefined;
    lifeline?.on('error', () => { /* the watchdog went */ }).resume();
    child.on('error', (e: NodeJS.ErrnoException) => {
      // A missing cwd is also reported as ENOENT by spawn.
      const cwdMissing = options.cwd !== undefined && !fs.existsSync(options.cwd);
      reject(e.code === 'ENOENT' && !cwdMissing ? gitNotFound() : e);
    });
    let timedOut = false;
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      try { process.kill(posix ? -child.pid! : child.pid!, 'SIGKILL'); } catch { child.kill('SIGKILL'); }
    }, options.timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      // The watchdog's words for "no git on the PATH" (it looks before it starts one).
      if (posix && code === 127 && err.length === 0) { reject(gitNotFound()); return; }
      const result = { stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') + (timedOut ? `\ngit gave no answer in ${Math.round(options.timeoutMs! / 1000)} s and was stopped` : ''), code: timedOut ? -1 : code ?? -1 };
      if (result.code !== 0 && !options.allowFailure) {
        // The subcommand: the first argument that is neither an option nor the value of a `-c`.
        const sub = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '-c') ?? '';
        reject(new DataKitError('GitFailed', `git ${sub} failed: ${result.stderr.trim() || `exit code ${result.code}`}`));
      } else {
        resolve(result);
      }
    });
    child.stdin.end(options.input ?? '');
  });
}
