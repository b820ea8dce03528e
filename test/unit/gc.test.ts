// Retention: `datakit-ci gc` keeps the current targets' results, the last builds of each key and what is
// young, removes the rest, never what a build is writing, and keeps the results repository under a cap.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { objectBytes } from '../../src/store/results/gitStore';
import { removeDeadGcLocks } from '../../src/store/results/staleLocks';
import { CLI, ENV, git, gitIn, repo, runCli, tempRoot } from '../fixtures';
import { assertFsckClean } from './storeHelpers';

const tmp = tempRoot('gc');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const CLI_ENV = { ...ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache') };

const cli = (cwd: string, ...args: string[]): ReturnType<typeof runCli> => runCli(cwd, args, CLI_ENV);

const results = (dir: string): string => path.join(dir, '.git', 'datakit-ci');
const branches = (dir: string, job: string): string[] => gitIn(results(dir), 'for-each-ref', '--format=%(refname)', `refs/heads/shell/${job}/`).split('\n').filter(Boolean);

/** A repository of `jobs` whose inputs are src/a.txt and slow. */
const project = (name: string, jobs: object): string => repo(path.join(tmp, name), { jobs, files: { 'src/a.txt': '1\n', slow: '1\n' } });

function commit(dir: string, file: string, text: string): string {
  fs.writeFileSync(path.join(dir, file), text);
  git(dir, 'commit', '-qam', text.trim());
  return git(dir, 'rev-parse', 'HEAD');
}

describe('datakit-ci gc', () => {
  it('keeps the results of HEAD and the local branches, the last builds of each key; removes the rest, never what a build writes', async () => {
    const release = path.join(tmp, 'release');
    const dir = project('keep', {
      code: { run: 'cat src/a.txt', inputs: ['src'] },
      slow: { run: `while [ ! -e '${release}' ]; do sleep 0.05; done`, inputs: ['slow'] },
    });
    fs.writeFileSync(release, '');
    assert.equal(cli(dir, 'build').code, 0);
    git(dir, 'branch', 'kept'); // a local branch at the first commit: its results stay
    commit(dir, 'src/a.txt', '2\n');
    assert.equal(cli(dir, 'build').code, 0);
    commit(dir, 'src/a.txt', '3\n');
    assert.equal(cli(dir, 'build').code, 0);
    for (let i = 0; i < 6; i++) { // 6 rebuilds: 13 commits on HEAD's code entry
      assert.equal(cli(dir, 'rebuild', 'code').code, 0);
      assert.equal(cli(dir, 'build', 'code').code, 0);
    }
    assert.equal(branches(dir, 'code').length, 3);
    // slow is rebuilt, and is still running (its lock held) when gc runs, on a commit no target holds.
    commit(dir, 'slow', '2\n');
    assert.equal(cli(dir, 'build', 'slow').code, 0);
    fs.rmSync(release);
    assert.match(cli(dir, 'rebuild', 'slow').out, /marked slow for rebuild/);
    const running = spawn(process.execPath, [CLI, 'build', 'slow'], { cwd: dir, env: CLI_ENV, stdio: 'ignore' });
    const ended = new Promise<number | null>((r) => running.on('exit', (c) => r(c)));
    try {
      await runningGc(dir, release, ended);
    } finally {
      fs.writeFileSync(release, '');
      running.kill();
    }
  });

  it('removes the oldest results that are not current until the repository fits under --max-size', () => {
    const dir = project('cap', { big: { run: 'head -c 1500000 /dev/urandom | base64', inputs: ['src'] } });
    for (let i = 2; i <= 5; i++) {
      assert.equal(cli(dir, 'build').code, 0);
      commit(dir, 'src/a.txt', `${i}\n`);
    }
    assert.equal(cli(dir, 'build').code, 0);
    assert.equal(branches(dir, 'big').length, 5);
    assert.ok(objectBytes(results(dir)) > 5 * 1024 * 1024, 'five logs of 2 MB');
    const r = cli(dir, 'gc', '--max-size', '3');
    assert.equal(r.code, 0, r.err);
    assert.ok(objectBytes(results(dir)) <= 3 * 1024 * 1024, r.out);
    const left = branches(dir, 'big');
    assert.ok(left.length >= 1 && left.length < 5);
    assert.equal(JSON.parse(cli(dir, 'status', '--json').out).jobs[0].state, 'success', 'HEAD\'s result kept');
    // Only HEAD's left, and a cap it cannot fit under: said, nothing current removed.
    const tight = cli(dir, 'gc', '--max-size', '1');
    assert.match(tight.err, /still over 1 MiB: what is left that gc could not remove: 1 result of HEAD and the local branches\n/);
    assert.equal(JSON.parse(cli(dir, 'status', '--json').out).jobs[0].state, 'success');
    assertFsckClean(results(dir));
    assert.equal(cli(dir, 'gc', '--keep', '0').code, 2, 'bad usage');
  });

  it('removes the lock files a killed git gc left (each gc after it failed on them), says which, and leaves a live gc\'s alone', () => {
    const dir = project('leftover', { code: { run: 'cat src/a.txt', inputs: ['src'] } });
    assert.equal(cli(dir, 'build').code, 0);
    commit(dir, 'src/a.txt', '2\n');
    assert.equal(cli(dir, 'build').code, 0);
    const gitDir = results(dir);
    gitIn(gitDir, 'gc', '--quiet'); // a pack, and a .keep for it: git's "keep this pack", not a lock
    const pack = fs.readdirSync(path.join(gitDir, 'objects', 'pack')).find((f) => f.endsWith('.pack'));
    assert.ok(pack);
    const keep = path.join(gitDir, 'objects', 'pack', pack.replace(/\.pack$/, '.keep'));
    fs.writeFileSync(keep, 'kept by hand\n');
    // What a git gc killed while it packed the refs and wrote the commit-graph leaves: its gc.pid (naming a
    // process of this host that is no longer alive) and git's locks, made after it started.
    const dead = spawnSync('true').pid!;
    assert.throws(() => process.kill(dead, 0), { code: 'ESRCH' }, 'the pid names no process');
    const locks = ['packed-refs.lock', 'objects/info/commit-graph.lock', 'objects/info/commit-graphs/commit-graph-chain.lock'];
    const leaveBehind = (pid: number): void => {
      const started = new Date(Date.now() - 60_000);
      fs.writeFileSync(path.join(gitDir, 'gc.pid'), `${pid} ${os.hostname()}`);
      fs.utimesSync(path.join(gitDir, 'gc.pid'), started, started);
      for (const l of locks) {
        fs.mkdirSync(path.dirname(path.join(gitDir, l)), { recursive: true });
        fs.writeFileSync(path.join(gitDir, l), '');
        fs.utimesSync(path.join(gitDir, l), new Date(started.getTime() + 5000), new Date(started.getTime() + 5000));
      }
    };

    // A gc that is alive (this process, on this host): nothing of it is touched, and gc says it runs.
    leaveBehind(process.pid);
    const busy = cli(dir, 'gc', '--max-age', '0', '--keep', '1');
    assert.equal(busy.code, 4, busy.err);
    assert.match(busy.err, new RegExp(`Another git gc is running on this results repository \\(${os.hostname()}, pid ${process.pid}\\)`));
    for (const f of ['gc.pid', ...locks]) { assert.ok(fs.existsSync(path.join(gitDir, f)), `${f} of a live gc stays`); }

    // The same files from a dead gc: removed, said, and the gc runs.
    leaveBehind(dead);
    const r = cli(dir, 'gc', '--max-age', '0', '--keep', '1');
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, new RegExp(`^datakit-ci: warning: Removed gc\\.pid, packed-refs\\.lock, objects/info/commit-graph\\.lock, objects/info/commit-graphs/commit-graph-chain\\.lock from ${gitDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: git gc \\(pid ${dead}\\) was stopped before it ended and left them$`, 'm'));
    for (const l of locks) { assert.equal(fs.existsSync(path.join(gitDir, l)), false, `${l} removed`); }
    assert.equal(fs.readFileSync(keep, 'utf8'), 'kept by hand\n', 'a .keep is not a lock: it stays');
    assert.equal(JSON.parse(cli(dir, 'status', '--json').out).jobs[0].state, 'success');
    assertFsckClean(gitDir);
  });

  it('takes only the locks made since the dead gc started: an older one was not its, and stays', async () => {
    const gitDir = path.join(tmp, 'dated.git');
    git(tmp, 'init', '-q', '--bare', gitDir);
    const dead = spawnSync('true').pid!;
    const at = (name: string, ms: number): void => {
      fs.mkdirSync(path.dirname(path.join(gitDir, name)), { recursive: true });
      fs.writeFileSync(path.join(gitDir, name), name === 'gc.pid' ? `${dead} ${os.hostname()}` : '');
      fs.utimesSync(path.join(gitDir, name), new Date(ms), new Date(ms));
    };
    const started = Date.now() - 60_000;
    at('gc.pid', started);
    at('packed-refs.lock', started - 30_000);
    at('objects/info/commit-graph.lock', started + 2000);
    at('objects/pack/pack-1234.keep', started + 2000);
    assert.deepEqual(await removeDeadGcLocks(gitDir), { pid: dead, removed: ['gc.pid', 'objects/info/commit-graph.lock'] });
    assert.ok(fs.existsSync(path.join(gitDir, 'packed-refs.lock')), 'older than the gc: not its');
    assert.ok(fs.existsSync(path.join(gitDir, 'objects/pack/pack-1234.keep')));
    assert.equal(fs.existsSync(path.join(gitDir, 'gc.pid.lock')), false);
    assert.equal(await removeDeadGcLocks(gitDir), undefined, 'no gc.pid: nothing to do');
  });

  it('leaves a valid repository and every current result readable when it is killed in any of its stages, and the next gc finishes', async () => {
    const dir = project('killed', { code: { run: 'cat src/a.txt; head -c 200000 /dev/urandom | base64', inputs: ['src'] } });
    const hold = holdingGit();
    let lastGc: number | undefined;
    // Each stage is held (its git waits until killed), so that each kill provably lands while the gc runs there.
    const stages: [GcStage, string][] = [
      ['update-ref', 'removing the old results, before git gc'],
      ['pack-refs', 'git gc started, packing the refs'],
      ['pack-objects-done', 'the new pack written, the old packs and loose objects not yet removed'],
      ['prune', 'repacked, unreachable objects not yet pruned'],
      ['rerere', 'pruned, the commit-graph not yet written'],
    ];
    for (const [i, [stage, what]] of stages.entries()) {
      for (let c = 0; c < 3; c++) {
        commit(dir, 'src/a.txt', `${i}.${c}\n`);
        assert.equal(cli(dir, 'build').code, 0);
      }
      // Its own process group: the kill takes git's gc and what it runs with it.
      const reached = path.join(tmp, `reached-${stage}`);
      const gc = spawn(process.execPath, [CLI, 'gc', '--max-age', '0', '--keep', '1'], { cwd: dir, env: { ...CLI_ENV, ...hold.env(stage, reached) }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
      let err = '';
      gc.stderr.on('data', (b) => { err += b; });
      const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => gc.on('close', (code, signal) => r([code, signal])));
      const held = await Promise.race([untilExists(reached).then(() => Number(fs.readFileSync(reached, 'utf8'))), exited.then(([code, signal]) => {
        throw new Error(`the gc ended (code ${code}, signal ${signal}) before it reached ${stage}: ${err}`);
      })]);
      const gcPid = fs.existsSync(path.join(results(dir), 'gc.pid')) ? Number(fs.readFileSync(path.join(results(dir), 'gc.pid'), 'utf8').split(' ')[0]) : undefined;
      if (stage === 'update-ref') {
        assert.equal(gcPid, undefined, 'git gc has not started');
      } else {
        assert.ok(gcPid !== undefined && gcPid !== lastGc, `${stage}: gc.pid names this git gc`);
        process.kill(gcPid, 0); // alive: throws if not
      }
      process.kill(-gc.pid!, 'SIGKILL');
      assert.deepEqual(await exited, [null, 'SIGKILL'], `killed ${what}`);
      if (lastGc !== undefined) {
        assert.match(err, new RegExp(`warning: Removed gc\\.pid from \\S+: git gc \\(pid ${lastGc}\\) was stopped before it ended and left it\n`), 'the killed gc\'s gc.pid, removed before this gc');
      }
      await untilGone(held);
      if (gcPid !== undefined) { await untilGone(gcPid); lastGc = gcPid; }
      assertFsckClean(results(dir));
      const s = JSON.parse(cli(dir, 'status', '--json').out).jobs[0];
      assert.equal(s.state, 'success', `killed ${what}: HEAD's result readable`);
      assert.match(cli(dir, 'log', 'code').out, new RegExp(`\n${i}\\.2\n`));
    }
    const done = cli(dir, 'gc', '--max-age', '0', '--keep', '1');
    assert.equal(done.code, 0, done.err);
    assert.match(done.err, new RegExp(`Removed gc\\.pid from \\S+: git gc \\(pid ${lastGc}\\) was stopped before it ended`));
    assert.equal(branches(dir, 'code').length, 1, 'the next gc finishes the work');
    assertFsckClean(results(dir));
  });
});

/** gc while `slow` is being built by another process (which `release` lets finish). */
async function runningGc(dir: string, release: string, ended: Promise<number | null>): Promise<void> {
  await waitForLock(dir);
  git(dir, 'checkout', '-q', '-b', 'elsewhere', 'HEAD~1');
  git(dir, 'branch', '-D', 'main');

  const r = cli(dir, 'gc', '--max-age', '0', '--keep', '4');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^5 results: 1 removed, \d+ trimmed to their last 4 builds \(\d+ older builds dropped\), 1 left whole while being written\nresults repository: [\d.]+ MiB → [\d.]+ MiB\nbuild directories: (nothing to remove( \(\d+ in use\))?|removed \d+ folders?, freeing [\d.]+ MiB \(\d+ files and folders\)(; left \d+ in use by a running build)?\n( {2}.*\n)*)\n?$/);
  // code: the key of `kept` (commit 1) and of HEAD (commit 3) stay; commit 2's went.
  assert.equal(branches(dir, 'code').length, 2);
  const headCode = JSON.parse(cli(dir, 'status', '--json').out).jobs.find((j: { job: string }) => j.job === 'code');
  assert.equal(headCode.state, 'success', 'HEAD\'s result is still readable');
  assert.equal(gitIn(results(dir), 'rev-list', '--count', headCode.branch), '4', 'its history trimmed to 4 builds');
  assert.match(cli(dir, 'log', 'code').out, /\n3\n/);
  assert.match(cli(dir, 'log', 'code', '--previous', '1').out, /\n3\n/, 'the kept older builds are readable too');
  fs.writeFileSync(release, '');
  assert.equal(await ended, 0, 'the running build saved its result');
  assert.equal(branches(dir, 'slow').length, 2, 'slow at HEAD~1 kept, the one being written kept');
  assertFsckClean(results(dir));
}

/** Until a process of the killed group is gone from the process table (reaped: a zombie still answers signal 0). */
async function untilGone(pid: number): Promise<void> {
  for (let i = 0; i < 2400; i++) {
    try { process.kill(pid, 0); } catch { return; }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`process ${pid} was killed but is still there after a minute`);
}

/** Until `file` exists (a held git writes it once it waits); a gc that neither gets there nor ends in two minutes is stuck. */
async function untilExists(file: string): Promise<void> {
  for (let i = 0; !fs.existsSync(file); i++) {
    if (i === 6000) { throw new Error(`the gc neither ended nor reached the stage that writes ${file} in two minutes`); }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Where a gc can be held: a git command it runs (`update-ref`: the results removed; the others: git gc's
 * own steps), or `pack-objects-done`: pack-objects has written the new pack, and its answer is held back
 * from git repack (which would then remove the old packs).
 */
type GcStage = 'update-ref' | 'pack-refs' | 'pack-objects-done' | 'prune' | 'rerere';

/**
 * A `git` in front of the real one (first on PATH for the command line, and git's exec path for what git gc
 * runs): it runs every command with the real git, except at the stage the environment names, where it
 * writes its pid to a file and waits to be killed.
 */
function holdingGit(): { env(stage: GcStage, reached: string): Record<string, string> } {
  const real = git(tmp, '--exec-path');
  const wrap = path.join(tmp, 'holding-git');
  fs.mkdirSync(wrap);
  for (const f of fs.readdirSync(real)) { if (f !== 'git') { fs.symlinkSync(path.join(real, f), path.join(wrap, f)); } }
  fs.writeFileSync(path.join(wrap, 'git'), `#!/bin/sh
sub=
skip=
for a in "$@"; do
  if [ -n "$skip" ]; then skip=; continue; fi
  case "$a" in
    -c|-C) skip=1 ;;
    -*) ;;
    *) sub="$a"; break ;;
  esac
done
if [ "$sub" = "$HOLD_GIT_AT" ]; then echo $$ > "$HOLD_GIT_REACHED.tmp" && mv "$HOLD_GIT_REACHED.tmp" "$HOLD_GIT_REACHED"; exec sleep 600; fi
if [ "$sub" = pack-objects ] && [ "$HOLD_GIT_AT" = pack-objects-done ]; then
  '${real}/git' "$@" > "$HOLD_GIT_REACHED.out" || exit $?
  echo $$ > "$HOLD_GIT_REACHED.tmp" && mv "$HOLD_GIT_REACHED.tmp" "$HOLD_GIT_REACHED"; exec sleep 600
fi
exec '${real}/git' "$@"
`, { mode: 0o755 });
  return { env: (stage, reached) => ({ PATH: `${wrap}:${process.env.PATH}`, GIT_EXEC_PATH: wrap, HOLD_GIT_AT: stage, HOLD_GIT_REACHED: reached }) };
}

/** Until the background build holds its entry's lock. */
async function waitForLock(dir: string): Promise<void> {
  const locks = path.join(results(dir), 'locks', 'shell', 'slow');
  for (let i = 0; i < 600; i++) {
    if (fs.existsSync(locks) && fs.readdirSync(locks).some((f) => f.endsWith('.lock'))) { return; }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the build never took its lock');
}
