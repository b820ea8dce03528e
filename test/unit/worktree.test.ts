// The working tree as a target: its keys are those of a commit of its content, computed without writing
// anything into the user's repository; its builds get its files, and committing it afterwards is a hit.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { SourceRepo } from '../../src/store/source/sourceRepo';
import { scanWorktree, WorktreeOverlay } from '../../src/store/source/worktree';
import { ENV, git, gitWith, repo, runCli, tempRoot } from '../fixtures';

const tmp = tempRoot('wt');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A repository of `files`, committed. */
const project = (files: Record<string, string>): string => repo(path.join(tmp, `r${n++}`), { files });

/** What must not change in the user's repository: the index (bytes and times), its status, its objects, its refs. */
function fingerprint(dir: string): string {
  const index = path.join(dir, '.git', 'index');
  const st = fs.statSync(index);
  return JSON.stringify({
    index: fs.readFileSync(index).toString('base64'), mtime: st.mtimeMs, ctime: st.ctimeMs,
    // With optional locks off, as the product runs it: a plain `git status` would refresh (write) the index.
    status: gitWith({ cwd: dir, env: { GIT_OPTIONAL_LOCKS: '0' } }, 'status', '--porcelain=v2', '--untracked-files=all'),
    objects: git(dir, 'count-objects', '-v'), refs: git(dir, 'for-each-ref'),
    lock: fs.existsSync(`${index}.lock`),
  });
}

/** The trees `git add -A && git write-tree` would make, computed afterwards with a throwaway index. */
function gitTrees(dir: string, paths: string[]): Map<string, string | undefined> {
  const env = { ...ENV, GIT_INDEX_FILE: path.join(tmp, `index-${n++}`) };
  const run = (...args: string[]): string => gitWith({ cwd: dir, env }, ...args);
  run('read-tree', 'HEAD');
  run('add', '-A');
  const tree = run('write-tree');
  return new Map(paths.map((p) => {
    const r = spawnSync('git', ['rev-parse', '--verify', '--quiet', p === '' ? tree : `${tree}:${p}`], { cwd: dir, env, encoding: 'utf8' });
    return [p, r.status === 0 ? r.stdout.trim() : undefined];
  }));
}

/** Two branches that change f.txt each their way, merged: the working tree is left conflicted. Returns merge's exit code. */
function conflictedMerge(dir: string): number | null {
  git(dir, 'checkout', '-qb', 'other');
  fs.writeFileSync(path.join(dir, 'f.txt'), 'theirs\n');
  git(dir, 'commit', '-qam', 'theirs');
  git(dir, 'checkout', '-q', 'main');
  fs.writeFileSync(path.join(dir, 'f.txt'), 'ours\n');
  git(dir, 'commit', '-qam', 'ours');
  return spawnSync('git', ['merge', '-q', 'other'], { cwd: dir, env: ENV }).status;
}

const cli = (cwd: string, ...args: string[]): ReturnType<typeof runCli> => runCli(cwd, args, { ...ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache') });

describe('the working tree read as a commit of it would be', () => {
  it('gives every changed, new, deleted, executable and linked path, and every tree, the id git would commit, writing nothing', async () => {
    const dir = project({
      '.gitignore': 'ignored/\n*.log\n', 'src/a.txt': 'a\n', 'src/b.txt': 'b\n', 'src/deep/c.txt': 'c\n', 'gone/x.txt': 'x\n',
      'docs/index.md': '# docs\n', 'tool.sh': 'echo\n', 'file-then-folder': 'f\n',
    });
    fs.writeFileSync(path.join(dir, 'src', 'a.txt'), 'a changed\n');
    fs.rmSync(path.join(dir, 'src', 'b.txt'));
    fs.rmSync(path.join(dir, 'gone'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'src', 'new', 'deeper'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src', 'new', 'deeper', 'n.txt'), 'new\n');
    fs.chmodSync(path.join(dir, 'tool.sh'), 0o755);
    fs.symlinkSync('src/a.txt', path.join(dir, 'link'));
    fs.mkdirSync(path.join(dir, 'ignored'));
    fs.writeFileSync(path.join(dir, 'ignored', 'big.bin'), 'ignored\n');
    fs.writeFileSync(path.join(dir, 'debug.log'), 'ignored too\n');
    fs.rmSync(path.join(dir, 'file-then-folder'));
    fs.mkdirSync(path.join(dir, 'file-then-folder'));
    fs.writeFileSync(path.join(dir, 'file-then-folder', 'inner.txt'), 'inner\n');
    fs.utimesSync(path.join(dir, 'docs', 'index.md'), new Date(2001, 1, 1), new Date(2001, 1, 1)); // touched, not changed

    const before = fingerprint(dir);
    const source = await SourceRepo.open(dir);
    try {
      const state = await scanWorktree(source);
      assert.deepEqual([...state.changes.keys()], [
        'file-then-folder', 'file-then-folder/inner.txt', 'gone/x.txt', 'link', 'src/a.txt', 'src/b.txt', 'src/new/deeper/n.txt', 'tool.sh',
      ]);
      assert.equal(state.changes.get('src/b.txt'), null);
      assert.equal(state.changes.get('tool.sh')?.mode, '100755');
      assert.equal(state.changes.get('link')?.mode, '120000');
      const overlay = new WorktreeOverlay(source, state);
      const paths = ['', 'src', 'src/deep', 'src/new', 'src/a.txt', 'src/b.txt', 'gone', 'gone/x.txt', 'docs', 'link', 'tool.sh', 'file-then-folder', 'file-then-folder/inner.txt', 'ignored'];
      const ours = await overlay.objectIds(paths);
      assert.equal(await overlay.treeId(''), ours.get(''));
      const listed = await overlay.listFiles([{ base: 'src' }]);
      assert.deepEqual(listed.map((f) => f.path), ['src/a.txt', 'src/deep/c.txt', 'src/new/deeper/n.txt']);
      assert.deepEqual((await overlay.listFiles([{ base: '', depth: 1 }])).map((f) => f.path), ['.gitignore', 'link', 'tool.sh']);
      assert.equal(fingerprint(dir), before, 'the index, its status, the objects and the refs are untouched');
      // Then git, with an index of its own, says what a commit would hold.
      assert.deepEqual(ours, gitTrees(dir, paths));
    } finally {
      source.dispose();
    }
  });

  it('keeps itself current from the paths a watcher reports, as a full scan would', async () => {
    const dir = project({ 'src/a.txt': 'a\n', 'src/b.txt': 'b\n', 'lib/c.txt': 'c\n' });
    const source = await SourceRepo.open(dir);
    try {
      fs.writeFileSync(path.join(dir, 'src', 'a.txt'), 'one\n');
      const first = await scanWorktree(source);
      fs.writeFileSync(path.join(dir, 'src', 'a.txt'), 'a\n'); // back as committed
      fs.writeFileSync(path.join(dir, 'lib', 'c.txt'), 'two\n');
      fs.writeFileSync(path.join(dir, 'lib', 'd.txt'), 'new\n');
      const next = await scanWorktree(source, { previous: first, paths: ['src/a.txt', 'lib'] });
      const full = await scanWorktree(source);
      assert.deepEqual([...next.changes], [...full.changes]);
      assert.deepEqual([...next.changes.keys()], ['lib/c.txt', 'lib/d.txt']);
      assert.equal(await scanWorktree(source, { previous: full, paths: [] }), full, 'nothing reported: nothing read');
      // Files HEAD has, changed, deleted or put back: looked at directly, with the same answer as git status.
      fs.writeFileSync(path.join(dir, 'src', 'b.txt'), 'b changed\n');
      fs.rmSync(path.join(dir, 'src', 'a.txt'));
      fs.writeFileSync(path.join(dir, 'lib', 'c.txt'), 'c\n');
      const quick = await scanWorktree(source, { previous: full, paths: ['src/b.txt', 'src/a.txt', 'lib/c.txt'] });
      assert.deepEqual([...quick.changes], [...(await scanWorktree(source)).changes]);
      assert.deepEqual([...quick.changes.keys()], ['lib/d.txt', 'src/a.txt', 'src/b.txt']);
      assert.equal(quick.changes.get('src/a.txt'), null);
    } finally {
      source.dispose();
    }
  });

  it('refuses a working tree with a conflicted merge and one whose files git cannot read, naming them', async () => {
    const dir = project({ 'f.txt': 'base\n' });
    assert.notEqual(conflictedMerge(dir), 0);
    const source = await SourceRepo.open(dir);
    try {
      await assert.rejects(scanWorktree(source), { code: 'WorktreeConflict', message: /1 unmerged path \(f\.txt\): finish or abort the merge/ });
    } finally {
      source.dispose();
    }
    git(dir, 'merge', '--abort');
    // A clean filter that fails: git cannot say what a commit of that file would hold.
    fs.writeFileSync(path.join(dir, '.gitattributes'), '*.dat filter=broken\n');
    git(dir, 'config', 'filter.broken.clean', 'false');
    git(dir, 'config', 'filter.broken.required', 'true');
    fs.writeFileSync(path.join(dir, 'x.dat'), 'data\n');
    const again = await SourceRepo.open(dir);
    try {
      await assert.rejects(scanWorktree(again), { code: 'WorktreeUnreadable', message: "git could not read the working tree: x.dat: clean filter 'broken' failed" });
    } finally {
      again.dispose();
    }
  });
});

describe('a submodule in the working tree', () => {
  it('counts the commit checked out in it, and says that edits inside it are not part of this repository', async () => {
    const lib = project({ 'lib.txt': 'v1\n' });
    const dir = project({ 'a.txt': 'a\n' });
    git(dir, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', lib, 'lib');
    git(dir, 'commit', '-qm', 'add lib');
    const sub = path.join(dir, 'lib');
    fs.writeFileSync(path.join(sub, 'lib.txt'), 'v2\n');
    git(sub, 'commit', '-qam', 'v2');
    fs.writeFileSync(path.join(sub, 'lib.txt'), 'v3, not committed\n');
    const source = await SourceRepo.open(dir);
    try {
      const state = await scanWorktree(source);
      assert.deepEqual([...state.changes], [['lib', { mode: '160000', oid: git(sub, 'rev-parse', 'HEAD') }]]);
      assert.deepEqual(state.notes, ['Submodule lib: only its checked-out commit counts; edits inside it are not part of this repository\'s commit']);
      assert.equal((await new WorktreeOverlay(source, state).objectIds(['']))?.get(''), gitTrees(dir, [''])?.get(''), 'the tree a commit would have');
    } finally {
      source.dispose();
    }
  });
});

describe('building the working tree', () => {
  it('builds what is being edited with its files, then the commit of it is a hit for every job', () => {
    const dir = project({
      '.datakit-ci.json': JSON.stringify({ jobs: { code: { run: 'cat src/*.txt', inputs: ['src'] }, docs: { run: 'test ! -e src/new.txt && echo docs', inputs: ['docs'] } } }),
      'src/a.txt': 'a\n', 'docs/d.md': 'd\n',
    });
    assert.match(cli(dir, 'build').err, /^$/, 'a clean working tree: no note');
    fs.writeFileSync(path.join(dir, 'src', 'new.txt'), 'brand new\n');
    // Said to a person (a terminal, or --verbose); a script's build starts no git process for it.
    assert.match(cli(dir, 'build').err, /^$/);
    const head = cli(dir, 'build', '--verbose');
    assert.equal(head.code, 0);
    assert.match(head.err, /note: built HEAD \([0-9a-f]{7}\); 1 uncommitted change is not part of it \(`datakit-ci build --worktree` builds them\)/);
    const before = fingerprint(dir);
    const wt = cli(dir, 'build', '--worktree', '--json');
    assert.equal(wt.code, 0, wt.err);
    assert.match(wt.err, /building the working tree: 1 changed file over HEAD \([0-9a-f]{7}\)/);
    const out = JSON.parse(wt.out);
    assert.equal(out.rev, 'working tree');
    const [code, docs] = out.jobs;
    assert.deepEqual([code.cached, docs.cached], [false, true], 'docs did not change: HEAD\'s result');
    assert.match(git(dir, `--git-dir=${path.join(dir, '.git', 'datakit-ci')}`, 'show', `${code.commit}:log`), /a\nbrand new\n/, 'the new file was in the checkout');
    assert.equal(fingerprint(dir), before, 'nothing written into the repository');

    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'add new');
    const committed = cli(dir, 'build', '--json');
    const jobs = JSON.parse(committed.out).jobs;
    assert.deepEqual(jobs.map((j: { cached: boolean }) => j.cached), [true, true], 'an instant hit');
    assert.equal(jobs[0].commit, code.commit);
    assert.equal(jobs[0].fromWorktree, true);
    assert.match(cli(dir, 'build').out, /^✔ code {2}cached · built from the working tree on [0-9a-f]{7}$/m);
    // The same build directory, used for a commit next, has nothing of the working tree left in it.
    fs.writeFileSync(path.join(dir, 'docs', 'd.md'), 'd2\n');
    git(dir, 'rm', '-q', 'src/new.txt');
    git(dir, 'commit', '-qam', 'drop new');
    assert.equal(cli(dir, 'build').code, 0);
  });

  it('builds a working tree whose new and edited files hold a newline or a carriage return in their names; the commit of it is a hit', () => {
    const dir = project({
      '.datakit-ci.json': JSON.stringify({ jobs: { code: { run: 'for f in src/*; do cat "$f"; done', inputs: ['src'] } } }),
      'src/a.txt': 'a\n', 'src/cr\r': 'cr\n',
    });
    assert.equal(cli(dir, 'build').code, 0);
    fs.writeFileSync(path.join(dir, 'src', 'new\nline.txt'), 'new line\n');
    fs.writeFileSync(path.join(dir, 'src', 'cr\r'), 'cr edited\n');
    const wt = cli(dir, 'build', '--worktree', '--json');
    assert.equal(wt.code, 0, wt.err);
    const [code] = JSON.parse(wt.out).jobs;
    assert.equal(code.cached, false);
    assert.match(git(dir, `--git-dir=${path.join(dir, '.git', 'datakit-ci')}`, 'show', `${code.commit}:log`), /a\ncr edited\nnew line\n/, 'both files as edited were in the checkout');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'odd names');
    const [committed] = JSON.parse(cli(dir, 'build', '--json').out).jobs;
    assert.deepEqual([committed.cached, committed.commit], [true, code.commit], 'the commit of it is the same key: a hit');
  });

  it('says so and runs nothing for a conflicted merge; builds HEAD when nothing changed', () => {
    const dir = project({ '.datakit-ci.json': JSON.stringify({ jobs: { code: { run: `echo ran >> ${path.join(tmp, 'ran-conflict')}` } } }), 'f.txt': 'base\n' });
    assert.match(cli(dir, 'build', '--worktree').err, /the working tree does not differ from HEAD \([0-9a-f]{7}\): building HEAD/);
    assert.notEqual(conflictedMerge(dir), 0);
    const r = cli(dir, 'build', '--worktree');
    assert.equal(r.code, 2);
    assert.match(r.err, /unmerged path \(f\.txt\): finish or abort the merge to build it/);
    assert.equal(fs.readFileSync(path.join(tmp, 'ran-conflict'), 'utf8'), 'ran\n', 'only the first build ran');
  });
});
