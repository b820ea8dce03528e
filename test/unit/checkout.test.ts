import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataKitError } from '../../src/shared/errors';
import { buildRoot, jobDirName, prepareBuildDir, repoId } from '../../src/jobs/run/checkout';
import { cacheBaseDir } from '../../src/jobs/platform/cacheDir';
import { SourceRepo } from '../../src/store/source/sourceRepo';
import { gitWith } from '../fixtures';

/** git as the product runs it: no optional locks (a `git status` of the test must not refresh the index). */
const git = (cwd: string, ...args: string[]): string => gitWith({ cwd, env: { GIT_OPTIONAL_LOCKS: '0' } }, ...args);

function commit(dir: string, files: Record<string, string | null>, message: string): string {
  for (const [p, content] of Object.entries(files)) {
    const f = path.join(dir, p);
    if (content === null) { fs.rmSync(f); continue; }
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, content);
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

/** Every file under dir (relative, sorted), without `.git` and the directories listed in `skip`. */
function listFiles(dir: string, skip: string[] = ['.git']): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (skip.includes(p)) { continue; }
      if (e.isDirectory()) { walk(p); } else { out.push(p); }
    }
  };
  walk('');
  return out.sort();
}

/** Path, size, mtime and content digest of every file under a git directory. */
function snapshot(gitDir: string): string[] {
  return listFiles(gitDir).map((p) => {
    const f = path.join(gitDir, p);
    const st = fs.statSync(f);
    return `${p} ${st.size} ${st.mtimeMs} ${createHash('sha1').update(fs.readFileSync(f)).digest('hex')}`;
  });
}

const OLD = new Date('2001-02-03T04:05:06Z');

describe('build directories', () => {
  let tmp: string;
  let dir: string;
  let root: string;
  let repo: SourceRepo;
  let A: string;
  let B: string;

  before(async () => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dkci-co-')));
    dir = path.join(tmp, 'myrepo');
    root = path.join(tmp, 'cache', 'myrepo-x');
    fs.mkdirSync(dir);
    git(dir, 'init', '-q', '-b', 'main');
    A = commit(dir, {
      '.gitignore': 'node_modules/\n', 'keep.txt': 'keep\n', 'change.txt': 'before\n', 'remove.txt': 'remove\n',
      'dir/nested.txt': 'nested\n', 'run.sh': '#!/bin/sh\necho hi\n',
    }, 'A');
    fs.chmodSync(path.join(dir, 'run.sh'), 0o755);
    fs.symlinkSync('keep.txt', path.join(dir, 'link'));
    A = commit(dir, {}, 'A with a link and a script');
    B = commit(dir, { 'change.txt': 'after\n', 'remove.txt': null, 'add.txt': 'added\n' }, 'B');
    repo = await SourceRepo.open(dir);
  });

  after(() => {
    repo.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('where they go', () => {
    it('uses the platform cache directory, or DATAKIT_CI_CACHE_DIR', () => {
      assert.equal(cacheBaseDir({ DATAKIT_CI_CACHE_DIR: '/x/y' }, 'linux', '/home/u'), path.resolve('/x/y'));
      assert.equal(cacheBaseDir({}, 'linux', '/home/u'), path.join('/home/u', '.cache', 'datakit-ci'));
      assert.equal(cacheBaseDir({ XDG_CACHE_HOME: '/xdg' }, 'linux', '/home/u'), path.join('/xdg', 'datakit-ci'));
      assert.equal(cacheBaseDir({ XDG_CACHE_HOME: 'relative' }, 'linux', '/home/u'), path.join('/home/u', '.cache', 'datakit-ci'));
      assert.equal(cacheBaseDir({}, 'darwin', '/Users/u'), path.join('/Users/u', 'Library', 'Caches', 'datakit-ci'));
      assert.equal(cacheBaseDir({ LOCALAPPDATA: 'C:\\L' }, 'win32', 'C:\\U'), path.join('C:\\L', 'datakit-ci'));
    });

    it('names a repository by its folder and a digest of its common dir', () => {
      const digest = (p: string): string => createHash('sha256').update(p).digest('hex').slice(0, 8);
      assert.equal(repoId(repo.commonDir), `myrepo-${digest(path.join(dir, '.git'))}`);
      assert.equal(repoId('/srv/git/Tool Kit.git'), `Tool_Kit-${digest('/srv/git/Tool Kit.git')}`);
      assert.equal(buildRoot('r-1', '/base'), path.join('/base', 'r-1'));
    });

    it('names a job\'s folder by a short digest of its name, never by the name itself', () => {
      const h = (s: string): string => createHash('sha256').update(`job:${s}`).digest('hex').slice(0, 12);
      for (const name of ['build', 'test', 'a/b', 'x.2', '..']) {
        assert.equal(jobDirName(name), h(name));
        assert.match(jobDirName(name), /^[0-9a-f]{12}$/);
      }
      assert.notEqual(jobDirName('a'), jobDirName('b'));
    });
  });

  it('never writes to the user repository: index, HEAD, refs, status and .git are unchanged', async () => {
    fs.writeFileSync(path.join(dir, 'keep.txt'), 'dirty\n'); // a dirty and an untracked file in the user's tree
    fs.writeFileSync(path.join(dir, 'untracked.txt'), 'u\n');
    const gitDir = path.join(dir, '.git');
    const index = fs.readFileSync(path.join(gitDir, 'index'));
    const indexMtime = fs.statSync(path.join(gitDir, 'index')).mtimeMs;
    const before = { files: snapshot(gitDir), head: git(dir, 'rev-parse', 'HEAD'), refs: git(dir, 'for-each-ref'), status: git(dir, 'status', '--porcelain') };
    for (const [i, c] of [A, B, A, B].entries()) {
      const b = await prepareBuildDir({ repo, commit: c, job: 'isolation', root });
      if (i === 1) { fs.writeFileSync(path.join(b.dir, 'keep.txt'), 'modified by a build\n'); }
      await b.release();
    }
    assert.deepEqual(fs.readFileSync(path.join(gitDir, 'index')), index);
    assert.equal(fs.statSync(path.join(gitDir, 'index')).mtimeMs, indexMtime);
    assert.deepEqual(snapshot(gitDir), before.files);
    assert.equal(git(dir, 'rev-parse', 'HEAD'), before.head);
    assert.equal(git(dir, 'for-each-ref'), before.refs);
    assert.equal(git(dir, 'status', '--porcelain'), before.status);
    assert.equal(before.status, ' M keep.txt\n?? untracked.txt');
    assert.equal(fs.existsSync(path.join(gitDir, 'worktrees')), false);
    assert.ok(path.relative(dir, root).startsWith('..'), 'the build root is outside the repository');
    git(dir, 'checkout', '-q', '--', 'keep.txt');
    fs.rmSync(path.join(dir, 'untracked.txt'));
  });

  it('fills a directory with exactly the commit, then updates only what changed', async () => {
    const a = await prepareBuildDir({ repo, commit: A, job: 'build', root });
    assert.equal(a.dir, path.join(root, 'work', jobDirName('build')));
    assert.deepEqual(listFiles(a.dir), ['.gitignore', 'change.txt', 'dir/nested.txt', 'keep.txt', 'link', 'remove.txt', 'run.sh']);
    assert.equal(fs.readlinkSync(path.join(a.dir, 'link')), 'keep.txt');
    assert.equal(fs.statSync(path.join(a.dir, 'run.sh')).mode & 0o111, 0o111);
    assert.equal(fs.statSync(path.join(a.dir, 'keep.txt')).mode & 0o111, 0);
    for (const f of listFiles(a.dir)) { fs.lutimesSync(path.join(a.dir, f), OLD, OLD); }
    fs.mkdirSync(path.join(a.dir, 'node_modules'));
    fs.writeFileSync(path.join(a.dir, 'node_modules', 'x'), 'kept\n');
    fs.writeFileSync(path.join(a.dir, 'add.txt'), 'written by the build\n'); // untracked in A, tracked in B
    await a.release();

    const b = await prepareBuildDir({ repo, commit: B, job: 'build', root });
    assert.equal(b.dir, a.dir);
    assert.deepEqual(listFiles(b.dir), ['.gitignore', 'add.txt', 'change.txt', 'dir/nested.txt', 'keep.txt', 'link', 'node_modules/x', 'run.sh']);
    const mtimes = Object.fromEntries(listFiles(b.dir).map((f) => [f, fs.lstatSync(path.join(b.dir, f)).mtimeMs === OLD.getTime()]));
    assert.deepEqual(mtimes, {
      '.gitignore': true, 'add.txt': false, 'change.txt': false, 'dir/nested.txt': true, 'keep.txt': true, 'link': true,
      'node_modules/x': false, 'run.sh': true,
    });
    assert.equal(fs.readFileSync(path.join(b.dir, 'change.txt'), 'utf8'), 'after\n');
    assert.equal(fs.readFileSync(path.join(b.dir, 'add.txt'), 'utf8'), 'added\n');
    assert.equal(fs.readFileSync(path.join(b.dir, 'node_modules', 'x'), 'utf8'), 'kept\n');

    // A build that modifies and deletes tracked files: the next build gets them back.
    fs.writeFileSync(path.join(b.dir, 'keep.txt'), 'damaged\n');
    fs.rmSync(path.join(b.dir, 'dir'), { recursive: true });
    fs.rmSync(path.join(b.dir, 'link'));
    await b.release();
    const again = await prepareBuildDir({ repo, commit: B, job: 'build', root });
    assert.equal(fs.readFileSync(path.join(again.dir, 'keep.txt'), 'utf8'), 'keep\n');
    assert.equal(fs.readFileSync(path.join(again.dir, 'dir', 'nested.txt'), 'utf8'), 'nested\n');
    assert.equal(fs.readlinkSync(path.join(again.dir, 'link')), 'keep.txt');
    assert.equal(fs.readFileSync(path.join(again.dir, 'node_modules', 'x'), 'utf8'), 'kept\n');
    await again.release();

    const clean = await prepareBuildDir({ repo, commit: A, job: 'build', clean: true, root });
    assert.equal(clean.dir, a.dir);
    assert.deepEqual(listFiles(clean.dir), ['.gitignore', 'change.txt', 'dir/nested.txt', 'keep.txt', 'link', 'remove.txt', 'run.sh']);
    assert.equal(fs.readFileSync(path.join(clean.dir, 'change.txt'), 'utf8'), 'before\n');
    await clean.release();
  });

  it('is a git checkout in which git tells the truth: HEAD, log, index, status, diff, origin and tags', async () => {
    git(dir, 'remote', 'add', 'origin', 'https://example.invalid/team/myrepo.git');
    git(dir, 'tag', '-a', 'v1.0', '-m', 'release', A);
    try {
      const b = await prepareBuildDir({ repo, commit: B, job: 'truth', root });
      const inside = (...args: string[]): string => git(b.dir, ...args);
      assert.equal(inside('rev-parse', 'HEAD'), B);
      assert.equal(inside('rev-parse', '--show-toplevel'), b.dir);
      assert.deepEqual(inside('log', '-2', '--format=%H').split('\n'), [B, A]);
      assert.equal(inside('ls-files'), git(dir, 'ls-tree', '-r', '--name-only', B));
      assert.equal(inside('status', '--porcelain'), '');
      assert.equal(inside('diff', 'HEAD', '--stat'), '');
      assert.equal(inside('diff', '--name-only', 'HEAD~1', 'HEAD'), 'add.txt\nchange.txt\nremove.txt');
      assert.equal(inside('remote', 'get-url', 'origin'), 'https://example.invalid/team/myrepo.git');
      assert.equal(inside('describe', '--tags'), `v1.0-1-g${B.slice(0, 7)}`);
      assert.equal(fs.readFileSync(path.join(b.dir, '.git', 'objects', 'info', 'alternates'), 'utf8'), `${path.join(dir, '.git', 'objects')}\n`);
      // A build that modifies a tracked file: git status says so, and the next checkout puts it back.
      fs.writeFileSync(path.join(b.dir, 'keep.txt'), 'changed by the job\n');
      assert.equal(inside('status', '--porcelain'), ' M keep.txt');
      await b.release();
      const again = await prepareBuildDir({ repo, commit: B, job: 'truth', root });
      assert.equal(git(again.dir, 'status', '--porcelain'), '');
      await again.release();
    } finally {
      git(dir, 'remote', 'remove', 'origin');
      git(dir, 'tag', '-d', 'v1.0');
    }
  });

  it('starts from the commit alone when the previous one is unknown', async () => {
    const a = await prepareBuildDir({ repo, commit: A, job: 'gone', root });
    await a.release();
    fs.writeFileSync(path.join(a.dir, '.git', 'HEAD'), `${'f'.repeat(40)}\n`);
    const b = await prepareBuildDir({ repo, commit: B, job: 'gone', root });
    assert.deepEqual(listFiles(b.dir), ['.gitignore', 'add.txt', 'change.txt', 'dir/nested.txt', 'keep.txt', 'link', 'run.sh']);
    assert.equal(fs.readFileSync(path.join(b.dir, 'change.txt'), 'utf8'), 'after\n');
    assert.equal(fs.readFileSync(path.join(b.dir, '.git', 'HEAD'), 'utf8'), `${B}\n`);
    await b.release();
  });

  it('gives two builds of one job two directories at once, removes the spare one after its build, and gives the first again once free', async () => {
    const [one, two] = await Promise.all([
      prepareBuildDir({ repo, commit: A, job: 'twice', root }),
      prepareBuildDir({ repo, commit: B, job: 'twice', root }),
    ]);
    assert.deepEqual([one.dir, two.dir].sort(), [path.join(root, 'work', jobDirName('twice')), path.join(root, 'work', `${jobDirName('twice')}.2`)]);
    const byCommit = [one, two].map((d) => fs.readFileSync(path.join(d.dir, 'change.txt'), 'utf8'));
    assert.deepEqual(byCommit, ['before\n', 'after\n']);
    await one.release();
    await two.release();
    assert.deepEqual(fs.readdirSync(path.join(root, 'work')).filter((d) => d.startsWith(jobDirName('twice'))), [jobDirName('twice')], 'the spare directory went with its build');
    const next = await prepareBuildDir({ repo, commit: B, job: 'twice', root });
    assert.equal(next.dir, path.join(root, 'work', jobDirName('twice')));
    await next.release();
  });

  it('says UnknownRevision for a commit that does not exist, and frees the directory', async () => {
    await assert.rejects(prepareBuildDir({ repo, commit: 'e'.repeat(40), job: 'bad', root }),
      (e) => DataKitError.is(e, 'UnknownRevision'));
    const ok = await prepareBuildDir({ repo, commit: A, job: 'bad', root });
    assert.equal(ok.dir, path.join(root, 'work', jobDirName('bad')));
    await ok.release();
  });

  it('fills build directories from a bare repository', async () => {
    const bare = path.join(tmp, 'bare.git');
    git(tmp, 'clone', '-q', '--bare', dir, bare);
    const b = await SourceRepo.open(bare);
    try {
      const d = await prepareBuildDir({ repo: b, commit: B, job: 'build', root: path.join(tmp, 'cache', 'bare') });
      assert.deepEqual(listFiles(d.dir), ['.gitignore', 'add.txt', 'change.txt', 'dir/nested.txt', 'keep.txt', 'link', 'run.sh']);
      await d.release();
      assert.deepEqual(fs.readdirSync(bare).includes('index'), false);
    } finally {
      b.dispose();
    }
  });
});
