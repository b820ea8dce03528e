// The platforms that run here, each through the same scenarios: Linux's /proc and the `ps` of other POSIX
// systems (which runs on Linux too). A job's processes that escape its process group — a grandchild that
// runs setsid, a double fork, nohup — are found by the run's marker and killed; a lock's holder is alive,
// or not, and keeps its start time.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { platform, type Platform } from '../../src/jobs/platform';
import { linux } from '../../src/jobs/platform/linux';
import { posix } from '../../src/jobs/platform/posix';
import { windows } from '../../src/jobs/platform/windows';

const HAS_PROC = fs.existsSync('/proc/self/stat');
const MARKER = 'DATAKIT_CI_RUN';
/** How long a state that must come (a killed process gone) may take on a loaded machine; far less than the escapes' `sleep 600`, which must not end by themselves. */
const PATIENCE_MS = 30_000;

let dir: string;
before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'datakit-platform-')); });
after(() => { fs.rmSync(dir, { recursive: true, force: true }); });

/** Every process a test started, with its start time: killed at the test's end, unless its pid went to another. */
const started: [number, string | undefined][] = [];
function track(...pids: number[]): void {
  for (const pid of pids) { started.push([pid, startOf(pid)]); }
}
afterEach(() => {
  for (const [pid, start] of started.splice(0)) {
    if (start !== undefined && startOf(pid) === start) { process.kill(pid, 'SIGKILL'); }
  }
});

/** `setsid <command>`: the program where there is one (Linux), else Node's detached spawn, which calls setsid(2). */
const SETSID = (process.env.PATH ?? '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, 'setsid')))
  ? 'setsid'
  : `"${process.execPath}" -e "require('child_process').spawn(process.argv[1], process.argv.slice(2), { detached: true, stdio: 'ignore' }).unref()"`;

/** Escapes from the job's process group and from its tree, each writing its pid into a file of `sub`. */
function escapes(sub: string): string {
  return [
    `cd '${sub}'`,
    'sleep 600 > /dev/null 2>&1 & echo $! > group.pid',
    '(sh -c "sleep 600 & echo \\$! > forked.pid" > /dev/null 2>&1 &)',
    'nohup sh -c "echo \\$\\$ > nohup.pid; exec sleep 600" > /dev/null 2>&1 &',
    `${SETSID} sh -c "echo \\$\\$ > setsid.pid; exec sleep 600" < /dev/null > /dev/null 2>&1 &`,
    'while [ ! -s group.pid ] || [ ! -s forked.pid ] || [ ! -s nohup.pid ] || [ ! -s setsid.pid ]; do sleep 0.05; done',
  ].join('\n');
}

interface Job {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly marker: string;
  /** The escapes' pids by name: group, forked, nohup, setsid. */
  readonly pids: Record<'group' | 'forked' | 'nohup' | 'setsid', number>;
}

/**
 * Starts a job as runJobProcess does (the platform's shell, its own process group, the marker in its
 * environment), which starts the escapes, says `ready` and then runs `then`; resolves once it said ready.
 */
async function startJob(p: Platform, then = 'exec sleep 600', before = ''): Promise<Job> {
  const sub = fs.mkdtempSync(path.join(dir, 'job-'));
  const marker = randomUUID();
  const shell = p.shell(`${before}\n${escapes(sub)}\necho ready\n${then}`, 'merged');
  const child = spawn(shell.file, [...shell.args], { cwd: sub, env: { ...process.env, [MARKER]: marker }, stdio: ['ignore', 'pipe', 'inherit'], detached: shell.detached });
  track(child.pid!);
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (t: string) => { out += t; if (out.includes('ready\n')) { resolve(); } });
    child.once('exit', (code) => reject(new assert.AssertionError({ message: `the job ended before it was ready (${code}): ${out}` })));
  });
  const read = (name: string): number => Number(fs.readFileSync(path.join(sub, `${name}.pid`), 'utf8').trim());
  const pids = { group: read('group'), forked: read('forked'), nohup: read('nohup'), setsid: read('setsid') };
  track(...Object.values(pids));
  return { child, pid: child.pid!, marker, pids };
}

/** The process's state letter and start time, read without the platforms under test: /proc, else ps. */
function look(pid: number): { state: string; start: string } | undefined {
  if (HAS_PROC) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ESRCH') { return undefined; }
      throw e;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], start: fields[19] };
  }
  const row = spawnSync('ps', ['-o', 'stat=,lstart=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim();
  return row ? { state: row.slice(0, 1), start: row.replace(/^\S+\s+/, '') } : undefined;
}

function stateOf(pid: number): string | undefined {
  return look(pid)?.state;
}

function startOf(pid: number): string | undefined {
  return look(pid)?.start;
}

/** Whether the process no longer runs: no such pid, or a zombie (where PID 1 does not reap orphans). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  return stateOf(pid) === 'Z';
}

/** Waits until `done()` holds (a state that must come), failing with `what` after PATIENCE_MS. */
async function until(done: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS;
  while (!(await done())) {
    assert.ok(Date.now() < deadline, what);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) { resolve(); } else { child.once('exit', () => resolve()); }
  });
}

const implementations: [string, Platform, string | false][] = [
  ['linux (/proc)', linux, !HAS_PROC && 'no /proc here'],
  ['posix (ps)', posix, process.platform === 'win32' && 'POSIX only'],
];

for (const [name, p, skip] of implementations) {
  describe(`the ${name} platform`, { skip }, () => {
    it('finds a run\'s processes by its marker, those that left the group with setsid, a double fork or nohup included, and no other', async () => {
      const job = await startJob(p);
      const other = spawn('sleep', ['600'], { stdio: 'ignore' });
      track(other.pid!);
      const found = await p.processesWithVariable(MARKER, job.marker);
      for (const [escape, pid] of Object.entries(job.pids)) { assert.ok(found.includes(pid), `${escape} (${pid}) in ${found.join(' ')}`); }
      assert.ok(found.includes(job.pid), 'the job itself');
      assert.ok(!found.includes(other.pid!), 'a process without the marker');
      assert.ok(!found.includes(process.pid), 'this process');
      assert.deepEqual(await p.processesWithVariable(MARKER, randomUUID()), [], 'another run\'s marker');
    });

    it('tells the job\'s process group alive while a member runs, and not once only what left it (setsid) remains', async () => {
      const job = await startJob(p);
      assert.equal(await p.groupAlive(job.pid), true);
      process.kill(-job.pid, 'SIGKILL');
      await exited(job.child);
      await until(() => [job.pids.group, job.pids.forked, job.pids.nohup].every(gone), 'the group\'s members end');
      assert.equal(await p.groupAlive(job.pid), false);
      assert.equal(await p.isAlive(job.pids.setsid), true, 'the process that left the group still runs');
    });

    it('killTree ends the group and every marked process that left it (setsid, double fork, nohup), and resolves once none runs', async () => {
      const job = await startJob(p);
      await p.killTree(job.pid, 2000, { name: MARKER, value: job.marker });
      for (const [escape, pid] of [['job', job.pid], ...Object.entries(job.pids)] as const) { assert.ok(gone(pid), `${escape} (${pid}) still runs`); }
      assert.equal(await p.groupAlive(job.pid), false);
      assert.deepEqual(await p.processesWithVariable(MARKER, job.marker), []);
    });

    it('killTree ends what the job left running once it exited, found by the marker alone', async () => {
      const job = await startJob(p, 'exit 0');
      await exited(job.child);
      await p.killTree(undefined, 2000, { name: MARKER, value: job.marker });
      for (const [escape, pid] of Object.entries(job.pids)) { assert.ok(gone(pid), `${escape} (${pid}) still runs`); }
    });

    it('killTree sends SIGKILL after the grace period to processes that ignore SIGTERM', async () => {
      // An ignored signal stays ignored across fork and exec, so every escape ignores SIGTERM too.
      const job = await startJob(p, 'exec sleep 600', "trap '' TERM");
      await p.killTree(job.pid, 200, { name: MARKER, value: job.marker });
      for (const [escape, pid] of [['job', job.pid], ...Object.entries(job.pids)] as const) { assert.ok(gone(pid), `${escape} (${pid}) still runs`); }
    });

    it('killNow SIGKILLs the group and the marked processes that left it before it returns', async () => {
      // They ignore SIGTERM and nothing else signals them: their end is killNow's SIGKILL.
      const job = await startJob(p, 'exec sleep 600', "trap '' TERM");
      p.killNow(job.pid, { name: MARKER, value: job.marker });
      await until(() => [job.pid, ...Object.values(job.pids)].every(gone), 'every process of the job ends');
    });

    it('tells this process alive, and neither one that has exited nor a zombie', async () => {
      assert.equal(await p.isAlive(process.pid), true);
      const done = spawn('true');
      await exited(done);
      assert.equal(await p.isAlive(done.pid!), false);
      // A child exits under a parent that never waits (the shell became `sleep 600`): a zombie. The child
      // exits only once the parent is `sleep` (told by the file `go`): a shell still running may reap it.
      const sub = fs.mkdtempSync(path.join(dir, 'zombie-'));
      const parent = spawn('/bin/sh', ['-c', 'sh -c "while [ ! -e go ]; do sleep 0.05; done" & echo $! > zombie.pid; exec sleep 600'], { cwd: sub, stdio: 'ignore' });
      track(parent.pid!);
      const file = path.join(sub, 'zombie.pid');
      const child = (): number => Number(fs.readFileSync(file, 'utf8'));
      const command = (pid: number): string => spawnSync('ps', ['-o', 'comm=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim();
      await until(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').trim() !== '' && command(parent.pid!) === 'sleep', 'the shell to become sleep 600');
      fs.writeFileSync(path.join(sub, 'go'), '');
      await until(() => stateOf(child()) === 'Z', 'a zombie');
      assert.equal(await p.isAlive(child()), false);
    });

    it('tells when a process started on the wall clock, to within two seconds', async () => {
      const mine = (await p.startedAt(process.pid))!;
      const expected = Date.now() - process.uptime() * 1000;
      assert.ok(Math.abs(mine - expected) <= 2000, `${new Date(mine).toISOString()} is not ${new Date(expected).toISOString()}`);
      const done = spawn('true');
      await exited(done);
      assert.equal(await p.startedAt(done.pid!), undefined);
    });

    it('gives a start time that is the same on every look, another for a process started later, and none once it has exited', async () => {
      const mine = await p.startTime(process.pid);
      assert.ok(mine, 'this process has one');
      assert.equal(await p.startTime(process.pid), mine);
      // ps tells the start to the second: a process started at least two seconds after this one.
      const wait = 2500 - process.uptime() * 1000;
      if (wait > 0) { await new Promise((r) => setTimeout(r, wait)); }
      const later = spawn('sleep', ['600'], { stdio: 'ignore' });
      track(later.pid!);
      const theirs = await p.startTime(later.pid!);
      assert.ok(theirs);
      assert.notEqual(theirs, mine);
      later.kill('SIGKILL');
      await exited(later);
      assert.equal(await p.startTime(later.pid!), undefined);
    });
  });
}

describe('the platform of this machine', () => {
  it('is Linux\'s /proc one here, where /proc is mounted', { skip: !(process.platform === 'linux' && HAS_PROC) && 'not Linux' }, () => {
    assert.equal(platform().name, 'linux');
    assert.equal(platform(), linux);
  });

  it('runs Windows\' commands with cmd.exe, the command line as written, and puts the cache in %LOCALAPPDATA%', () => {
    const shell = windows.shell('echo "a b" & exit 3', 'merged');
    assert.deepEqual([shell.file.toLowerCase().endsWith('cmd.exe'), shell.args], [true, ['/d', '/s', '/c', '"echo "a b" & exit 3"']]);
    assert.deepEqual([shell.windowsVerbatimArguments, shell.detached], [true, false]);
    assert.equal(windows.cacheBase({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }), path.join('C:\\Users\\u\\AppData\\Local', 'datakit-ci'));
  });
});
