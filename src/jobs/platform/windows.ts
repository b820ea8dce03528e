// Windows. UNTESTED: written to Microsoft's documentation of the commands below, it has never run (the
// project's tests run on Linux; its CI workflow has a Windows runner but has not run yet).
//
// * A job's command runs in `%ComSpec% /d /s /c "<command>"` (cmd.exe without AutoRun, the command line
//   taken as written); its stderr stays on a pipe of its own.
// * Windows has no process groups: a job's processes are the tree of its first process by parent id, read
//   with PowerShell's `Get-CimInstance Win32_Process` (not wmic, which is deprecated). A process counts as a
//   child only if it was created after its parent, so that an id reused by an unrelated process adopts
//   nothing. A process keeps its parent's id after that parent exits: the first process's orphans are still
//   found through it (its creation time is noted when it starts, see `track`, so that a process that takes
//   its id later is told apart); an orphan further down the tree is not.
// * Killing is `taskkill /F /T`: a console program has no SIGTERM to catch, so there is no grace period.
// * Another process's environment cannot be read without native code: the run's marker finds nothing here.
// * A process's start time is its CreationDate, as a FILETIME (100 ns since 1601, UTC).
// Every look starts a PowerShell (a few hundred milliseconds), asynchronously; killNow runs taskkill alone.
import { childProcess } from '../../shared/lazy';
import { DataKitError } from '../../shared/errors';
import { cacheBaseDir } from './cacheDir';
import type { Platform, RunMarker, ShellCommand } from './types';

interface WinProcess {
  readonly pid: number;
  readonly ppid: number;
  /** FILETIME; 0 when Windows does not say (the idle and system processes). */
  readonly created: bigint;
}

const MAX_OUTPUT = 64 * 1024 * 1024;
const POLL_MS = 250;
const KILL_CAP_MS = 5000;
const ROW = '$c = if ($_.CreationDate) { $_.CreationDate.ToFileTimeUtc() } else { 0 }; "$($_.ProcessId) $($_.ParentProcessId) $c"';
const ALL = `Get-CimInstance Win32_Process | ForEach-Object { ${ROW} }`;
const ONE = (pid: number): string => `Get-CimInstance Win32_Process -Filter 'ProcessId=${Math.trunc(pid)}' | ForEach-Object { ${ROW} }`;

export class WindowsPlatform implements Platform {
  readonly name = 'windows' as const;
  /** The creation time of each tracked job's first process, looked up when it started. */
  private readonly roots = new Map<number, Promise<bigint | undefined>>();
  private ownStart: Promise<string | undefined> | undefined;

  shell(command: string, _stderr: 'merged' | 'apart'): ShellCommand {
    return { file: process.env.ComSpec ?? 'cmd.exe', args: ['/d', '/s', '/c', `"${command}"`], detached: false, windowsVerbatimArguments: true };
  }

  track(root: number): void {
    const created = table(ONE(root)).then((rows) => rows[0]?.created);
    created.catch(() => {
      // Only marks the failure as seen for now: the first groupAlive or killTree awaits this promise and
      // reports it with the job.
    });
    this.roots.set(root, created);
  }

  async isAlive(pid: number): Promise<boolean> {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }

  startTime(pid: number): Promise<string | undefined> {
    const look = async (): Promise<string | undefined> => {
      const row = (await table(ONE(pid)))[0];
      return row && row.created > 0n ? String(row.created) : undefined;
    };
    // This process's own start time never changes: one PowerShell for all the locks it takes.
    return pid === process.pid ? (this.ownStart ??= look()) : look();
  }

  async startedAt(pid: number): Promise<number | undefined> {
    const created = await this.startTime(pid);
    // A FILETIME counts 100 ns from 1601; 1970 is 11 644 473 600 s later.
    return created === undefined ? undefined : Number(BigInt(created) / 10_000n) - 11_644_473_600_000;
  }

  async groupAlive(root: number): Promise<boolean> {
    const alive = (await this.tree(root)).length > 0;
    if (!alive) { this.roots.delete(root); }
    return alive;
  }

  /** Always none: see the file's head. */
  async processesWithVariable(_name: string, _value: string): Promise<number[]> {
    return [];
  }

  async killTree(root: number | undefined, _graceMs: number, _run?: RunMarker): Promise<void> {
    if (root === undefined) { return; }
    const cap = Date.now() + KILL_CAP_MS;
    let left = await this.tree(root);
    while (left.length > 0 && Date.now() < cap) {
      await taskkill(left);
      await new Promise((done) => setTimeout(done, POLL_MS));
      left = await this.tree(root);
    }
    this.roots.delete(root);
  }

  killNow(root: number | undefined, _run?: RunMarker): void {
    if (root === undefined) { return; }
    // Whatever taskkill says (a tree already gone), nothing more can be done at this moment.
    childProcess().spawnSync('taskkill', ['/F', '/T', '/PID', String(root)], { stdio: 'ignore', windowsHide: true });
  }

  cacheBase(env: NodeJS.ProcessEnv = process.env): string {
    return cacheBaseDir(env, 'win32');
  }

  /** The live processes of the job started as `root` (see the file's head). */
  private async tree(root: number): Promise<number[]> {
    const rootCreated = await this.roots.get(root);
    return descendants(root, rootCreated, await table(ALL));
  }
}

export const windows = new WindowsPlatform();

/**
 * `root` while it is the process noted as the job's first (created at `rootCreated`, when known), and every
 * process below it. A process that holds the root's id but was created later is another program's: the
 * root's orphans are then those created before it.
 */
function descendants(root: number, rootCreated: bigint | undefined, all: readonly WinProcess[]): number[] {
  const holder = all.find((p) => p.pid === root);
  const isRoot = holder !== undefined && (rootCreated === undefined || holder.created === rootCreated);
  const impostor = holder !== undefined && !isRoot ? holder.created : undefined;
  const created = new Map<number, bigint | undefined>([[root, isRoot ? holder.created : rootCreated]]);
  const found = isRoot ? [root] : [];
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) {
      if (created.has(p.pid) || !created.has(p.ppid)) { continue; }
      const parentCreated = created.get(p.ppid);
      if (parentCreated !== undefined && p.created < parentCreated) { continue; }
      if (p.ppid === root && impostor !== undefined && p.created >= impostor) { continue; }
      created.set(p.pid, p.created);
      found.push(p.pid);
      grew = true;
    }
  }
  return found;
}

async function table(script: string): Promise<WinProcess[]> {
  const out = await run('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', script]);
  const rows: WinProcess[] = [];
  for (const line of out.split(/\r?\n/)) {
    const m = /^(\d+) (\d+) (\d+)$/.exec(line.trim());
    if (m) { rows.push({ pid: Number(m[1]), ppid: Number(m[2]), created: BigInt(m[3]) }); }
  }
  return rows;
}

/** taskkill of several trees at once; a pid gone since the look makes it exit non-zero, which is no failure. */
async function taskkill(pids: readonly number[]): Promise<void> {
  await run('taskkill', ['/F', '/T', ...pids.flatMap((p) => ['/PID', String(p)])], true);
}

function run(file: string, args: string[], anyExitCode = false): Promise<string> {
  return new Promise((resolve, reject) => {
    childProcess().execFile(file, args, { encoding: 'utf8', maxBuffer: MAX_OUTPUT, windowsHide: true }, (err, stdout, stderr) => {
      if (!err || (anyExitCode && typeof err.code === 'number')) {
        resolve(stdout);
      } else {
        reject(new DataKitError('IoFailed', `Could not read or end processes: ${file} failed: ${stderr.trim() || err.message}`,
          { errno: err.code, command: [file, ...args] }, { cause: err }));
      }
    });
  });
}
