// `datakit-ci explain`: Explain Key in a terminal — text for a person, `--json` a stable shape — after the
// builds a person makes: of the working tree, then committed; of the working tree, then reverted.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ENV, git, repo, runCli, tempRoot, write } from '../fixtures';

const tmp = tempRoot('cli-explain');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const CLI_ENV = { ...ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache') };

let n = 0;
/** A repository whose job `check` depends on src/ (two files). */
const project = (): string => repo(path.join(tmp, `r${n++}`), { jobs: { check: { run: 'true', inputs: ['src'] } }, files: { 'src/a.txt': 'a\n', 'src/b.txt': 'b\n', 'README.md': 'r\n' } });

const cli = (cwd: string, ...args: string[]): ReturnType<typeof runCli> => runCli(cwd, args, CLI_ENV);

/** Runs the command and expects it to succeed; its output. */
function ok(cwd: string, ...args: string[]): string {
  const r = cli(cwd, ...args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
  return r.out;
}

const BUILT_BY = '\\S+@\\S+ \\([^)]+\\) \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d';

describe('datakit-ci explain', () => {
  it('after a build of the working tree whose changes were then committed: text and --json, the working tree\'s key, then the commit\'s', () => {
    const dir = project();
    const c1 = git(dir, 'rev-parse', 'HEAD');
    ok(dir, 'build');
    write(dir, { 'src/a.txt': 'edited\n' });
    ok(dir, 'build', '--worktree');

    const wt = JSON.parse(ok(dir, 'explain', 'check', '--worktree', '--json'));
    assert.deepEqual(Object.keys(wt), ['job', 'key', 'commit', 'worktree', 'tool', 'result', 'previous', 'inputs', 'runtime', 'keyJson']);
    assert.deepEqual([wt.job, wt.commit, wt.worktree, wt.result.source, wt.result.fromWorktree, wt.result.fetchedFrom], ['check', c1, true, c1, true, null]);
    assert.deepEqual(Object.keys(wt.result), ['commit', 'finishedAt', 'builtBy', 'fetchedFrom', 'verified', 'source', 'fromWorktree']);
    assert.deepEqual(Object.keys(wt.previous), ['key', 'commit', 'worktree', 'build', 'changes']);
    assert.deepEqual(Object.keys(wt.previous.changes), ['tool', 'definition', 'setup', 'needs', 'inputs', 'runtime']);
    assert.deepEqual([wt.previous.commit, wt.previous.worktree], [c1, false]);
    assert.deepEqual(wt.previous.changes.inputs, [{
      input: 'src', unlisted: null, files: { added: [], removed: [], changed: ['src/a.txt'] },
      before: { input: 'src', kind: 'path', id: git(dir, 'rev-parse', `${c1}:src`), files: 2 },
      after: { input: 'src', kind: 'path', id: wt.keyJson.inputs.src, files: 2 },
    }]);
    assert.deepEqual(wt.inputs, [{ input: 'src', kind: 'path', id: wt.keyJson.inputs.src, files: 2 }]);
    assert.equal(wt.keyJson.worktree, true);

    const text = cli(dir, 'explain', 'check', '--worktree');
    assert.equal(text.code, 0);
    assert.equal(text.err, `datakit-ci: explaining the working tree: 1 changed file over HEAD (${c1.slice(0, 7)})\n`);
    assert.match(text.out, new RegExp(`^check @ the working tree over ${c1.slice(0, 7)}: key ${wt.key.slice(0, 16)}\\n`
      + `Result: built by ${BUILT_BY}\\n\\n`
      + `What changed since the previous build \\(key ${wt.previous.key.slice(0, 16)}, built by ${BUILT_BY}, for commit ${c1.slice(0, 7)}\\):\\n`
      + '  definition  unchanged\\n  tool        datakit-ci/[\\d.]+, unchanged\\n'
      + '  input src: 1 changed\\n    changed  src/a.txt\\n\\n'
      + `Inputs:\\n  INPUT  OBJECT ID     FILES\\n  src    ${wt.keyJson.inputs.src.slice(0, 12)}  2\\n\\n`
      + 'The key, as its key.json records it:\\n\\{\\n  "tool": '));
    assert.ok(text.out.endsWith(`  "worktree": true\n}\n`), 'the raw key last');

    // Committed: HEAD's job reuses the result built from the working tree, and compares with the build before.
    git(dir, 'commit', '-qam', 'Edit a');
    const c2 = git(dir, 'rev-parse', 'HEAD');
    const head = JSON.parse(ok(dir, 'explain', 'check', '--json'));
    assert.deepEqual([head.commit, head.worktree, head.key, head.result.commit, head.result.source, head.result.fromWorktree], [c2, false, wt.key, wt.result.commit, c1, true]);
    assert.deepEqual(head.previous.changes.inputs.map((i: { files: unknown }) => i.files), [{ added: [], removed: [], changed: ['src/a.txt'] }]);
    assert.match(ok(dir, 'explain', 'check'), new RegExp(`^check @ commit ${c2.slice(0, 7)}: key ${wt.key.slice(0, 16)}\\nResult: built by ${BUILT_BY}, from the working tree over ${c1.slice(0, 7)}\\n`));
    // The first commit against the build of the working tree over it, whose trees the commit wrote.
    assert.match(ok(dir, 'explain', 'check', '--rev', c1), new RegExp(`\\nWhat changed since the previous build \\(key ${wt.key.slice(0, 16)}, built by ${BUILT_BY}, from the working tree over ${c1.slice(0, 7)}\\):\\n  definition  unchanged\\n  tool  .*\\n  input src: 1 changed\\n    changed  src/a.txt\\n`));
  });

  it('after a build of the working tree whose changes were then reverted: the ids that differ and why its files cannot be listed, exit 0', () => {
    const dir = project();
    const c1 = git(dir, 'rev-parse', 'HEAD');
    ok(dir, 'build');
    write(dir, { 'src/a.txt': 'edited\n' });
    ok(dir, 'build', '--worktree');
    git(dir, 'checkout', '--', 'src/a.txt');
    const e = JSON.parse(ok(dir, 'explain', 'check', '--json'));
    const [input] = e.previous.changes.inputs;
    assert.deepEqual([e.previous.worktree, input.files, input.before.files, input.after.files], [true, null, null, 2]);
    assert.match(input.unlisted, /^The previous build's files cannot be listed: the working tree's changes it was built from \(over [0-9a-f]{7}\) are no longer there: edited again, reverted or never committed\.$/);
    const text = ok(dir, 'explain', 'check');
    assert.ok(text.includes(`  input src: its object id differs: ${input.before.id.slice(0, 12)} → ${git(dir, 'rev-parse', `${c1}:src`).slice(0, 12)}\n    ${input.unlisted}\n`), text);
  });

  it('explains a job never built, and says so; refuses what it cannot explain with the usage exit code', () => {
    const dir = project();
    const fresh = cli(dir, 'explain', 'check');
    assert.equal(fresh.code, 0);
    assert.match(fresh.out, /^check @ commit [0-9a-f]{7}: key [0-9a-f]{16}\nResult: none saved for this key yet\n\nNo other build of check is saved: there is nothing to compare with\.\n\nInputs:\n/);
    assert.equal(fs.existsSync(path.join(dir, '.git', 'datakit-ci')), false, 'explain only reads: it creates no results repository');
    for (const [args, message] of [
      [['explain'], /explain needs exactly one JOB/],
      [['explain', 'nope'], /unknown job: nope \(jobs: check\)/],
      [['explain', 'check', '--worktree', '--rev', 'HEAD~1'], /--worktree explains the working tree's key/],
      [['explain', 'check', '--rev', 'no-such-rev'], /Unknown revision: no-such-rev/],
    ] as const) {
      const r = cli(dir, ...args);
      assert.deepEqual([r.code, r.out], [2, ''], `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, message);
    }
    assert.match(ok(dir, '--help'), /\n {2}explain JOB \[--rev REV \| --worktree\] \[--json\]\n/);
  });

  it('shows a file name\'s control characters escaped, never sent to the terminal', () => {
    const dir = project();
    ok(dir, 'build');
    write(dir, { 'src/\u001b[31mred\u0007.txt': 'x\n' });
    ok(dir, 'build', '--worktree');
    const text = ok(dir, 'explain', 'check', '--worktree');
    assert.ok(text.includes('    added    src/\\u001b[31mred\\u0007.txt\n'), text);
    // eslint-disable-next-line no-control-regex
    assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(text), 'no control character but newlines');
    const json = ok(dir, 'explain', 'check', '--worktree', '--json');
    assert.deepEqual(JSON.parse(json).previous.changes.inputs[0].files.added, ['src/\u001b[31mred\u0007.txt']);
  });
});
