// The command line and the processes of its jobs: signals, a killed CLI, and a git hook's environment.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, ENV, git, gitIn, gitWith, isRunning, repo, runCli, tempRoot } from '../fixtures';

const tmp = tempRoot('procs');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const CLI_ENV = { ...ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache') };

let n = 0;
/** A repository of `jobs` with one file, a.txt. */
const project = (jobs: object): string => repo(path.join(tmp, `r${n++}`), { jobs, files: { 'a.txt': 'a\n' } });

const results = (dir: string): string => path.join(dir, '.git', 'datakit-ci');

/** Polls until `test` holds (a generous deadline: these machines are loaded; no assertion on timing). */
async function until(what: string, test: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) { throw new Error(`timed out waiting for ${what}`); }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exited(c: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => c.on('close', (code, signal) => resolve({ code, signal })));
}


const readPid = (file: string): number => Number(fs.readFileSync(file, 'utf8').trim());

/** A job that starts a grandchild, a setsid daemon and a nohup'ed process, writes their pids, then waits. */
function escapingJob(dir: string): string {
  return [
    `sleep 300 & echo $! > '${dir}/child.pid'`,
    `setsid sh -c "echo \\$\\$ > '${dir}/daemon.pid'; exec sleep 300" < /dev/null > /dev/null 2>&1 &`,
    `nohup sh -c "echo \\$\\$ > '${dir}/nohup.pid'; exec sleep 300" > /dev/null 2>&1 &`,
    `while [ ! -s '${dir}/daemon.pid' ] || [ ! -s '${dir}/nohup.pid' ]; do sleep 0.05; done`,
    // Printed as "ready-2": the command line itself (echoed by --verbose) says $((1+1)).
    'echo "ready-$((1+1))"',
    'wait',
  ].join('\n');
}

describe('the command line and its jobs\' processes', { skip: process.platform !== 'linux' && 'signals and /proc' }, () => {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    it(`on ${signal}, kills every process of the job (those that left its group too), saves Cancelled, then exits ${code}`, async () => {
      const pids = fs.mkdtempSync(path.join(tmp, 'pids-'));
      const dir = project({ long: { run: escapingJob(pids) } });
      const c = spawn(process.execPath, [CLI, 'build', '--verbose'], { cwd: dir, env: CLI_ENV });
      let out = '';
      let err = '';
      c.stdout.on('data', (d) => { out += d; });
      c.stderr.on('data', (d) => { err += d; });
      await until('the job to start', () => /^ready-2$/m.test(out));
      const all = ['child.pid', 'daemon.pid', 'nohup.pid'].map((f) => readPid(path.join(pids, f)));
      assert.ok(all.every(isRunning), 'every process runs before the signal');
      c.kill(signal);
      const done = await exited(c);
      assert.deepEqual(done, { code, signal: null });
      assert.match(err, new RegExp(`datakit-ci: ${signal}: cancelling the running jobs`));
      for (const pid of all) { assert.equal(isRunning(pid), false, `pid ${pid} was killed before the command exited`); }
      const branch = JSON.parse(runCli(dir, ['status', '--json'], CLI_ENV).out).jobs[0].branch;
      assert.match(gitIn(results(dir), 'log', '--format=%s', branch), /^\w+ @ [0-9a-f]{7}: cancelled after [\d.]+ s$/);
    });
  }

  it('on a second Ctrl-C, kills at once a job that ignores SIGTERM, and still saves Cancelled', async () => {
    const pids = fs.mkdtempSync(path.join(tmp, 'pids-'));
    const dir = project({ stubborn: { run: `trap '' TERM; sleep 300 & echo $! > '${pids}/child.pid'; echo "ready-$((1+1))"; wait; wait` } });
    const c = spawn(process.execPath, [CLI, 'build', '--verbose'], { cwd: dir, env: CLI_ENV });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => { out += d; });
    c.stderr.on('data', (d) => { err += d; });
    await until('the job to start', () => /^ready-2$/m.test(out));
    const child = readPid(path.join(pids, 'child.pid'));
    c.kill('SIGINT');
    await until('the first signal to be taken', () => /cancelling/.test(err));
    c.kill('SIGINT');
    const done = await exited(c);
    assert.deepEqual(done, { code: 130, signal: null });
    assert.match(err, /SIGINT again: killing every job now/);
    assert.equal(isRunning(child), false);
    const branch = JSON.parse(runCli(dir, ['status', '--json'], CLI_ENV).out).jobs[0].branch;
    assert.match(gitIn(results(dir), 'log', '--format=%s', branch), /^\w+ @ [0-9a-f]{7}: cancelled after [\d.]+ s$/);
  });

  it('after kill -9 of the command, the next build kills the job it left running before reusing its directory', async () => {
    const pids = fs.mkdtempSync(path.join(tmp, 'pids-'));
    const marker = path.join(pids, 'ran-once');
    // The first run stays quiet in the background; the second passes.
    const dir = project({ quiet: { run: `if [ -e '${marker}' ]; then echo second run; else touch '${marker}'; sleep 300 & echo $! > '${pids}/left.pid'; wait; fi` } });
    const c = spawn(process.execPath, [CLI, 'build'], { cwd: dir, env: CLI_ENV });
    await until('the job to start', () => fs.existsSync(path.join(pids, 'left.pid')) && readPid(path.join(pids, 'left.pid')) > 0);
    const left = readPid(path.join(pids, 'left.pid'));
    c.kill('SIGKILL');
    await exited(c);
    assert.equal(isRunning(left), true, 'kill -9 of the command leaves its job running');
    const second = runCli(dir, ['build', '--json'], CLI_ENV);
    assert.equal(second.code, 0, second.err);
    assert.equal(isRunning(left), false, 'the leftover was killed');
    const log = runCli(dir, ['log', 'quiet'], CLI_ENV).out;
    assert.match(log, new RegExp(`Warning: pid ${c.pid}, which ran job quiet, ended without stopping it \\(its process ${c.pid} is gone\\); killed 2 processes it left running`));
    assert.match(log, new RegExp(`Took over the build directory .* from pid ${c.pid} \\(its process ${c.pid} is gone\\)`));
    assert.match(log, /second run/);
  });

  it('after kill -9 of the command, the next build of anything in the same cache directory kills its job\'s processes and says so', async () => {
    const pids = fs.mkdtempSync(path.join(tmp, 'pids-'));
    const dir = project({ lingering: { run: `sleep 300 & echo $! > '${pids}/left.pid'; wait` } });
    const c = spawn(process.execPath, [CLI, 'build'], { cwd: dir, env: CLI_ENV, stdio: 'ignore' });
    await until('the job to start', () => fs.existsSync(path.join(pids, 'left.pid')) && readPid(path.join(pids, 'left.pid')) > 0);
    const left = readPid(path.join(pids, 'left.pid'));
    after(() => { if (isRunning(left)) { process.kill(left, 'SIGKILL'); } });
    c.kill('SIGKILL');
    await exited(c);
    assert.equal(isRunning(left), true, 'kill -9 of the command leaves its job running');
    // Another repository, another job: only the cache directory is shared.
    const other = project({ other: { run: 'echo other' } });
    const r = runCli(other, ['build'], CLI_ENV);
    assert.equal(r.code, 0, r.err);
    assert.equal(isRunning(left), false, 'the job of the dead command was killed');
    assert.match(r.err, new RegExp(`datakit-ci: warning: pid ${c.pid}, which ran job lingering, ended without stopping it \\(its process ${c.pid} is gone\\); killed \\d+ process(es)? it left running \\((\\d+, )*${left}(, \\d+)*\\)\n`));
    assert.deepEqual(fs.readdirSync(path.join(tmp, 'cache', 'runs')), [], 'no record of a finished or dead run stays');
  });

  it('from a pre-commit hook of a linked worktree, a job sees neither the hook\'s git variables nor the editor\'s', () => {
    const envFile = path.join(tmp, 'hook-job.env');
    const dir = project({ hooked: { run: `env > '${envFile}'; git tag leaked 2>/dev/null; git -C '${tmp}' rev-parse --git-dir 2>/dev/null; true` } });
    const worktree = path.join(tmp, 'hook-wt');
    git(dir, 'worktree', 'add', '-q', worktree, '-b', 'feature');
    const hook = path.join(dir, '.git', 'hooks', 'pre-commit');
    fs.writeFileSync(hook, `#!/bin/sh\nexec "${process.execPath}" "${CLI}" build\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(worktree, 'b.txt'), 'b\n');
    git(worktree, 'add', 'b.txt');
    const head = git(worktree, 'rev-parse', 'HEAD');
    gitWith({ cwd: worktree, env: { ...CLI_ENV, ELECTRON_RUN_AS_NODE: '1', VSCODE_PID: '42' } }, 'commit', '-qm', 'two');
    const env = Object.fromEntries(fs.readFileSync(envFile, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    for (const v of ['GIT_DIR', 'GIT_INDEX_FILE', 'GIT_WORK_TREE', 'GIT_PREFIX', 'GIT_EXEC_PATH', 'ELECTRON_RUN_AS_NODE', 'VSCODE_PID']) {
      assert.equal(env[v], undefined, `${v} reached the job`);
    }
    assert.equal(env.CI, 'true');
    assert.equal(env.DATAKIT_CI_JOB, 'hooked');
    assert.equal(env.DATAKIT_CI_COMMIT, head, 'the hook builds HEAD, the commit before this one');
    assert.match(env.DATAKIT_CI_KEY, /^[0-9a-f]{64}$/);
    assert.equal(git(dir, 'tag', '--list'), '', 'the job could not tag the user\'s repository');
    assert.equal(git(worktree, 'log', '-1', '--format=%s'), 'two', 'the commit went through');
  });
});
