// A result fetched from the team's remote obeys the limits of a build's own (issue 19, point 4), and one bad
// result there, or a remote that is down or hangs, costs only itself, never the build (point 5). Real clones,
// a real bare repository as the remote, results forged by hand from a second clone as an attacker would.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { appendingJobs, ENV, git, gitIn, gitWith, makeTeam, runCli, tempRoot, type Team } from '../fixtures';
import { assertFsckClean } from './storeHelpers';

const tmp = tempRoot('fetched');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = (cwd: string, ...args: string[]): ReturnType<typeof runCli> =>
  runCli(cwd, args, { ...ENV, CI: '', GITHUB_ACTIONS: '', DATAKIT_CI_CACHE_DIR: path.join(tmp, `cache-${path.basename(cwd)}`) });
const results = (dir: string): string => path.join(dir, '.git', 'datakit-ci');
const ran = path.join(tmp, 'ran');
const runs = (job: string): number => (fs.existsSync(ran) ? fs.readFileSync(ran, 'utf8').split('\n').filter((l) => l === job).length : 0);

/** A bare "origin" with one commit of three jobs (each appends its name to `ran`; lint fails), and clones of it. */
const team = (name: string): Team => makeTeam(tmp, name, appendingJobs(ran));

/** A tree object written as given (git's own mktree would refuse or fix what these tests need): `[mode, name, oid]`. */
function rawTree(gitDir: string, entries: readonly (readonly [string, string, string])[]): string {
  const bytes = Buffer.concat(entries.flatMap(([mode, name, oid]) => [Buffer.from(`${mode} ${name}\0`), Buffer.from(oid, 'hex')]));
  return gitWith({ input: bytes }, `--git-dir=${gitDir}`, 'hash-object', '-t', 'tree', '--literally', '-w', '--stdin');
}

/** `s` as a regular expression matching itself. */
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A blob of `size` zero bytes, from a sparse file written once (cheap to make, to send and to fetch). */
function zeros(gitDir: string, size: number): string {
  const file = path.join(tmp, `zeros-${size}`);
  if (!fs.existsSync(file)) { fs.closeSync(fs.openSync(file, 'w')); fs.truncateSync(file, size); }
  return gitIn(gitDir, 'hash-object', '-w', file);
}

describe('a fetched result obeys the limits of a build\'s own, and is refused before it touches a branch', () => {
  const { remote, clone } = team('forged');
  let forger = '';
  let entry = '';
  let keyBlob = '';
  let logBlob = '';
  const forgerResults = (): string => results(forger);

  before(() => {
    forger = clone('forger');
    assert.equal(cli(forger, 'build', 'test').code, 0);
    entry = gitIn(results(forger), 'for-each-ref', '--format=%(refname)', 'refs/heads/shell/test/').slice('refs/heads/'.length);
    keyBlob = gitIn(results(forger), 'rev-parse', `refs/heads/${entry}:key.json`);
    logBlob = gitIn(results(forger), 'rev-parse', `refs/heads/${entry}:log`);
  });

  /** A result commit of `tree` for test's real key, made in the forger's clone. */
  const forge = (tree: string): string => gitIn(forgerResults(), 'commit-tree', tree, '-m', 'Built by a forger');

  /**
   * A new clone runs `args`: it must build test here, say `said`, and keep the forged `commit` out of its
   * branch's history and out of `history`.
   */
  function builtHere(victim: string, commit: string, args: readonly string[], said: RegExp): void {
    const before = runs('test');
    const r = cli(victim, ...args);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, said);
    assert.equal(r.err.split(commit.slice(0, 12)).length - 1 <= 1, true, 'said once');
    assert.equal(runs('test'), before + 1, 'built here');
    assert.equal(gitIn(results(victim), 'log', '--format=%H', `refs/heads/${entry}`).split('\n').includes(commit), false, 'the refused result is not in the branch\'s history');
    assert.equal(cli(victim, 'history', 'test', '--json').out.includes(commit), false, 'nor in `history`');
  }

  /** The forged result pushed to the remote: a new clone's `build test --fetch` refuses it with `reason`. */
  function refusedFromRemote(tree: string, reason: RegExp): void {
    const commit = forge(tree);
    gitIn(forgerResults(), 'push', '-q', '--force', remote, `${commit}:refs/datakit-ci/${entry}`);
    const victim = clone('victim');
    builtHere(victim, commit, ['build', 'test', '--fetch'],
      new RegExp(`warning: The result fetched from origin for ${escape(entry)} \\(commit ${commit.slice(0, 12)}\\) is not used: ${reason.source}; the job builds here`));
    assertFsckClean(results(victim));
  }

  /**
   * The forged result already among a clone's fetched results (as a fetch by an earlier version, which did
   * not have git check what it received, left it): `build test` refuses it with `reason` when adopting.
   */
  function refusedWhenAdopted(tree: string, reason: RegExp): void {
    const commit = forge(tree);
    const victim = clone('holder');
    assert.equal(cli(victim, 'build', 'build').code, 0);
    gitIn(forgerResults(), 'push', '-q', results(victim), `${commit}:refs/fetched/origin/${entry}`);
    builtHere(victim, commit, ['build', 'test'],
      new RegExp(`warning: The result fetched from origin for ${escape(entry)} \\(commit ${commit.slice(0, 12)}\\) is not used: ${reason.source}; the job builds here`));
  }

  it('refuses outputs over the 100 MiB cap of a build\'s outputs (a sparse file hashed once, never written into a work tree)', () => {
    const big = zeros(forgerResults(), 101 * 1024 * 1024);
    const value = rawTree(forgerResults(), [['100644', 'big.bin', big]]);
    refusedFromRemote(rawTree(forgerResults(), [['100644', 'key.json', keyBlob], ['100644', 'log', logBlob], ['40000', 'value', value]]),
      /its outputs total 101\.0 MiB, over the 100\.0 MiB cap a build's outputs obey/);
  });

  it('refuses a log over the cap a build\'s log is kept under', () => {
    const log = zeros(forgerResults(), 17 * 1024 * 1024);
    refusedFromRemote(rawTree(forgerResults(), [['100644', 'key.json', keyBlob], ['100644', 'log', log]]), /its log is 17\.0 MiB, over the 16\.1 MiB a build's log is capped at/);
  });

  /**
   * A tree that the real `git fsck --strict` rejects with `fsckId` (on `flagged`, a tree under it): on the
   * remote, its result alone fails to be fetched (git checks what it receives), naming it; already fetched,
   * it is refused with `reason` when adopted.
   */
  const fsckRejected = (entries: readonly (readonly [string, string, string])[], fsckId: string, reason: RegExp, flagged?: string): void => {
    const tree = rawTree(forgerResults(), entries);
    const fsck = spawnSync('git', [`--git-dir=${forgerResults()}`, 'fsck', '--strict', '--no-dangling', tree], { env: ENV, encoding: 'utf8' });
    assert.match(fsck.stderr, new RegExp(`tree ${flagged ?? tree}: ${fsckId}`), 'git fsck reports it');
    const commit = forge(tree);
    gitIn(forgerResults(), 'push', '-q', '--force', remote, `${commit}:refs/datakit-ci/${entry}`);
    const victim = clone('victim');
    builtHere(victim, commit, ['build', 'test', '--fetch'],
      new RegExp(`warning: The result ${escape(entry)} on origin could not be fetched \\(.*${fsckId}.*\\): it is not used, every other result was fetched`));
    assertFsckClean(results(victim));
    refusedWhenAdopted(tree, reason);
  };
  it('refuses a tree with a bad file mode (fsck: badFilemode) or a zero-padded one (zeroPaddedFilemode)', () => {
    fsckRejected([['100644', 'key.json', keyBlob], ['100666', 'log', logBlob]], 'badFilemode', /log has the mode "100666", not one a build writes/);
    fsckRejected([['100644', 'key.json', keyBlob], ['0100644', 'log', logBlob]], 'zeroPaddedFilemode', /log has the mode "0100644", not one a build writes/);
  });

  it('refuses a tree with duplicate entries (fsck: duplicateEntries)', () => {
    fsckRejected([['100644', 'key.json', keyBlob], ['100644', 'log', logBlob], ['100644', 'log', logBlob]], 'duplicateEntries', /the tree \(root\) holds "log" twice/);
  });

  it('refuses `..` and `.git` names (fsck: hasDotdot, hasDotgit) anywhere in the tree', () => {
    const dotdot = rawTree(forgerResults(), [['100644', '..', logBlob]]);
    fsckRejected([['100644', 'key.json', keyBlob], ['100644', 'log', logBlob], ['40000', 'value', dotdot]], 'hasDotdot', /the tree value holds the name "\.\."/, dotdot);
    const dotgit = rawTree(forgerResults(), [['100644', '.git', logBlob]]);
    fsckRejected([['100644', 'key.json', keyBlob], ['100644', 'log', logBlob], ['40000', 'value', dotgit]], 'hasDotgit', /the tree value holds the name "\.git" \(a git directory\)/, dotgit);
  });

  it('refuses a result whose key.json names another key before the branch is touched: not in its history, not in `history`, never pushed on', () => {
    const other = gitWith({ input: JSON.stringify({ digest: 'f'.repeat(64) }) }, `--git-dir=${forgerResults()}`, 'hash-object', '-w', '--stdin');
    const tree = rawTree(forgerResults(), [['100644', 'key.json', other], ['100644', 'log', logBlob]]);
    const commit = gitIn(forgerResults(), 'commit-tree', tree, '-m', 'Built by a forger');
    gitIn(forgerResults(), 'push', '-q', '--force', remote, `${commit}:refs/datakit-ci/${entry}`);
    const victim = clone('victim');
    const r = cli(victim, 'build', 'test', '--fetch');
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /is not used: its key\.json records another key \(ffffffffffffffff, not [0-9a-f]{16}\); the job builds here/);
    assert.equal(gitIn(results(victim), 'log', '--format=%H', `refs/heads/${entry}`).split('\n').includes(commit), false);
    assert.equal(cli(victim, 'history', 'test', '--json').out.includes(commit), false);
    // The next push, to a remote of its own, sends the victim's own result and not the forged one.
    const share = path.join(tmp, 'share.git');
    git(tmp, 'init', '-q', '--bare', share);
    git(victim, 'remote', 'add', 'share', share);
    assert.equal(cli(victim, 'push', 'share').code, 0);
    assert.notEqual(git(share, 'rev-parse', `refs/datakit-ci/${entry}`), commit);
    assert.notEqual(spawnSync('git', [`--git-dir=${share}`, 'cat-file', '-e', commit], { env: ENV }).status, 0, 'the forged commit never reached the other remote');
  });
});

describe('one bad result, or a remote that is down or hangs, never blocks the build', () => {
  const { remote, clone } = team('broken');
  const entries: Record<string, string> = {};

  before(() => {
    const ci = clone('ci');
    assert.equal(cli(ci, 'build', '--push').code, 1, 'lint fails; all three are pushed');
    for (const job of ['build', 'test', 'lint']) {
      entries[job] = gitIn(results(ci), 'for-each-ref', '--format=%(refname)', `refs/heads/shell/${job}/`).slice('refs/heads/'.length);
    }
  });

  it('a result on the remote whose tree object is missing costs that result only: every other is fetched and adopted, the exit code is the build\'s', () => {
    // Made on the remote itself, as a broken or hostile server would hold it: a commit naming a tree it does not have.
    const missingTree = '0123456789abcdef0123456789abcdef01234567';
    const bad = gitWith({ input: `tree ${missingTree}\nauthor T <t@example.invalid> 1700000000 +0000\ncommitter T <t@example.invalid> 1700000000 +0000\n\nbroken\n` },
      `--git-dir=${remote}`, 'hash-object', '-t', 'commit', '--literally', '-w', '--stdin');
    gitIn(remote, 'update-ref', `refs/datakit-ci/${entries.build}`, bad);
    const victim = clone('victim');
    const before = runs('build');
    const r = cli(victim, 'build', '--fetch', '--json');
    assert.equal(r.code, 1, `lint's fetched failure, as a clean build: ${r.err}`);
    assert.match(r.err, new RegExp(`warning: The result ${escape(entries.build!)} on origin could not be fetched \\(.+\\): it is not used, every other result was fetched`));
    assert.match(r.err, /fetched 2 results from origin/);
    const jobs = JSON.parse(r.out).jobs as { job: string; state: string; cached: boolean; fetchedFrom: string | null }[];
    assert.deepEqual(jobs.map((j) => [j.job, j.state, j.cached, j.fetchedFrom]),
      [['build', 'success', false, null], ['test', 'success', true, 'origin'], ['lint', 'failure', true, 'origin']]);
    assert.equal(runs('build'), before + 1, 'build built here');
    assertFsckClean(results(victim));
  });

  it('a remote that does not exist costs the fetch: the jobs build here, the failure is said, the exit code is the build\'s', () => {
    const victim = clone('down');
    git(victim, 'remote', 'set-url', 'origin', path.join(tmp, 'no-such-remote.git'));
    const before = runs('test');
    const r = cli(victim, 'build', 'test', '--fetch');
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /warning: Could not fetch the results of origin: .*does not appear to be a git repository.*; nothing was fetched, the jobs build here/);
    assert.equal(runs('test'), before + 1);
  });

  it('a remote that hangs is stopped after --timeout (build --fetch --push and status --fetch take it); the jobs build here', () => {
    const victim = clone('hangs');
    git(victim, 'remote', 'add', 'silent', 'ssh://example.invalid/repo.git');
    git(victim, 'config', 'core.sshCommand', 'sleep 30 #');
    const before = runs('test');
    const r = cli(victim, 'build', 'test', '--fetch', '--remote', 'silent', '--timeout', '2');
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /warning: Could not fetch the results of silent: .*git gave no answer in 2 s and was stopped; nothing was fetched, the jobs build here/);
    assert.equal(runs('test'), before + 1);
    const pushed = cli(victim, 'build', 'test', '--push', '--remote', 'silent', '--timeout', '1');
    assert.match(pushed.err, /Could not push the results to silent: .*git gave no answer in 1 s/);
    const status = cli(victim, 'status', '--fetch', '--remote', 'silent', '--timeout', '1');
    assert.equal(status.code, 0, 'lint has no result here (never built): status says so, as without --fetch');
    assert.match(status.err, /warning: Could not fetch the results of silent: .*git gave no answer in 1 s and was stopped; nothing was fetched, the jobs show what this clone has/);
    assert.match(status.out, /test\s+success/);
  });
});
