// Fetch, push and gc against a real bare remote: what a killed fetch leaves (processes, temp packs), gc
// beside a fetch, push after gc rewrote histories, and a size cap with fetched results.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { appendingJobs, CLI, ENV, git, gitIn, makeTeam, runCli, tempRoot, type Team } from '../fixtures';
import { assertFsckClean } from './storeHelpers';
import { whileFetching, sweepTemporaryPacks } from '../../src/store/results/fetchGuard';
import { objectBytes } from '../../src/store/results/gitStore';

const tmp = tempRoot('remote-disk');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const results = (dir: string): string => path.join(dir, '.git', 'datakit-ci');
const ran = path.join(tmp, 'ran');
const team = (name: string, files: Record<string, string> = {}): Team => makeTeam(tmp, name, appendingJobs(ran), files);

function cliEnv(cwd: string): NodeJS.ProcessEnv {
  return { ...ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, `cache-${path.basename(path.dirname(cwd))}-${path.basename(cwd)}`) };
}
const cli = (cwd: string, ...args: string[]): ReturnType<typeof runCli> => runCli(cwd, args, cliEnv(cwd));

/** The command line in `cwd`, started (not waited for): its process, its output so far, and its end. */
function start(cwd: string, ...args: string[]): { pid: number; output: () => string; ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const c = spawn(process.execPath, [CLI, ...args], { cwd, env: cliEnv(cwd), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  c.stdout.on('data', (b) => { out += b; });
  c.stderr.on('data', (b) => { out += b; });
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => c.on('close', (code, signal) => r({ code, signal })));
  return { pid: c.pid!, output: () => out, ended };
}

/**
 * A remote `name` in `clone` for the team's bare repository, reached through an upload-pack that passes
 * `holdAfter` bytes of its answer (0: none; byte by byte, so that nothing waits in a buffer), then writes its pid to `reached` and holds the rest back until
 * `release` exists. `asked`: how many times the remote was asked.
 */
function heldRemote(clone: string, name: string, remote: string, holdAfter: number): { reached: string; release: () => void; asked: () => number } {
  const id = `${name}-${path.basename(path.dirname(clone))}-${path.basename(clone)}`;
  const reached = path.join(tmp, `reached-${id}`);
  const release = path.join(tmp, `release-${id}`);
  const wrapper = path.join(tmp, `upload-pack-${id}`);
  const asked = `${reached}-asked`;
  fs.writeFileSync(wrapper, `#!/bin/sh
echo >> '${asked}'
git upload-pack "$@" | {
  dd bs=1 count=${holdAfter} 2>/dev/null
  echo $$ > '${reached}.tmp' && mv '${reached}.tmp' '${reached}'
  while [ ! -e '${release}' ]; do sleep 0.05; done
  exec cat
}
`, { mode: 0o755 });
  git(clone, 'remote', 'add', name, remote);
  git(clone, 'config', `remote.${name}.uploadpack`, wrapper);
  return { reached, release: () => fs.writeFileSync(release, ''), asked: () => fs.readFileSync(asked, 'utf8').length };
}

/** Until `check` holds; the command's end fails the test first. */
async function until(check: () => boolean, ended: Promise<unknown>, what: string): Promise<void> {
  let over = false;
  void ended.then(() => { over = true; });
  for (let i = 0; !check(); i++) {
    if (over && !check()) { throw new Error(`the command ended before ${what}`); }
    if (i === 6000) { throw new Error(`not ${what} in two minutes`); }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The processes (pid and command line) whose command line mentions `text`. */
function processesMentioning(text: string): string[] {
  const ps = execFileSync('ps', ['-A', '-o', 'pid=,args='], { encoding: 'utf8' });
  return ps.split('\n').filter((l) => l.includes(text) && !/\bps -A\b/.test(l)).map((l) => l.trim());
}

/** Whether a process is there (a zombie that its parent has not reaped answers too). */
function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Until every process of `pids` and every one mentioning `text` is gone; what is left after 20 s is listed in the failure. */
async function untilGone(pids: number[], text: string): Promise<void> {
  for (let i = 0; ; i++) {
    const left = [...pids.filter(alive).map((p) => `${p}`), ...processesMentioning(text)];
    if (left.length === 0) { return; }
    if (i === 400) { assert.fail(`still running 20 s after the command line was killed: ${left.join(' | ')}`); }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('fetch, push and gc keep the remote and the disk right', () => {
  it('a fetch killed with kill -9 leaves no git process of it running (git and the upload-pack it started die with it)', async () => {
    const { remote, clone } = team('killed');
    const ci = clone('ci');
    assert.equal(cli(ci, 'build', '--push').code, 1, 'lint fails; all three pushed');
    const mine = clone('mine');
    const { reached } = heldRemote(mine, 'slow', remote, 0);
    const fetch = start(mine, 'fetch', 'slow');
    await until(() => fs.existsSync(reached), fetch.ended, 'the remote was asked');
    const held = Number(fs.readFileSync(reached, 'utf8'));
    assert.ok(alive(held));
    assert.ok(processesMentioning(results(mine)).length > 0, 'git fetch runs, naming the results repository');
    process.kill(fetch.pid, 'SIGKILL');
    assert.deepEqual(await fetch.ended, { code: null, signal: 'SIGKILL' });
    await untilGone([held], results(mine));
  });

  it('the temp pack a killed fetch left is removed by the next command once it is old, with its size said (only gc removed it)', async () => {
    const { remote, clone } = makeTeam(tmp, 'leftover', { big: { run: 'head -c 600000 /dev/urandom | base64', inputs: ['src'] } });
    assert.equal(cli(clone('ci'), 'build', '--push').code, 0);
    const mine = clone('mine');
    git(mine, 'config', 'fetch.unpackLimit', '1');
    const { reached } = heldRemote(mine, 'slow', remote, 100_000);
    const fetch = start(mine, 'fetch', 'slow');
    await until(() => fs.existsSync(reached), fetch.ended, 'the remote sent part of its pack');
    const packDir = path.join(results(mine), 'objects', 'pack');
    const temps = (): string[] => (fs.existsSync(packDir) ? fs.readdirSync(packDir).filter((f) => f.startsWith('tmp_')) : []);
    await until(() => temps().length > 0, fetch.ended, 'the fetch began its pack');
    process.kill(fetch.pid, 'SIGKILL');
    await fetch.ended;
    await untilGone([Number(fs.readFileSync(reached, 'utf8'))], results(mine));
    const [left] = temps();
    assert.ok(left, 'the killed fetch left its temp pack');
    // An hour later (the sweep runs at most hourly; the file is that old).
    const hourAgo = new Date(Date.now() - 3_600_000);
    fs.utimesSync(path.join(packDir, left), hourAgo, hourAgo);
    fs.utimesSync(path.join(results(mine), 'info', 'last-sweep'), hourAgo, hourAgo);
    const r = cli(mine, 'fetch');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(temps(), [], 'removed');
    assert.match(r.err, /warning: Removed 1 temporary pack file \(0\.\d MiB\) that interrupted fetches or repacks left in \S+/);
    assertFsckClean(results(mine));
  });

  it('gc --max-size removes fetched results too, oldest first, and names what it could not remove (it blamed HEAD\'s results)', () => {
    const { clone } = makeTeam(tmp, 'capped', { big: { run: 'head -c 1200000 /dev/urandom | base64', inputs: ['src'] } });
    const ci = clone('ci');
    for (let i = 2; i <= 4; i++) {
      assert.equal(cli(ci, 'build').code, 0);
      fs.writeFileSync(path.join(ci, 'src', 'a.txt'), `${i}\n`);
      git(ci, 'commit', '-qam', `${i}`);
    }
    assert.match(cli(ci, 'push').out, /3 results sent/);
    const mine = clone('mine');
    assert.match(cli(mine, 'fetch').out, /fetched from origin: 3 results/);
    const fetchedRefs = (): string[] => gitIn(results(mine), 'for-each-ref', '--format=%(refname)', 'refs/fetched/').split('\n').filter(Boolean);
    const headsResult = JSON.parse(cli(mine, 'status', '--json').out).jobs[0].branch.slice('refs/heads/'.length);
    assert.ok(objectBytes(results(mine)) > 3 * 1024 * 1024, 'three fetched results of 1.2 MB');
    const r = cli(mine, 'gc', '--max-size', '2');
    assert.equal(r.code, 0, r.err);
    assert.ok(objectBytes(results(mine)) <= 2 * 1024 * 1024, `fits: ${r.out}${r.err}`);
    assert.deepEqual(fetchedRefs(), [`refs/fetched/origin/${headsResult}`], 'the fetched result HEAD uses stays');
    const tight = cli(mine, 'gc', '--max-size', '1');
    assert.match(tight.err, /warning: still over 1 MiB: what is left that gc could not remove: 1 fetched result that HEAD or a local branch uses\n/);
    assert.equal(JSON.parse(cli(mine, 'status', '--json').out).jobs[0].state, 'success');
    assertFsckClean(results(mine));
  });

  it('push after gc --keep rewrote a history sends the newer result (not a fast-forward), and counts none as another machine\'s', () => {
    const { remote, clone } = team('rewritten');
    const ci = clone('ci');
    const first = cli(ci, 'build', '--push');
    assert.match(first.err, /pushed to origin: 3 sent/);
    const ref = JSON.parse(cli(ci, 'status', '--json').out).jobs[0].branch as string;
    const shared = `refs/datakit-ci/${ref.slice('refs/heads/'.length)}`;
    const pushedFirst = git(remote, 'rev-parse', shared);
    for (let i = 0; i < 2; i++) { // two more builds here, not pushed
      assert.equal(cli(ci, 'rebuild', 'build').code, 0);
      assert.equal(cli(ci, 'build', 'build').code, 0);
    }
    assert.equal(cli(ci, 'gc', '--keep', '1').code, 0);
    const newest = gitIn(results(ci), 'rev-parse', ref);
    assert.equal(gitIn(results(ci), 'rev-list', '--count', ref), '1', 'its history rewritten: the remote\'s is no ancestor of it');
    assert.ok(Number(gitIn(results(ci), 'log', '-1', '--format=%ct', ref)) >= Number(git(remote, 'log', '-1', '--format=%ct', pushedFirst)));
    const r = cli(ci, 'push');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'pushed to origin: 1 result sent, 2 already there\n');
    assert.equal(git(remote, 'rev-parse', shared), newest, 'the remote holds the newer result');
    assert.equal(cli(ci, 'push').out, 'pushed to origin: 0 results sent, 3 already there\n');
  });

  it('sweeps only what no live fetch or gc writes: an old temp pack, and the .keep of a dead fetch; a fresh temp pack, a user\'s .keep and, while a fetch runs, an old temp pack stay', async () => {
    const gitDir = path.join(tmp, 'sweep.git');
    git(tmp, 'init', '-q', '--bare', gitDir);
    const pack = path.join(gitDir, 'objects', 'pack');
    const dead = spawnSync('true').pid!;
    const at = (name: string, text: string, msAgo: number): void => {
      fs.writeFileSync(path.join(pack, name), text);
      const t = new Date(Date.now() - msAgo);
      fs.utimesSync(path.join(pack, name), t, t);
    };
    at('tmp_pack_old', 'x'.repeat(1000), 3_600_000);
    at('.tmp-123-pack-old.pack', 'y', 3_600_000);
    at('tmp_pack_fresh', 'z', 1000);
    const deadKeep = `fetch-pack ${dead} on ${os.hostname()}\n`;
    at('pack-1.keep', deadKeep, 1000);
    at('pack-2.keep', 'kept by hand\n', 3_600_000);
    at('pack-3.keep', `fetch-pack ${process.pid} on ${os.hostname()}\n`, 3_600_000);
    const left = (): string[] => fs.readdirSync(pack).sort();
    // A fetch runs (this process): the old temp pack may be its, and stays.
    await whileFetching(gitDir, Date.now() + 60_000, async () => {
      assert.deepEqual(sweepTemporaryPacks(gitDir, () => false), { files: 1, bytes: deadKeep.length }, 'only the dead fetch\'s .keep');
    });
    assert.deepEqual(left(), ['.tmp-123-pack-old.pack', 'pack-2.keep', 'pack-3.keep', 'tmp_pack_fresh', 'tmp_pack_old']);
    assert.deepEqual(sweepTemporaryPacks(gitDir, () => true), { files: 0, bytes: 0 }, 'a git gc runs: nothing');
    assert.deepEqual(sweepTemporaryPacks(gitDir, () => false), { files: 2, bytes: 1001 });
    assert.deepEqual(left(), ['pack-2.keep', 'pack-3.keep', 'tmp_pack_fresh']);
  });

  it('a fetch waits while our gc prunes, says so, and fetches once it has ended', async () => {
    const { clone } = team('after-gc');
    assert.equal(cli(clone('ci'), 'build', '--push').code, 1);
    const mine = clone('mine');
    const running = path.join(results(mine), 'gc-running');
    cli(mine, 'gc'); // the results repository exists
    fs.writeFileSync(running, `${process.pid} ${os.hostname()} ${Date.now() + 600_000}\n`); // a gc of this process, pruning
    const fetch = start(mine, 'fetch');
    await until(() => /Waiting for the gc of/.test(fetch.output()), fetch.ended, 'the fetch said it waits');
    assert.match(fetch.output(), new RegExp(`warning: Waiting for the gc of \\S+ \\(pid ${process.pid}\\) to end before fetching from origin\n`));
    assert.equal(gitIn(results(mine), 'for-each-ref', 'refs/fetched/'), '', 'nothing fetched while gc prunes');
    fs.rmSync(running);
    assert.deepEqual(await fetch.ended, { code: 0, signal: null }, fetch.output());
    assert.match(fetch.output(), /fetched from origin: 3 results/);
  });

  it('gc waits for a fetch that is writing its pack, and the fetch ends with every result, asked once (gc pruned its temp pack, and it was fetched again)', async () => {
    const { remote, clone } = makeTeam(tmp, 'beside', { big: { run: 'head -c 600000 /dev/urandom | base64', inputs: ['src'] } });
    assert.equal(cli(clone('ci'), 'build', '--push').code, 0);
    const mine = clone('mine');
    git(mine, 'config', 'fetch.unpackLimit', '1'); // a pack, as a fetch of more than 100 objects writes
    const { reached, release, asked } = heldRemote(mine, 'slow', remote, 100_000);
    const fetch = start(mine, 'fetch', 'slow');
    await until(() => fs.existsSync(reached), fetch.ended, 'the remote sent part of its pack');
    const packDir = path.join(results(mine), 'objects', 'pack');
    await until(() => fs.existsSync(packDir) && fs.readdirSync(packDir).some((f) => f.startsWith('tmp_pack_')), fetch.ended, 'the fetch began its pack');
    const gc = start(mine, 'gc', '--max-age', '0', '--keep', '1');
    let gcEnded = false;
    void gc.ended.then(() => { gcEnded = true; });
    await until(() => gcEnded || /gc waits for the fetch/.test(gc.output()), fetch.ended, 'gc ended or waited');
    release();
    const [fetched, gcd] = await Promise.all([fetch.ended, gc.ended]);
    assert.deepEqual(fetched, { code: 0, signal: null }, fetch.output());
    assert.equal(asked(), 1, 'the pack the fetch was writing was kept: it was not deleted, then fetched again');
    assert.match(gc.output(), new RegExp(`warning: gc waits for the fetch into \\S+ \\(pid ${fetch.pid}\\) to end: pruning now would delete what it is writing`));
    assert.deepEqual(gcd, { code: 0, signal: null }, gc.output());
    assert.equal(gitIn(results(mine), 'for-each-ref', '--format=%(refname)', 'refs/fetched/slow/').split('\n').length, 1);
    assertFsckClean(results(mine));
    assert.equal(fs.readdirSync(packDir).filter((f) => f.startsWith('tmp_')).length, 0);
  });
});
