import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, ENV, git, gitIn, repo, runCli, tempRoot } from '../fixtures';

const tmp = tempRoot('cli');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const CLI_ENV = { ...ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache') };

let n = 0;
/** A repository of `jobs` with one input file, src/a.txt. */
const project = (jobs: object): string => repo(path.join(tmp, `r${n++}`), { jobs, files: { 'src/a.txt': 'a\n' } });

const cli = (cwd: string, ...args: string[]): ReturnType<typeof runCli> => runCli(cwd, args, CLI_ENV);

const results = (dir: string) => path.join(dir, '.git', 'datakit-ci');

/** Waits until the clock's next whole second. */
function nextSecond(): void {
  const now = Date.now();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000 - (now % 1000) + 5);
}

describe('the datakit-ci command', () => {
  it('status, build, log and rebuild, with their exit codes and --json shapes', () => {
    const dir = project({ pass: { run: 'echo passing' }, fail: { run: 'echo failing; exit 4' } });
    const head = git(dir, 'rev-parse', 'HEAD');

    const before = cli(dir, 'status', '--json');
    assert.equal(before.code, 0);
    const s0 = JSON.parse(before.out);
    assert.deepEqual(Object.keys(s0), ['rev', 'commit', 'jobs']);
    assert.equal(s0.commit, head);
    assert.deepEqual(s0.jobs.map((j: { job: string; state: string }) => [j.job, j.state]), [['pass', 'not built'], ['fail', 'not built']]);
    assert.deepEqual(Object.keys(s0.jobs[0]).sort(), ['branch', 'builtFor', 'cached', 'commit', 'durationMs', 'builtBy', 'fetchedFrom', 'finishedAt', 'fromWorktree', 'job', 'key', 'message', 'queuedMs', 'reason', 'state', 'verified'].sort());
    assert.equal(s0.jobs[0].cached, null);
    assert.equal(fs.existsSync(results(dir)), false, 'status, which only reads, creates no results repository');
    assert.match(s0.jobs[0].key, /^[0-9a-f]{64}$/);
    assert.match(s0.jobs[0].branch, /^refs\/heads\/shell\/pass\/[0-9a-f]{16}$/);

    const build = cli(dir, 'build', '--json');
    assert.equal(build.code, 1, 'a job failed');
    const b = JSON.parse(build.out);
    const [pass, fail] = b.jobs;
    assert.equal(pass.state, 'success');
    assert.equal(fail.state, 'failure');
    assert.equal(fail.message, 'Command exited with code 4');
    assert.equal(pass.commit, gitIn(results(dir), 'rev-parse', pass.branch));
    assert.ok(pass.durationMs >= 0 && typeof pass.finishedAt === 'string');
    assert.ok(typeof pass.queuedMs === 'number' && pass.queuedMs >= 0, 'the wait for a slot, apart');
    assert.deepEqual([pass.cached, pass.builtFor, fail.cached], [false, null, false], 'built by this command');

    const status = cli(dir, 'status');
    assert.equal(status.code, 1);
    assert.match(status.out, /^main @ [0-9a-f]{7}\nJOB\s+STATE\s+RESULT\s+DURATION\s+FINISHED\s+KEY\s+DETAIL\npass\s+success\s+cached .*\nfail\s+failure\s+cached .*Command exited with code 4\n2 jobs: 0 built, 2 cached, 1 failed\n$/);

    // A cached failure is not retried by build: rebuild does that.
    const again = cli(dir, 'build', 'fail', '--json');
    assert.equal(again.code, 1);
    assert.equal(JSON.parse(again.out).jobs[0].commit, fail.commit);
    assert.equal(gitIn(results(dir), 'rev-list', '--count', fail.branch), '1');

    const log = cli(dir, 'log', 'fail');
    assert.equal(log.code, 0);
    assert.match(log.out, /^=== fail @ [0-9a-f]{7}\n\[[0-9: -]+\] Starting\.\.\.\n(.*\n)*failing\n\[[0-9: -]+\] Failed: Command exited with code 4\n$/);

    const rebuild = cli(dir, 'rebuild', 'fail');
    assert.equal(rebuild.code, 0);
    assert.match(rebuild.out, /marked fail for rebuild/);
    assert.equal(cli(dir, 'build', 'fail').code, 1);
    // The results repository's log reads like a CI history: the job, the source commit, what happened.
    const failed = `fail @ ${head.slice(0, 7)}: failed after \\d+\\.\\d s: Command exited with code 4`;
    assert.match(gitIn(results(dir), 'log', '--format=%s', fail.branch), new RegExp(`^${failed}\\nMarked for rebuild\\n${failed}$`));
    const trailers = gitIn(results(dir), 'log', '-1', '--format=%(trailers:only,unfold)', fail.branch);
    assert.match(trailers, new RegExp(`^Job: fail\\nSource-Commit: ${head}\\nBuilt-By: \\S+@\\S+ \\(${process.platform}-${process.arch}, datakit-ci \\d+\\.\\d+\\.\\d+(, [^)]+)?\\)\\nRun-Time-Ms: \\d+\\nQueue-Time-Ms: \\d+\\nReason: failed$`));
    const previous = cli(dir, 'log', 'fail', '--previous', '1');
    assert.equal(previous.code, 0);
    assert.equal(previous.out, log.out, 'the rebuild mark is not a build: --previous 1 is the first build');
    const tooFar = cli(dir, 'log', 'fail', '--previous', '2');
    assert.deepEqual([tooFar.code, tooFar.err], [3, 'datakit-ci: fail has 2 saved builds; --previous 2 is too far back\n']);
    execFileSync('git', [`--git-dir=${results(dir)}`, 'fsck', '--strict', '--no-progress'], { stdio: 'pipe' });
  });

  it('says, for each job, whether it was built now or reused, and for which commit; a reused failure says so', () => {
    const dir = project({ code: { run: 'echo built', inputs: ['src'] }, lint: { run: 'exit 1', inputs: ['src'] } });
    const first = git(dir, 'rev-parse', 'HEAD');
    const one = cli(dir, 'build');
    assert.equal(one.code, 1);
    assert.match(one.out, /^✔ code {2}built now in \d+\.\d s$/m);
    assert.match(one.out, /^✘ lint: Command exited with code 1$/m);
    assert.match(one.out, /\n2 jobs: 2 built, 0 cached, 1 failed\n$/);
    // A docs-only commit: both results are reused, built for the first commit.
    fs.writeFileSync(path.join(dir, 'README.md'), 'docs\n');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'docs');
    const two = cli(dir, 'build');
    assert.equal(two.code, 1);
    assert.match(two.out, new RegExp(`^✔ code  cached · built for ${first.slice(0, 7)}$`, 'm'));
    assert.match(two.out, new RegExp(`^✘ lint \\(cached failure from just now, built for ${first.slice(0, 7)}\\): Command exited with code 1$`, 'm'));
    assert.match(two.out, /\n2 jobs: 0 built, 2 cached, 1 failed\n$/);
    const json = JSON.parse(cli(dir, 'build', '--json').out);
    assert.deepEqual(json.jobs.map((j: { cached: boolean; builtFor: string }) => [j.cached, j.builtFor]), [[true, first], [true, first]]);
  });

  it('ends a build with the problems the failed jobs\' logs name, from the folder it runs in; all of them in --json', () => {
    const dir = project({
      // A compiler-like job that prints a path inside its build directory, and one with a declared matcher.
      check: { run: 'echo "$PWD/src/a.txt:1:2: error: broken"; echo "src/nowhere.txt:3:1: error: not a file of the commit"; exit 1', inputs: ['src'] },
      types: { run: 'echo "src/a.txt(1,1): error TS2322: Type mismatch."; exit 2', inputs: ['src'], problemMatcher: '$tsc' },
      fine: { run: 'echo "src/a.txt:1:1: error: only a pass"', inputs: ['src'] },
    });
    const r = cli(dir, 'build');
    assert.equal(r.code, 1);
    assert.ok(r.out.endsWith('\nProblems in the logs of the failed jobs:\nsrc/a.txt:1:2: error: broken [check]\nsrc/a.txt:1:1: error: Type mismatch. [types]\n'), r.out);
    const inSrc = cli(path.join(dir, 'src'), 'build', 'check');
    assert.match(inSrc.out, /\na\.txt:1:2: error: broken \[check\]\n$/);
    const json = JSON.parse(cli(dir, 'build', '--json').out);
    assert.deepEqual(json.problems, {
      check: { findings: [{ file: 'src/a.txt', line: 1, column: 2, severity: 'error', message: 'broken' }], total: 1 },
      types: { findings: [{ file: 'src/a.txt', line: 1, column: 1, severity: 'error', message: 'Type mismatch.', code: '2322' }], total: 1 },
    });
  });

  it('shows stderr in the error colour in the saved log of a job that asks for it, without changing its key', () => {
    const dir = project({ marked: { run: 'echo to stdout; echo to stderr >&2', inputs: ['src'], stderr: 'marked' }, merged: { run: 'echo to stdout; echo to stderr >&2', inputs: ['src'] } });
    assert.equal(cli(dir, 'build').code, 0);
    const marked = cli(dir, 'log', 'marked').out;
    assert.ok(marked.includes('\x1b[31mto stderr\x1b[39m\n') && marked.includes('\nto stdout\n'), marked);
    assert.ok(cli(dir, 'log', 'merged').out.includes('\nto stdout\nto stderr\n'), 'merged: plain, in write order');
    // Marked or not, the same key: switching it reuses the result.
    const keys = (): string[] => JSON.parse(cli(dir, 'status', '--json').out).jobs.map((j: { key: string }) => j.key);
    const before = keys();
    fs.writeFileSync(path.join(dir, '.datakit-ci.json'), JSON.stringify({ jobs: { marked: { run: 'echo to stdout; echo to stderr >&2', inputs: ['src'] }, merged: { run: 'echo to stdout; echo to stderr >&2', inputs: ['src'], stderr: 'marked' } } }));
    git(dir, 'commit', '-qam', 'swap');
    assert.deepEqual(keys(), before);
  });

  it('lists a job\'s builds across commits with history: newest first, its commit and subject, its result and who built it', () => {
    const dir = project({ code: { run: 'cat src/a.txt; grep -q a src/a.txt', inputs: ['src'] } });
    const first = git(dir, 'rev-parse', 'HEAD');
    assert.equal(cli(dir, 'build').code, 0);
    nextSecond(); // results are ordered by their commits' times, which git keeps in whole seconds
    fs.writeFileSync(path.join(dir, 'src', 'a.txt'), 'b\n');
    git(dir, 'commit', '-qam', 'Break the parser');
    const second = git(dir, 'rev-parse', 'HEAD');
    assert.equal(cli(dir, 'build').code, 1);
    assert.equal(cli(dir, 'rebuild', 'code').code, 0);
    assert.equal(cli(dir, 'build').code, 1);

    const json = cli(dir, 'history', 'code', '--json');
    assert.equal(json.code, 0);
    const h = JSON.parse(json.out);
    assert.equal(h.job, 'code');
    assert.deepEqual(h.builds.map((b: { source: string; sourceSubject: string; result: string; failure?: string }) => [b.source, b.sourceSubject, b.result, b.failure]), [
      [second, 'Break the parser', 'failure', 'Command exited with code 1'],
      [second, 'Break the parser', 'failure', 'Command exited with code 1'],
      [first, 'one', 'success', undefined],
    ], 'the rebuild mark is not a build; the first commit\'s build is listed after the second\'s');
    const [latest] = h.builds;
    assert.equal(latest.commit, gitIn(results(dir), 'rev-parse', latest.ref));
    assert.ok(Number.isInteger(latest.runMs) && Number.isInteger(latest.queuedMs));
    assert.match(latest.builtBy, new RegExp(`\\(${process.platform}-${process.arch}, datakit-ci [^)]+\\)$`));
    assert.ok(Date.parse(latest.finished) >= Date.parse(latest.started));

    const text = cli(dir, 'history', 'code', '-n', '2');
    assert.equal(text.code, 0);
    const lines = text.out.trimEnd().split('\n');
    assert.match(lines[0], /^#\s+FINISHED\s+COMMIT\s+DURATION\s+QUEUED\s+BUILT BY\s+SUBJECT \/ FAILURE$/);
    assert.equal(lines.length, 3, 'a heading and -n 2 builds');
    assert.match(lines[1], new RegExp(`^1\\s+✘ .* ${second.slice(0, 7)} .* Break the parser — Command exited with code 1$`));

    assert.deepEqual(cli(dir, 'history', 'nope').code, 3, 'a job never built');
    assert.deepEqual(cli(dir, 'history', 'code', '-n', '0').code, 2);
    assert.deepEqual(cli(dir, 'history').code, 2);
  });

  it('marks where each job broke on a branch whose base already fails another, and says that one was failing before', () => {
    const dir = project({ lint: { run: '! grep -q bad src/a.txt', inputs: ['src'] }, docs: { run: '! grep -q bad README.md', inputs: ['README.md'] } });
    fs.writeFileSync(path.join(dir, 'README.md'), 'docs\n');
    fs.appendFileSync(path.join(dir, 'src', 'a.txt'), 'bad\n');
    git(dir, 'commit', '-qam', 'lint fails on main');
    assert.equal(cli(dir, 'build').code, 1, 'main: lint fails, docs passes');
    git(dir, 'checkout', '-qb', 'feat');
    const commit = (file: string, text: string, subject: string): string => {
      fs.appendFileSync(path.join(dir, file), text);
      git(dir, 'add', '-A');
      git(dir, 'commit', '-qm', subject);
      return git(dir, 'rev-parse', 'HEAD');
    };
    const c1 = commit('src/b.txt', 'b\n', 'Innocent');
    const c2 = commit('README.md', 'bad\n', 'Break the docs');
    const c3 = commit('src/a.txt', 'more\n', 'More');
    const built = cli(dir, 'build', '--range', 'main..feat');
    assert.equal(built.code, 1);
    const rows = built.out.slice(built.out.indexOf('COMMIT')).split('\n');
    assert.match(rows[1], new RegExp(`^${c3.slice(0, 7)}\\s+✘\\s+✘\\s+More$`));
    assert.match(rows[2], new RegExp(`^${c2.slice(0, 7)}\\s+✘\\s+✘\\s+Break the docs  ← first failing: docs$`));
    assert.match(rows[3], new RegExp(`^${c1.slice(0, 7)}\\s+✘\\s+✓\\s+Innocent$`), 'the branch\'s first commit is not marked');
    assert.match(built.out, new RegExp(`the first failing commit is ${c2.slice(0, 7)} \\(docs\\)\nlint was already failing at ${git(dir, 'rev-parse', '--short=7', 'main')}, before the range\n`));
    const s = JSON.parse(cli(dir, 'status', '--range', 'main..feat', '--json').out);
    assert.deepEqual([s.firstFailing, s.firstFailingByJob, s.alreadyFailing], [c2, { docs: { commit: c2, before: 'passed' } }, ['lint']]);
  });

  it('builds every commit of a range once per distinct key, shows commits × jobs and finds the first failing commit', () => {
    const ran = path.join(tmp, 'ran-range');
    const dir = project({ code: { run: `cat src/a.txt; echo run >> ${ran}`, inputs: ['src'] }, lint: { run: '! grep -q bad src/a.txt', inputs: ['src'] } });
    git(dir, 'checkout', '-qb', 'feat');
    const commit = (file: string, text: string, subject: string): string => {
      fs.appendFileSync(path.join(dir, file), text);
      git(dir, 'add', '-A');
      git(dir, 'commit', '-qm', subject);
      return git(dir, 'rev-parse', 'HEAD');
    };
    const c1 = commit('src/a.txt', 'one\n', 'One');
    const c2 = commit('src/a.txt', 'bad\n', 'Break it');
    const c3 = commit('README.md', 'docs\n', 'Docs only');

    const built = cli(dir, 'build', '--range', 'main..feat');
    assert.equal(built.code, 1, 'a commit of the range fails');
    const rows = built.out.slice(built.out.indexOf('COMMIT')).split('\n');
    assert.match(rows[0], /^COMMIT\s+code\s+lint\s+SUBJECT$/);
    assert.match(rows[1], new RegExp(`^${c3.slice(0, 7)}\\s+✓\\s+✘\\s+Docs only$`));
    assert.match(rows[2], new RegExp(`^${c2.slice(0, 7)}\\s+✓\\s+✘\\s+Break it  ← first failing: lint$`));
    assert.match(rows[3], new RegExp(`^${c1.slice(0, 7)}\\s+✓\\s+✓\\s+One$`));
    assert.match(built.out, new RegExp(`3 commits: 1 passed, 2 failed; the first failing commit is ${c2.slice(0, 7)} \\(lint\\)`));
    assert.match(built.out, /^4 distinct keys for 3 commits: 0 cached, 4 to build$/m, 'keys, not commits: the docs-only commit shares its two');
    assert.match(built.out, /, and for 1 more commit with the same inputs \(\d of 4\)/, 'the docs-only commit shares its keys');
    // Three commits, two distinct trees of src: the code job ran twice, and each entry has one build.
    assert.equal(fs.readFileSync(ran, 'utf8'), 'run\n'.repeat(2), 'two runs of code');
    const codeBranches = gitIn(results(dir), 'for-each-ref', '--format=%(refname)', 'refs/heads/shell/code/').split('\n');
    assert.equal(codeBranches.length, 2);

    const status = cli(dir, 'status', '--range', 'main..feat', '--json');
    assert.equal(status.code, 1);
    const s = JSON.parse(status.out);
    assert.equal(s.firstFailing, c2);
    assert.deepEqual([s.firstFailingByJob, s.alreadyFailing, s.base], [{ lint: { commit: c2, before: 'passed' } }, [], git(dir, 'rev-parse', 'main')]);
    assert.deepEqual(s.commits.map((c: { commit: string; config: string; jobs: { job: string; state: string; cached: boolean }[] }) => [c.commit, c.config, c.jobs.map((j) => `${j.job}:${j.state}:${j.cached}`)]), [
      [c3, 'own', ['code:success:true', 'lint:failure:true']],
      [c2, 'own', ['code:success:true', 'lint:failure:true']],
      [c1, 'own', ['code:success:true', 'lint:success:true']],
    ]);
    assert.equal(cli(dir, 'status', '--range', `${c2}..feat`).code, 1, 'the docs commit reuses the failure of lint');
    assert.equal(cli(dir, 'status', '--range', `main..${c1}`).code, 0);

    for (const [args, message] of [
      [['--range', 'feat'], /Not a range of commits: 'feat'/],
      [['--range', 'nope..feat'], /Unknown revision: nope/],
      [['--range', 'main..feat', '--rev', 'main'], /takes no --rev/],
    ] as const) {
      const r = cli(dir, 'status', ...args);
      assert.deepEqual([r.code, r.out], [2, ''], args.join(' '));
      assert.match(r.err, message);
    }
    const empty = cli(dir, 'build', '--range', 'feat..main');
    assert.deepEqual([empty.code, empty.err], [0, 'datakit-ci: feat..main has no commits: nothing to build\n']);
  });

  it('asks before building more than 50 commits (--yes answers), and uses the newest configuration for commits without one', () => {
    const ran = path.join(tmp, 'ran-many');
    const dir = project({ code: { run: `echo built >> ${ran}`, inputs: ['src'] } });
    const one = git(dir, 'rev-parse', 'HEAD');
    git(dir, 'checkout', '-q', '--orphan', 'bare');
    git(dir, 'rm', '-rqf', '.');
    fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src', 'a.txt'), 'b\n');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'no configuration');
    const bare = git(dir, 'rev-parse', 'HEAD');
    git(dir, 'checkout', '-q', 'main');
    git(dir, 'merge', '-q', '--allow-unrelated-histories', '-s', 'ours', '-m', 'merge', 'bare');
    for (let i = 0; i < 51; i++) { git(dir, 'commit', '-q', '--allow-empty', '-m', `empty ${i}`); }
    const refused = cli(dir, 'build', '--range', `${one}..main`);
    assert.equal(refused.code, 2);
    assert.match(refused.err, /has 53 commits, more than 50; nothing was built \(--yes builds them all/);
    assert.equal(fs.existsSync(ran), false, 'nothing ran');
    const shown = cli(dir, 'status', '--range', `${one}..main`);
    assert.match(shown.err, /has 53 commits; showing the newest 50 \(--yes shows them all\)/);
    assert.equal(shown.out.split('\n').filter((l) => /^[0-9a-f]{7} /.test(l)).length, 50);

    const yes = cli(dir, 'build', '--range', `${one}..main`, '--yes', '--json');
    assert.equal(yes.code, 0, yes.err);
    assert.match(yes.err, new RegExp(`1 commit has no \\.datakit-ci\\.json \\(${bare.slice(0, 7)}\\): using the one of [0-9a-f]{7}, the newest on the range`));
    const out = JSON.parse(yes.out);
    assert.equal(out.commits.length, 53);
    assert.equal(out.commits.find((c: { commit: string }) => c.commit === bare).config, `from ${out.commits[0].commit}`);
    assert.equal(fs.readFileSync(ran, 'utf8'), 'built\n'.repeat(2), 'one key per distinct src tree: the first commit\'s and the others\'');
  });

  it('says which folder is in the way when the results repository\'s place holds something else', () => {
    const dir = project({ a: { run: 'true' } });
    fs.mkdirSync(path.join(results(dir), 'junk'), { recursive: true });
    const r = cli(dir, 'build');
    assert.equal(r.code, 4, 'the machine\'s state, not bad usage');
    assert.match(r.err, /^datakit-ci: \S+datakit-ci is in the way of the results repository: it is not a git repository and is not empty \(\w+\)\. Move it away: the results repository is made again on the next build\n$/);
    assert.doesNotMatch(r.err, /not inside a git repository/);
  });

  it('never creates the results repository for a read-only command, and exits 3 for a log never built', () => {
    const dir = project({ only: { run: 'true' } });
    const log = cli(dir, 'log', 'only');
    assert.deepEqual([log.code, log.err], [3, `datakit-ci: only has not been built for ${git(dir, 'rev-parse', '--short=7', 'HEAD')} (\`history only\` lists every saved build; \`log only --build N\` reads one)\n`]);
    assert.equal(cli(dir, 'status').code, 0);
    assert.equal(fs.existsSync(results(dir)), false);
  });

  it('says one clear sentence in a repository without commits, and in a folder outside any repository', () => {
    const empty = path.join(tmp, 'no-commits');
    fs.mkdirSync(empty);
    git(empty, 'init', '-q');
    const r = cli(empty, 'build');
    assert.deepEqual([r.code, r.err], [2, 'datakit-ci: this repository has no commit yet: datakit-ci builds commits, so commit something first\n']);
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'dkci-nowhere-'));
    try {
      const o = runCli(outside, ['status'], { ...CLI_ENV, GIT_CEILING_DIRECTORIES: path.dirname(outside) });
      assert.deepEqual([o.code, o.err], [2, `datakit-ci: ${outside} is not inside a git repository; datakit-ci builds the commits of a repository, so run it in one\n`]);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('says which configuration runs when the working copy\'s differs; --config runs another on any commit', () => {
    const dir = project({ a: { run: 'echo from-commit' } });
    fs.writeFileSync(path.join(dir, '.datakit-ci.json'), JSON.stringify({ jobs: { a: { run: 'echo from-working-copy' }, typo: { run: 'true', inputs: ['srcc'] } } }));
    const committed = cli(dir, 'build', '--verbose');
    assert.equal(committed.code, 0);
    assert.match(committed.err, /^datakit-ci: note: your \.datakit-ci\.json differs from the one committed at [0-9a-f]{7}, which is what runs; `--worktree` builds your working tree with yours \(`--config \.datakit-ci\.json` runs yours on HEAD\)\ndatakit-ci: note: built HEAD \([0-9a-f]{7}\); 1 uncommitted change is not part of it \(`datakit-ci build --worktree` builds them\)\n$/);
    assert.match(committed.out, /\nfrom-commit\n/);
    const mine = cli(dir, 'build', 'a', '--config', '.datakit-ci.json', '--verbose');
    assert.equal(mine.code, 0, mine.err);
    assert.match(mine.out, /\nfrom-working-copy\n/);
    assert.match(mine.err, /^datakit-ci: building HEAD \([0-9a-f]{7}\) with the jobs of \.datakit-ci\.json, not those of its own \.datakit-ci\.json\n/);
    assert.match(mine.err, /^\.datakit-ci\.json:1:\d+: warning: Input "srcc" of job "typo" matches nothing at [0-9a-f]{7}: the job is not rebuilt when such files appear or change\n/m);
    const keys = (args: string[]): string[] => JSON.parse(cli(dir, 'status', '--json', ...args).out).jobs.map((j: { key: string }) => j.key);
    assert.notEqual(keys(['--config', '.datakit-ci.json'])[0], keys([])[0], 'the key covers the definition used');
    // A commit older than any configuration.
    git(dir, 'checkout', '-q', '--orphan', 'old');
    git(dir, 'rm', '-q', '-r', '-f', '--cached', '.');
    git(dir, 'commit', '-q', '--allow-empty', '-m', 'no config');
    const none = cli(dir, 'build');
    assert.equal(none.code, 2);
    assert.match(none.err, /HEAD \([0-9a-f]{7}\) has no \.datakit-ci\.json; `--config FILE` builds it with the jobs of another file\n$/);
    const given = cli(dir, 'build', 'a', '--config', '.datakit-ci.json');
    assert.equal(given.code, 0, given.err);
    assert.match(given.err, /^datakit-ci: building HEAD \([0-9a-f]{7}\) with the jobs of \.datakit-ci\.json, it has no \.datakit-ci\.json of its own\n/);
  });

  it('says so when asked to rebuild a job never built, and rejects bad usage with exit 2', () => {
    const dir = project({ only: { run: 'true' } });
    const r = cli(dir, 'rebuild', 'only');
    assert.equal(r.code, 0);
    assert.match(r.out, /only has never been built/);
    assert.equal(cli(dir, 'build', 'nope').code, 2);
    assert.match(cli(dir, 'build', 'nope').err, /unknown job: nope/);
    assert.equal(cli(dir, 'status', '--bogus').code, 2);
    assert.equal(cli(dir, 'frob').code, 2);
    assert.equal(cli(tmp, 'status').code, 2, 'not a repository');
  });

  it('exits 2 and runs nothing for a broken .datakit-ci.json, printing each error with its position', () => {
    const dir = project({ ok: { run: 'true' } });
    fs.writeFileSync(path.join(dir, '.datakit-ci.json'), '{ "jobs": { "ok": { "run": 1 } }, }\n');
    git(dir, 'commit', '-qam', 'broken');
    const r = cli(dir, 'build');
    assert.equal(r.code, 2);
    assert.match(r.err, /^\.datakit-ci\.json:1:\d+: .+/m);
    assert.match(r.err, /nothing was run/);
    assert.equal(gitIn(results(dir), 'for-each-ref'), '');
  });

  it('builds a job once when two processes build it at once', async () => {
    const counter = path.join(tmp, 'counter');
    const dir = project({ once: { run: `echo run >> '${counter}'; sleep 1.5; echo done` } });
    const run = () => new Promise<{ code: number; out: string }>((resolve) => {
      const c = spawn(process.execPath, [CLI, 'build', '--json'], { cwd: dir, env: CLI_ENV });
      let out = '';
      c.stdout.on('data', (d) => { out += d; });
      c.on('close', (code) => resolve({ code: code ?? -1, out }));
    });
    const [a, b] = await Promise.all([run(), run()]);
    assert.equal(a.code, 0);
    assert.equal(b.code, 0);
    assert.equal(fs.readFileSync(counter, 'utf8'), 'run\n', 'the job ran once');
    assert.equal(JSON.parse(a.out).jobs[0].commit, JSON.parse(b.out).jobs[0].commit);
  });

});

describe('the command line\'s output', () => {
  it('prefixes every line of interleaved logs, wherever the chunks split them', async () => {
    const { prefixLines } = await import('../../src/cli/build.js');
    let out = '';
    const write = prefixLines('[a] ', { out: (t) => { out += t; }, err: () => {}, isTTY: false });
    for (const chunk of ['one\ntw', 'o\n', '', 'th', 'ree', '\n\nfour']) { write(chunk); }
    assert.equal(out, '[a] one\n[a] two\n[a] three\n[a] \n[a] four');
  });

  it('ends quietly when its reader goes away (`datakit-ci log JOB | head -c 10`)', () => {
    const dir = project({ chatty: { run: 'seq 1 200000' } });
    assert.equal(cli(dir, 'build').code, 0);
    const r = spawnSync('/bin/sh', ['-c', `"${process.execPath}" "${CLI}" log chatty | head -c 10`], { cwd: dir, env: CLI_ENV, encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.equal(r.stdout, '=== chatty');
    assert.equal(r.stderr, '');
  });
});

describe('the command line\'s start (dist/cli.js)', () => {
  it('keeps V8\'s compiled code in the cache directory, a cache per command written after its first three runs that ran no job, rewrites a cache it cannot use, and runs without one', () => {
    const dir = project({ pass: { run: 'true' } });
    const cacheDir = path.join(tmp, 'code-cache-test');
    const env = { ...CLI_ENV, DATAKIT_CI_CACHE_DIR: cacheDir };
    const run = (command = 'status'): void => {
      const r = runCli(dir, [command, '--json'], env);
      assert.equal(r.code, 0, r.err);
      assert.equal(JSON.parse(r.out).jobs[0].job, 'pass');
      assert.equal(r.err, '');
    };
    const caches = (): string[] => fs.readdirSync(path.join(cacheDir, 'code-cache')).sort();
    const bytes = (file: string): Buffer => fs.readFileSync(path.join(cacheDir, 'code-cache', file));

    run();
    const [first] = caches();
    assert.match(first!, /^cli-[0-9a-f]{16}-status-1\.bin$/);
    assert.ok(bytes(first!).length > 10_000, `${bytes(first!).length} bytes of compiled code`);
    const id = first!.slice(0, 'cli-'.length + 16);
    // Each of the next two runs writes it again, with what it compiled too; then it is left alone.
    run();
    assert.deepEqual(caches(), [`${id}-status-2.bin`]);
    run();
    assert.deepEqual(caches(), [`${id}-status-3.bin`]);
    const third = bytes(`${id}-status-3.bin`);
    fs.utimesSync(path.join(cacheDir, 'code-cache', `${id}-status-3.bin`), new Date(0), new Date(0));
    run();
    assert.deepEqual(caches(), [`${id}-status-3.bin`]);
    assert.equal(fs.statSync(path.join(cacheDir, 'code-cache', `${id}-status-3.bin`)).mtimeMs, 0, 'not written again');
    assert.deepEqual(bytes(`${id}-status-3.bin`), third);
    // Another command has its own: a short command run first does not stand for build's. A build that ran a job
    // keeps none (what running jobs compiled would slow every cached build); the cached build after it writes one.
    run('build');
    assert.deepEqual(caches(), [`${id}-status-3.bin`], 'a build that ran a job');
    run('build');
    assert.deepEqual(caches(), [`${id}-build-1.bin`, `${id}-status-3.bin`], 'a cached build');

    // One of another build (an older version) is removed; a damaged one is written anew, as the first.
    fs.writeFileSync(path.join(cacheDir, 'code-cache', 'cli-0000000000000000-status-3.bin'), 'old');
    fs.writeFileSync(path.join(cacheDir, 'code-cache', `${id}-status-3.bin`), 'not a code cache');
    run();
    assert.deepEqual(caches(), [`${id}-build-1.bin`, `${id}-status-1.bin`]);
    assert.ok(bytes(`${id}-status-1.bin`).length > 10_000, 'written again');

    // A cache directory that cannot be written: the command runs all the same.
    fs.rmSync(path.join(cacheDir, 'code-cache'), { recursive: true });
    fs.writeFileSync(path.join(cacheDir, 'code-cache'), 'a file where the folder would be');
    run();
  });
});
