// Results that travel through the repository's own remote: a bare repository on disk stands for it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { appendingJobs, ENV, git, gitIn, gitWith, makeTeam, runCli, runCliAsync, tempRoot, type Team } from '../fixtures';
import { assertFsckClean } from './storeHelpers';

const tmp = tempRoot('share');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The command line in a clone, with a cache folder of its own; `ci`: as a GitHub Actions runner would run it. */
function cliEnv(cwd: string): NodeJS.ProcessEnv {
  const ci = path.basename(cwd) === 'ci' ? { CI: 'true', GITHUB_ACTIONS: 'true' } : { CI: '', GITHUB_ACTIONS: '' };
  return { ...ENV, ...ci, DATAKIT_CI_CACHE_DIR: path.join(tmp, `cache-${path.basename(cwd)}`) };
}
const cli = (cwd: string, ...args: string[]): ReturnType<typeof runCli> => runCli(cwd, args, cliEnv(cwd));
/** The command line without blocking this process (a server of the test must answer it meanwhile). */
const cliAsync = (cwd: string, ...args: string[]): ReturnType<typeof runCliAsync> => runCliAsync(cwd, args, cliEnv(cwd));

const results = (dir: string): string => path.join(dir, '.git', 'datakit-ci');
const ran = path.join(tmp, 'ran');
const runs = (): string[] => (fs.existsSync(ran) ? fs.readFileSync(ran, 'utf8').split('\n').filter(Boolean) : []);

/** A bare "origin" with one commit of three jobs (each appends its name to `ran`; lint fails), and clones of it. */
const team = (): Team => makeTeam(tmp, 'sharing', appendingJobs(ran));

describe('sharing results through the repository\'s remote', () => {
  const { remote, clone } = team();

  it('a CI clone builds and pushes; another clone fetches and gets every job as a hit without running anything', () => {
    const ci = clone('ci');
    const built = cli(ci, 'build', '--push');
    assert.equal(built.code, 1, 'lint fails (a failure is a result too, and is shared)');
    assert.match(built.err, /pushed to origin: 3 sent, 0 already there/);
    assert.deepEqual(runs().sort(), ['build', 'lint', 'test']);
    // Under refs/datakit-ci/: no ordinary clone or fetch downloads them.
    assert.equal(git(remote, 'for-each-ref', '--format=%(refname)', 'refs/datakit-ci/').split('\n').length, 3);
    assert.equal(git(remote, 'for-each-ref', '--format=%(refname)', 'refs/heads/'), 'refs/heads/main');

    const editor = clone('editor');
    assert.equal(git(editor, 'for-each-ref', '--format=%(refname)').includes('datakit-ci'), false, 'a clone does not get them');
    const before = runs().length;
    const fetched = cli(editor, 'build', '--fetch', '--json');
    assert.equal(fetched.code, 1);
    assert.match(fetched.err, /fetched 3 results from origin \(3 new or moved\)/);
    assert.equal(runs().length, before, 'no command ran');
    const jobs = JSON.parse(fetched.out).jobs;
    assert.deepEqual(jobs.map((j: { job: string; state: string; cached: boolean; fetchedFrom: string }) => [j.job, j.state, j.cached, j.fetchedFrom]),
      [['build', 'success', true, 'origin'], ['test', 'success', true, 'origin'], ['lint', 'failure', true, 'origin']]);
    assert.match(jobs[0].builtBy, new RegExp(`^\\S+@\\S+ \\(${process.platform}-${process.arch}, datakit-ci \\d+\\.\\d+\\.\\d+, GitHub Actions\\)$`), 'the machine that built it: the CI runner');
    assert.match(cli(editor, 'status').out, /build\s+success\s+cached · fetched from origin, unverified, built by \S+ \([^)]+, GitHub Actions\)/);
    // Adopted: the entry's own branch now points at the fetched result, so a rebuild continues its history.
    const ref = jobs[0].branch;
    assert.equal(gitIn(results(editor), 'rev-parse', ref), gitIn(results(ci), 'rev-parse', ref));
    assert.equal(cli(editor, 'rebuild', 'build').code, 0);
    assert.equal(cli(editor, 'build', 'build').code, 0);
    assert.equal(gitIn(results(editor), 'rev-list', '--count', ref), '3', 'fetched build, rebuild mark, new build');
    assertFsckClean(results(editor));
  });

  it('fetches from and pushes to the remote --remote names, never origin then', () => {
    const mine = clone('mine');
    const share = path.join(tmp, 'share.git');
    git(tmp, 'init', '-q', '--bare', share);
    git(mine, 'remote', 'add', 'share', share);
    fs.appendFileSync(path.join(mine, 'src', 'a.txt'), 'mine\n');
    git(mine, 'commit', '-qam', 'mine');
    const originRefs = git(remote, 'for-each-ref', '--format=%(refname)', 'refs/datakit-ci/');
    const r = cli(mine, 'build', 'build', '--push', '--remote', 'share');
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /pushed to share: 1 sent, 0 already there/);
    assert.equal(git(share, 'for-each-ref', '--format=%(refname)', 'refs/datakit-ci/').split('\n').length, 1);
    assert.equal(git(remote, 'for-each-ref', '--format=%(refname)', 'refs/datakit-ci/'), originRefs, 'origin untouched');
    assert.match(cli(mine, 'build', 'build', '--fetch', '--remote', 'share').err, /fetched 1 result from share/);
    assert.equal(cli(mine, 'build', '--remote', 'share').code, 2, '--remote alone is a usage error');
  });

  it('never overwrites another machine\'s result on the remote, and says so without failing', () => {
    const other = clone('other');
    fs.appendFileSync(path.join(other, 'src', 'a.txt'), 'b\n');
    git(other, 'commit', '-qam', 'two');
    assert.equal(cli(other, 'build', 'build').code, 0);
    const again = clone('again');
    fs.appendFileSync(path.join(again, 'src', 'a.txt'), 'b\n');
    git(again, 'commit', '-qam', 'two, made again elsewhere');
    assert.equal(cli(again, 'build', 'build').code, 0, 'same tree: the same key, built on two machines');
    assert.match(cli(other, 'push').out, /^pushed to origin: \d+ results? sent/);
    const second = cli(again, 'push');
    assert.equal(second.code, 0, second.err);
    assert.match(second.out, /1 left as origin has them from another machine/);
    const key = fs.readdirSync(path.join(results(other), 'refs', 'heads', 'shell', 'build')).find((e) => !fs.existsSync(path.join(results(path.join(tmp, 'ci')), 'refs', 'heads', 'shell', 'build', e)));
    assert.ok(key);
    assert.equal(git(remote, 'rev-parse', `refs/datakit-ci/shell/build/${key}`), gitIn(results(other), 'rev-parse', `refs/heads/shell/build/${key}`), 'the first machine\'s result stays');
  });

  it('says clearly when the remote does not exist, and loses nothing', () => {
    const lone = clone('lone');
    assert.equal(cli(lone, 'build', 'test').code, 0);
    const refs = gitIn(results(lone), 'for-each-ref');
    for (const cmd of ['push', 'fetch']) {
      const r = cli(lone, cmd, 'nowhere');
      assert.equal(r.code, 4, 'a remote that fails is the machine\'s failure, not bad usage');
      assert.match(r.err, new RegExp(`^datakit-ci: Could not ${cmd === 'push' ? 'push the results to' : 'fetch the results of'} nowhere: 'nowhere' does not appear to be a git repository`));
    }
    assert.equal(gitIn(results(lone), 'for-each-ref'), refs);
    assert.equal(cli(lone, 'push', '../x').code, 2, 'not a remote name');
  });

  it('refuses clearly when the remote declines the push', () => {
    const hooked = path.join(tmp, 'declining.git');
    git(tmp, 'clone', '-q', '--bare', remote, hooked);
    fs.writeFileSync(path.join(hooked, 'hooks', 'pre-receive'), '#!/bin/sh\necho "results are not welcome here" >&2\nexit 1\n', { mode: 0o755 });
    const one = clone('one');
    assert.equal(cli(one, 'build', 'test').code, 0);
    git(one, 'remote', 'add', 'declining', hooked);
    const declined = cli(one, 'push', 'declining');
    assert.equal(declined.code, 4);
    assert.match(declined.err, /^datakit-ci: Could not push the results to declining: .*results are not welcome here/m);
  });

  it('lets two machines push the same key at once: one sends it, the other finds it there, neither fails', async () => {
    // The remote holds each push in its pre-receive hook until both have arrived (each leaves a file with the
    // ref updates it was sent): the two pushes are at the remote at the same time, then both update the ref.
    const meeting = path.join(tmp, 'meeting.git');
    const arrived = path.join(tmp, 'arrived');
    fs.mkdirSync(arrived);
    git(tmp, 'clone', '-q', '--bare', remote, meeting);
    fs.writeFileSync(path.join(meeting, 'hooks', 'pre-receive'), `#!/bin/sh
cat > '${arrived}/'$$
i=0
while [ "$(ls '${arrived}' | wc -l)" -lt 2 ]; do
  i=$((i + 1))
  if [ $i -gt 1200 ]; then echo 'the other push never arrived at the remote' >&2; exit 1; fi
  sleep 0.05
done
`, { mode: 0o755 });
    const [x, y] = [clone('x'), clone('y')];
    for (const d of [x, y]) {
      fs.writeFileSync(path.join(d, 'src', 'same.txt'), 'same\n');
      git(d, 'add', '-A');
      git(d, 'commit', '-qm', 'same tree');
      assert.equal(cli(d, 'build', 'build').code, 0);
      git(d, 'remote', 'add', 'meeting', meeting);
    }
    const [ref] = gitIn(results(x), 'for-each-ref', '--format=%(refname)').split('\n');
    const entry = ref!.slice('refs/heads/'.length);
    assert.deepEqual(gitIn(results(y), 'for-each-ref', '--format=%(refname)').split('\n'), [ref], 'the same key, one result each');
    const made = [x, y].map((d) => gitIn(results(d), 'rev-parse', ref!));
    assert.notEqual(made[0], made[1], 'built on each machine: two different results');

    const both = await Promise.all([x, y].map((d) => cliAsync(d, 'push', 'meeting')));
    assert.deepEqual(both.map((b) => b.code), [0, 0], both.map((b) => b.err).join(''));
    const hooks = fs.readdirSync(arrived).map((f) => fs.readFileSync(path.join(arrived, f), 'utf8').trim()).sort();
    assert.deepEqual(hooks, made.map((c) => `${'0'.repeat(40)} ${c} refs/datakit-ci/${entry}`).sort(), 'both pushes were at the remote together, each creating the key');
    const sent = both.findIndex((b) => b.out === 'pushed to meeting: 1 result sent, 0 already there\n');
    assert.ok(sent >= 0, `one sends it: ${both.map((b) => b.out).join(' | ')}`);
    assert.equal(both[1 - sent]!.out, 'pushed to meeting: 0 results sent, 0 already there, 1 left as meeting has them from another machine\n', 'the other finds it there');
    assert.equal(gitIn(meeting, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/datakit-ci/'), `refs/datakit-ci/${entry} ${made[sent]}`, 'the remote holds one result: the one sent');
    assertFsckClean(meeting);
  });

  it('does not use a fetched result whose commit is missing: it warns and builds', () => {
    const lost = clone('lost');
    assert.equal(cli(lost, 'fetch').code, 0);
    const job = JSON.parse(cli(lost, 'status', '--json').out).jobs.find((j: { job: string }) => j.job === 'test');
    const entry = job.branch.slice('refs/heads/'.length);
    assert.ok(fs.existsSync(path.join(results(lost), 'refs', 'fetched', 'origin', ...entry.split('/'))), 'CI\'s result was fetched');
    // …and its commit is lost (a damaged fetch): the ref names an object the repository does not have.
    fs.writeFileSync(path.join(results(lost), 'refs', 'fetched', 'origin', ...entry.split('/')), `${'1'.repeat(40)}\n`);
    const before = runs().filter((r) => r === 'test').length;
    const r = cli(lost, 'build', 'test');
    assert.equal(r.code, 0);
    assert.match(r.err, new RegExp(`warning: The result fetched from origin for ${entry.replace(/\//g, '\\/')} \\(commit 111111111111\\) is not used: it cannot be read \\(.*\\); the job builds here`));
    assert.equal(r.err.split('cannot be read').length, 2, 'said once');
    assert.equal(runs().filter((x) => x === 'test').length, before + 1);
  });

  it('says so when the remote wants credentials it does not get, or does not answer in time; nothing is lost', async () => {
    const lone = clone('creds');
    assert.equal(cli(lone, 'build', 'test').code, 0);
    const refs = gitIn(results(lone), 'for-each-ref');
    // An HTTP remote that asks for a password: no prompt (nobody is there to answer), a clear failure.
    const server = http.createServer((_req, res) => { res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="results"' }); res.end(); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      git(lone, 'remote', 'add', 'locked', `http://127.0.0.1:${(server.address() as AddressInfo).port}/repo.git`);
      const r = await cliAsync(lone, 'fetch', 'locked');
      assert.equal(r.code, 4);
      assert.match(r.err, /^datakit-ci: Could not fetch the results of locked: .*(Authentication failed|could not read Username|terminal prompts disabled)/m);
    } finally {
      server.close();
    }
    // A remote that never answers (an ssh that hangs): stopped after --timeout.
    git(lone, 'remote', 'add', 'silent', 'ssh://example.invalid/repo.git');
    git(lone, 'config', 'core.sshCommand', 'sleep 30 #');
    const started = Date.now();
    const slow = cli(lone, 'push', 'silent', '--timeout', '1');
    assert.equal(slow.code, 4);
    assert.match(slow.err, /Could not push the results to silent: .*git gave no answer in 1 s and was stopped/);
    assert.ok(Date.now() - started < 25_000, 'stopped, not waited out');
    assert.equal(gitIn(results(lone), 'for-each-ref'), refs, 'nothing lost');
  });

  it('does not use a fetched result whose key.json is another key\'s, or whose commit is missing: it builds', () => {
    const forged = clone('forged');
    const other = clone('forger');
    assert.equal(cli(other, 'build', 'test').code, 0);
    // On the remote, test's entry now holds a result whose key.json records a different key.
    const testRef = gitIn(results(other), 'for-each-ref', '--format=%(refname)', 'refs/heads/shell/test/');
    const entry = testRef.slice('refs/heads/'.length);
    const stdin = (input: string, ...args: string[]): string => gitWith({ input }, `--git-dir=${results(other)}`, ...args);
    const keyBlob = stdin(JSON.stringify({ digest: 'f'.repeat(64) }), 'hash-object', '-w', '--stdin');
    const logBlob = stdin('forged\n', 'hash-object', '-w', '--stdin');
    const tree = stdin(`100644 blob ${keyBlob}\tkey.json\n100644 blob ${logBlob}\tlog\n`, 'mktree');
    const commit = gitIn(results(other), 'commit-tree', tree, '-m', 'forged');
    gitIn(results(other), 'push', '-q', '--force', remote, `${commit}:refs/datakit-ci/${entry}`);
    const before = runs().filter((r) => r === 'test').length;
    const r = cli(forged, 'build', 'test', '--fetch');
    assert.equal(r.code, 0);
    assert.match(r.err, /is not used: its key\.json records another key \(ffffffffffffffff, not [0-9a-f]{16}\); the job builds here/);
    assert.equal(gitIn(results(forged), 'log', '--format=%H', testRef).split('\n').includes(commit), false, 'refused before it touched the branch');
    assert.equal(runs().filter((x) => x === 'test').length, before + 1, 'built here');
    assertFsckClean(results(forged));
  });
});

describe('a skipped job\'s record travels as what it is', () => {
  it('a clone that fetches the record of a job skipped because its need failed shows it skipped, with no warning; its build skips it again', () => {
    const skipRan = path.join(tmp, 'ran-skip');
    const { remote, clone } = makeTeam(tmp, 'skipped', {
      a: { run: `echo a >> '${skipRan}'; exit 1`, inputs: ['src'] },
      b: { run: `echo b >> '${skipRan}'`, inputs: ['src'], needs: ['a'] },
    });
    const ci = cli(clone('ci'), 'build', '--push');
    assert.equal(ci.code, 1);
    assert.match(ci.out, /b\s+failure\s+skipped/);
    assert.match(ci.err, /pushed to origin: 2 sent/);
    assert.equal(git(remote, 'for-each-ref', '--format=%(refname)', 'refs/datakit-ci/shell/b/').split('\n').length, 1, 'the skipped record is on the remote');

    const editor = clone('editor');
    const status = cli(editor, 'status', '--fetch', '--json');
    assert.equal(status.code, 1);
    assert.doesNotMatch(status.err, /warning/, status.err);
    const shown = (out: string): string[][] => (JSON.parse(out) as { jobs: { job: string; state: string; reason: string | null; message: string | null }[] }).jobs
      .map((j) => [j.job, j.state, String(j.reason), String(j.message)]);
    assert.deepEqual(shown(status.out)[1], ['b', 'failure', 'skipped', 'Skipped: needs a (failed)']);
    const build = cli(editor, 'build', '--fetch', '--json');
    assert.equal(build.code, 1);
    assert.doesNotMatch(build.err, /warning/, build.err);
    assert.deepEqual(shown(build.out).map(([job, state, reason]) => [job, state, reason]), [['a', 'failure', 'failed'], ['b', 'failure', 'skipped']]);
    assert.deepEqual(fs.readFileSync(skipRan, 'utf8').split('\n').filter(Boolean), ['a'], 'a ran once, on the CI clone; b never ran');
  });

  it('a fetched result with no key.json that only claims to be skipped (it holds outputs) is still refused', () => {
    const { remote, clone } = makeTeam(tmp, 'fakeskip', { c: { run: 'echo c', inputs: ['src'] } });
    const other = clone('maker');
    assert.equal(cli(other, 'build').code, 0);
    const entry = gitIn(results(other), 'for-each-ref', '--format=%(refname)', 'refs/heads/shell/c/').slice('refs/heads/'.length);
    const stdin = (input: string, ...args: string[]): string => gitWith({ input }, `--git-dir=${results(other)}`, ...args);
    const blob = (text: string): string => stdin(text, 'hash-object', '-w', '--stdin');
    const value = stdin(`100644 blob ${blob('payload\n')}\ta.txt\n`, 'mktree');
    const tree = stdin(`100644 blob ${blob('Skipped: needs x (failed)')}\tfailure\n100644 blob ${blob('log\n')}\tlog\n040000 tree ${value}\tvalue\n`, 'mktree');
    const commit = gitIn(results(other), 'commit-tree', tree, '-m', 'c @ 0000000: failed: Skipped: needs x (failed)\n\nReason: skipped');
    gitIn(results(other), 'push', '-q', '--force', remote, `${commit}:refs/datakit-ci/${entry}`);
    const r = cli(clone('reader'), 'build', '--fetch');
    assert.equal(r.code, 0);
    assert.match(r.err, /is not used: it has no key\.json; the job builds here/);
  });
});
