// The command line on par with the editor: every build `history` lists has a log `log` reads (the working
// tree's too), skipped jobs counted as skipped, a range matrix that fits the terminal, and `restore`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ENV, git, repo, runCli, tempRoot, write } from '../fixtures';

const tmp = tempRoot('cli-parity');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const CLI_ENV = { ...ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache') };

let n = 0;
const dirFor = (): string => path.join(tmp, `r${n++}`);
const cli = (cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof runCli> => runCli(cwd, args, { ...CLI_ENV, ...env });

/** Runs the command and expects it to end with `code`; its output. */
function expect(code: number, cwd: string, ...args: string[]): string {
  const r = cli(cwd, args);
  assert.equal(r.code, code, `${args.join(' ')}: ${r.out}${r.err}`);
  return r.out;
}

describe('the command line on par with the editor', () => {
  it('log reads every build history lists: --worktree for the working tree\'s, --build N for the Nth row of history', () => {
    const dir = repo(dirFor(), { jobs: { say: { run: 'cat msg.txt', inputs: ['msg.txt'] } }, files: { 'msg.txt': 'first build\n' } });
    expect(0, dir, 'build');
    write(dir, { 'msg.txt': 'second build\n' });
    git(dir, 'commit', '-qam', 'two');
    expect(0, dir, 'build');
    write(dir, { 'msg.txt': 'from the working tree\n' });
    expect(0, dir, 'build', '--worktree');

    assert.match(expect(0, dir, 'log', 'say', '--worktree'), /from the working tree/);
    assert.match(expect(0, dir, 'log', 'say'), /second build/);

    // Builds finished within a second of each other may be listed in either order: each row is read by its number.
    const rows = expect(0, dir, 'history', 'say').trimEnd().split('\n');
    assert.match(rows[0]!, /^#\s+FINISHED\s+COMMIT/);
    assert.deepEqual(rows.slice(1).map((r) => r.split(/\s+/)[0]), ['1', '2', '3']);
    const expected = (row: string): RegExp => (/\(working tree\)/.test(row) ? /from the working tree/ : /\btwo$/.test(row) ? /second build/ : /first build/);
    assert.deepEqual(rows.slice(1).map(expected).map(String).sort(), ['/first build/', '/from the working tree/', '/second build/']);
    for (const [i, row] of rows.slice(1).entries()) { assert.match(expect(0, dir, 'log', 'say', '--build', String(i + 1)), expected(row), row); }
    const far = cli(dir, ['log', 'say', '--build', '4']);
    assert.deepEqual([far.code, far.err], [3, 'datakit-ci: say has 3 saved builds; --build 4 is too far back\n']);
  });

  it('a job skipped because a job it needs failed is counted as skipped, with no run time, and --json says why', () => {
    const dir = repo(dirFor(), { jobs: { compile: { run: 'exit 1' }, test: { run: 'true', needs: ['compile'] }, lint: { run: 'true' } } });
    const out = expect(1, dir, 'build');
    assert.match(out, /^3 jobs: 2 built, 0 cached, 1 failed, 1 skipped$/m);
    const test = out.split('\n').find((l) => l.startsWith('test '))!;
    assert.deepEqual(test.split(/\s{2,}/).slice(0, 4), ['test', 'failure', 'skipped', '-']);
    assert.match(out, /^⊘ test: Skipped: needs compile/m);
    const json = JSON.parse(expect(1, dir, 'status', '--json'));
    const byJob = Object.fromEntries(json.jobs.map((j: { job: string }) => [j.job, j]));
    assert.deepEqual([byJob.test.reason, byJob.test.durationMs], ['skipped', null]);
    assert.deepEqual([byJob.compile.reason, byJob.lint.reason], ['failed', null]);
    assert.match(expect(1, dir, 'status'), /^3 jobs: 0 built, 2 cached, 1 failed, 1 skipped$/m);
  });

  it('the range matrix of 17 jobs fits an 80-column terminal, each job named in a legend; --wide draws the full names', () => {
    const jobs = Object.fromEntries(Array.from({ length: 17 }, (_v, i) => [`build-package-number-${i + 1}`, { run: 'true' }]));
    const dir = repo(dirFor(), { jobs });
    write(dir, { 'b.txt': 'b\n' });
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'a second commit whose subject is long enough to need cutting at the edge of the terminal');
    expect(0, dir, 'build', '--range', 'HEAD~1..HEAD', '--json');
    const fitted = expect(0, dir, 'status', '--range', 'HEAD~1..HEAD');
    for (const line of fitted.trimEnd().split('\n')) { assert.ok([...line].length <= 80, `wider than 80: ${line}`); }
    assert.match(fitted, /^COMMIT {3}1 2 3 4 5 6 7 8 9 a b c d e f g h {2}SUBJECT$/m);
    assert.match(fitted, /a second commit whose subject.*…$/m);
    for (const [i, label] of [...'123456789abcdefgh'].entries()) { assert.match(fitted, new RegExp(` ${label} build-package-number-${i + 1}(\\s|$)`)); }
    const wide = expect(0, dir, 'status', '--range', 'HEAD~1..HEAD', '--wide');
    assert.match(wide, /^COMMIT {3}build-package-number-1 {2}build-package-number-2 /m);
    assert.match(wide, /edge of the terminal$/m);
    const narrow = cli(dir, ['status', '--range', 'HEAD~1..HEAD'], { COLUMNS: '500' });
    assert.match(narrow.out, /^COMMIT {3}build-package-number-1 /m, 'a wide terminal gets the full names');
  });

  it('restore writes a cached success\'s outputs into the working tree, asks before overwriting, and never builds', () => {
    const dir = repo(dirFor(), { jobs: { make: { run: 'mkdir -p dist && echo built > dist/app.txt', outputs: ['dist/'] }, bad: { run: 'exit 1' } } });
    fs.writeFileSync(path.join(dir, '.gitignore'), 'dist/\n');
    const never = cli(dir, ['restore', 'make']);
    assert.equal(never.code, 3);
    assert.match(never.err, /make has no saved result for [0-9a-f]{7}; `datakit-ci build make` builds it \(restore never builds\)/);
    assert.equal(fs.existsSync(path.join(dir, 'dist')), false);
    assert.match(expect(0, dir, 'status'), /^make\s+not built/m, 'restore built nothing');

    expect(1, dir, 'build');
    const first = expect(0, dir, 'restore', 'make');
    assert.match(first, /^make: 1 output file to restore into \.\n {2}new {7}dist\/app\.txt\nrestored 1 file of make\n$/);
    assert.equal(fs.readFileSync(path.join(dir, 'dist/app.txt'), 'utf8'), 'built\n');

    fs.writeFileSync(path.join(dir, 'dist/app.txt'), 'my own edit\n');
    const refused = cli(dir, ['restore', 'make']);
    assert.equal(refused.code, 2);
    assert.match(refused.out, /overwrite dist\/app\.txt/);
    assert.match(refused.err, /restoring would overwrite 1 file; nothing was restored \(--yes restores them\)/);
    assert.equal(fs.readFileSync(path.join(dir, 'dist/app.txt'), 'utf8'), 'my own edit\n');
    expect(0, dir, 'restore', 'make', '--yes');
    assert.equal(fs.readFileSync(path.join(dir, 'dist/app.txt'), 'utf8'), 'built\n');

    const failed = cli(dir, ['restore', 'bad']);
    assert.deepEqual([failed.code, failed.err], [3, 'datakit-ci: bad failed: only a success\'s outputs are restored\n']);
  });
});
