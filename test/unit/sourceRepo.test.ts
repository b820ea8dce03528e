import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataKitError } from '../../src/shared/errors';
import { SourceRepo } from '../../src/store/source/sourceRepo';
import { listTargets } from '../../src/jobs/targets';
import { locateRepository, readHead, readRef } from '../../src/store/source/gitDirs';
import { isObjectId, OBJECT_ID, shortId } from '../../src/shared/objectId';
import { codeOf, git } from '../fixtures';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function write(dir: string, file: string, data: string | Buffer): void {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), data);
}

const BINARY = Buffer.concat([Buffer.from('line 1\nline 2\r\n\0\0'), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from('\n')]);
const BIG = Buffer.alloc(3 * 1024 * 1024 + 7, 'x\n\0');

// Every behaviour holds whether objects are read in this process or through git cat-file.
for (const inProcess of [true, false]) {
  describe(`SourceRepo (objects read ${inProcess ? 'in this process' : 'through git'})`, () => {
  let tmp: string;
  let dir: string;
  let repo: SourceRepo;
  let first: string;
  let second: string;

  before(async () => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dkci-src-')));
    process.env.GIT_CEILING_DIRECTORIES = tmp; // a non-repository dir must not find a repository above tmp
    dir = path.join(tmp, 'repo');
    fs.mkdirSync(dir);
    git(dir, 'init', '-q', '-b', 'main');
    write(dir, 'README.md', '# r\n');
    write(dir, 'src/a.txt', 'a\n');
    first = (git(dir, 'add', '-A'), git(dir, 'commit', '-q', '-m', 'one'), git(dir, 'rev-parse', 'HEAD'));
    write(dir, 'src/b.txt', 'b\n');
    write(dir, 'with space/naïve ✓.txt', 'unicode\n');
    write(dir, 'bin/data.bin', BINARY);
    write(dir, 'bin/big.bin', BIG);
    git(dir, 'add', '-A');
    git(dir, 'update-index', '--add', '--cacheinfo', `160000,${'1'.repeat(40)},vendor/lib`);
    git(dir, 'commit', '-q', '-m', 'two');
    second = git(dir, 'rev-parse', 'HEAD');
    git(dir, 'branch', 'feature', first);
    git(dir, 'branch', 'a/b', first);
    git(dir, 'update-ref', 'refs/datakit-ci/shell/x', first);
    repo = await SourceRepo.open(path.join(dir, 'src'), { inProcess });
    assert.equal(repo.readsInProcess, inProcess);
  });

  after(() => {
    repo.dispose();
    delete process.env.GIT_CEILING_DIRECTORIES;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('open', () => {
    it('finds the work tree, git dir and common dir from a subdirectory', () => {
      assert.equal(repo.topLevel, dir);
      assert.equal(repo.gitDir, path.join(dir, '.git'));
      assert.equal(repo.commonDir, path.join(dir, '.git'));
    });

    it('opens a linked worktree, whose git dir differs from the common dir', async () => {
      const wt = path.join(tmp, 'wt');
      git(dir, 'worktree', 'add', '-q', '--detach', wt, first);
      const w = await SourceRepo.open(wt, { inProcess });
      try {
        assert.equal(w.topLevel, wt);
        assert.equal(w.gitDir, path.join(dir, '.git', 'worktrees', 'wt'));
        assert.equal(w.commonDir, path.join(dir, '.git'));
        assert.deepEqual(await w.head(), { commit: first });
      } finally {
        w.dispose();
        git(dir, 'worktree', 'remove', '--force', wt);
      }
    });

    it('opens a bare repository, which has no work tree', async () => {
      const bare = path.join(tmp, 'bare.git');
      git(tmp, 'clone', '-q', '--bare', dir, bare);
      const b = await SourceRepo.open(bare, { inProcess });
      try {
        assert.equal(b.topLevel, undefined);
        assert.equal(b.gitDir, bare);
        assert.equal(b.commonDir, bare);
        assert.equal(await b.resolve('main'), second);
        assert.deepEqual(await b.readFile(second, 'src/b.txt'), Buffer.from('b\n'));
      } finally {
        b.dispose();
      }
    });

    it('says NotARepository, naming the directory, outside a repository or for a missing directory', async () => {
      const plain = path.join(tmp, 'plain');
      fs.mkdirSync(plain);
      await assert.rejects(SourceRepo.open(plain), (e: DataKitError) => e.code === 'NotARepository' && e.message === `Not a git repository: ${plain}`);
      const missing = path.join(tmp, 'missing');
      await assert.rejects(SourceRepo.open(missing), (e: DataKitError) => e.code === 'NotARepository' && e.message.includes(missing));
    });

    it('says GitNotFound when there is no git on the PATH', () => {
      const script = `require(${JSON.stringify(path.join(ROOT, 'out/src/store/source/sourceRepo.js'))}).SourceRepo.open(${JSON.stringify(dir)})`
        + '.then(() => console.log("opened"), (e) => console.log(e.code))';
      const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, PATH: '' }, encoding: 'utf8' });
      assert.equal(out.trim(), 'GitNotFound');
    });
  });

  describe('revisions and branches', () => {
    it('resolves revisions to commits, and says UnknownRevision otherwise', async () => {
      assert.equal(await repo.resolve('main'), second);
      assert.equal(await repo.resolve('HEAD~1'), first);
      assert.equal(await repo.resolve(second.slice(0, 10)), second);
      assert.equal(await codeOf(repo.resolve('nope')), 'UnknownRevision');
      assert.equal(await codeOf(repo.resolve('--all')), 'UnknownRevision');
      assert.equal(await codeOf(repo.resolve(`${second}^{tree}`)), 'UnknownRevision');
    });

    it('reads HEAD on a branch, detached, and on an unborn branch', async () => {
      assert.deepEqual(await repo.head(), { commit: second, branch: 'main' });
      const other = path.join(tmp, 'detached');
      git(tmp, 'clone', '-q', dir, other);
      git(other, 'checkout', '-q', '--detach', first);
      const d = await SourceRepo.open(other);
      const unborn = path.join(tmp, 'unborn');
      git(tmp, 'init', '-q', '-b', 'trunk', unborn);
      const u = await SourceRepo.open(unborn);
      try {
        assert.deepEqual(await d.head(), { commit: first });
        assert.equal(await u.head(), undefined);
        assert.deepEqual(await u.branches(), []);
        assert.deepEqual(await listTargets(u, { branches: true }), []);
        assert.deepEqual(await listTargets(d, { branches: true }), [
          { name: 'HEAD', commit: first, isHead: true, label: `HEAD @ ${first.slice(0, 7)}` },
          { name: 'main', commit: second, isHead: false, label: `main @ ${second.slice(0, 7)}` },
        ]);
      } finally {
        d.dispose();
        u.dispose();
      }
    });

    it('lists local branches only', async () => {
      assert.deepEqual(await repo.branches(), [
        { name: 'a/b', commit: first }, { name: 'feature', commit: first }, { name: 'main', commit: second },
      ]);
    });

    it('lists targets: HEAD first, then the other branches by name, nothing from refs/datakit-ci', async () => {
      const l = (n: string, c: string): string => `${n} @ ${c.slice(0, 7)}`;
      assert.deepEqual(await listTargets(repo, { branches: true }), [
        { name: 'main', commit: second, isHead: true, label: l('main', second) },
        { name: 'a/b', commit: first, isHead: false, label: l('a/b', first) },
        { name: 'feature', commit: first, isHead: false, label: l('feature', first) },
      ]);
      assert.deepEqual(await listTargets(repo, { branches: false }), [
        { name: 'main', commit: second, isHead: true, label: l('main', second) },
      ]);
    });
  });

  describe('objects', () => {
    it('gives the object id of files, directories, submodules, the root, and undefined for absent paths', async () => {
      const paths = ['src', 'src/a.txt', './src/b.txt', 'src/', 'with space/naïve ✓.txt', 'vendor/lib', 'nope', 'src/nope', 'src/a.txt/x', '.'];
      const ids = await repo.objectIds(second, paths);
      assert.deepEqual([...ids.entries()], [
        ['src', git(dir, 'rev-parse', 'HEAD:src')],
        ['src/a.txt', git(dir, 'rev-parse', 'HEAD:src/a.txt')],
        ['./src/b.txt', git(dir, 'rev-parse', 'HEAD:src/b.txt')],
        ['src/', git(dir, 'rev-parse', 'HEAD:src')],
        ['with space/naïve ✓.txt', git(dir, 'rev-parse', 'HEAD:with space/naïve ✓.txt')],
        ['vendor/lib', '1'.repeat(40)],
        ['nope', undefined],
        ['src/nope', undefined],
        ['src/a.txt/x', undefined],
        ['.', git(dir, 'rev-parse', 'HEAD^{tree}')],
      ]);
      const older = await repo.objectIds(first, ['src', 'src/b.txt']);
      assert.deepEqual([...older.values()], [git(dir, 'rev-parse', 'HEAD~1:src'), undefined]);
      assert.equal(await repo.rootTree(first), git(dir, 'rev-parse', 'HEAD~1^{tree}'));
    });

    it('finds files and folders whose names hold a newline or a carriage return, as git records them', async () => {
      // A commit of its own (no branch: the listings above stay as they are), made as `git add` would.
      const names = ['odd/new\nline.txt', 'odd/cr\r', 'nl\ndir/f.txt'];
      const env = { ...process.env, GIT_INDEX_FILE: path.join(tmp, `odd-index-${inProcess}`) };
      for (const [i, n] of names.entries()) {
        const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: dir, input: `odd ${i}\n`, encoding: 'utf8' }).trim();
        execFileSync('git', ['update-index', '--add', '--cacheinfo', `100644,${blob},${n}`], { cwd: dir, env });
      }
      const tree = execFileSync('git', ['write-tree'], { cwd: dir, env, encoding: 'utf8' }).trim();
      const odd = git(dir, 'commit-tree', tree, '-m', 'odd names');
      const ids = await repo.objectIds(odd, [...names, 'nl\ndir', 'odd/new', 'odd/cr', 'nl\ndir/g']);
      assert.deepEqual([...ids.entries()], [
        ...[...names, 'nl\ndir'].map((n) => [n, git(dir, 'rev-parse', `${odd}:${n}`)]),
        ['odd/new', undefined], ['odd/cr', undefined], ['nl\ndir/g', undefined],
      ]);
      assert.equal((await repo.readFile(odd, 'odd/cr\r'))?.toString('utf8'), 'odd 1\n');
      assert.deepEqual((await repo.listFiles(odd, ['odd', 'nl\ndir'])).map((f) => f.path), ['nl\ndir/f.txt', 'odd/cr\r', 'odd/new\nline.txt']);
    });

    it('refuses paths that cannot be queried, and unknown commits', async () => {
      assert.equal(await codeOf(repo.objectIds(second, ['../x'])), 'InvalidPath');
      assert.equal(await codeOf(repo.readFile(second, 'a\0b')), 'InvalidPath');
      const absent = 'f'.repeat(40);
      assert.equal(await codeOf(repo.objectIds(absent, ['src'])), 'UnknownRevision');
      assert.equal(await codeOf(repo.rootTree(absent)), 'UnknownRevision');
      assert.equal(await codeOf(repo.readFile(absent, 'README.md')), 'UnknownRevision');
      assert.equal(await codeOf(repo.objectIds(git(dir, 'rev-parse', 'HEAD^{tree}'), ['src'])), 'UnknownRevision');
    });

    it('reads files byte for byte, binary and large ones too; a directory or absent path is undefined', async () => {
      assert.deepEqual(await repo.readFile(second, 'bin/data.bin'), BINARY);
      assert.deepEqual(await repo.readFile(second, 'README.md'), Buffer.from('# r\n'));
      const [big, small] = await Promise.all([repo.readFile(second, 'bin/big.bin'), repo.readFile(second, 'with space/naïve ✓.txt')]);
      assert.ok(big!.equals(BIG));
      assert.deepEqual(small, Buffer.from('unicode\n'));
      assert.equal(await repo.readFile(second, 'src'), undefined);
      assert.equal(await repo.readFile(second, 'nope'), undefined);
      assert.equal(await repo.readFile(first, 'src/b.txt'), undefined);
    });

    it('lists the files of a commit under folders, with their modes and ids, as git ls-tree does', async () => {
      const fromGit = (bases: string[]): { path: string; oid: string; mode: string }[] => git(dir, 'ls-tree', '-r', '-z', '--full-tree', second, '--', ...bases)
        .split('\0').filter(Boolean).map((l) => ({ path: l.slice(l.indexOf('\t') + 1), oid: l.split(' ')[2].split('\t')[0], mode: l.split(' ')[0] }))
        .sort((a, b) => (a.path < b.path ? -1 : 1));
      assert.deepEqual(await repo.listFiles(second, ['']), fromGit([]));
      assert.deepEqual(await repo.listFiles(second, ['src', 'bin/data.bin', 'vendor']), fromGit(['src', 'bin/data.bin', 'vendor']));
      assert.deepEqual(await repo.listFiles(second, ['nope']), []);
      assert.equal((await repo.listFiles(second, ['vendor'])).find((f) => f.path === 'vendor/lib')?.mode, '160000');
      // As deep as asked: the root's own files; those of a folder and the folders in it, one level down.
      const depth = (files: { path: string }[], base: string, levels: number): { path: string }[] =>
        files.filter((f) => (base === '' ? f.path : f.path.slice(base.length + 1)).split('/').length <= levels);
      assert.deepEqual(await repo.listFiles(second, [{ base: '', depth: 1 }]), depth(fromGit([]), '', 1));
      assert.deepEqual((await repo.listFiles(second, [{ base: '', depth: 1 }])).map((f) => f.path), ['README.md']);
      assert.deepEqual(await repo.listFiles(second, [{ base: 'bin', depth: 1 }, { base: '', depth: 2 }]), depth(fromGit([]), '', 2));
      assert.deepEqual(await repo.listFiles(second, [{ base: '', depth: 1 }, { base: 'src' }]), [...depth(fromGit([]), '', 1), ...fromGit(['src'])].sort((a, b) => (a.path < b.path ? -1 : 1)));
    });

    it('serves 1,000 queries from one cat-file process, and restarts it if it dies', async () => {
      const r = await SourceRepo.open(dir, { cacheSize: 0, inProcess: false });
      try {
        await r.objectIds(second, ['src']);
        const pid = r.catFilePids.check;
        assert.equal(typeof pid, 'number');
        const want = git(dir, 'rev-parse', 'HEAD:src/a.txt');
        const all = await Promise.all(Array.from({ length: 500 }, () => r.objectIds(second, ['src/a.txt'])));
        for (let i = 0; i < 500; i++) { await r.objectIds(second, ['src/b.txt']); }
        assert.ok(all.every((m) => m.get('src/a.txt') === want));
        assert.equal(r.catFilePids.check, pid);
        process.kill(pid!, 'SIGKILL');
        assert.deepEqual([...(await r.objectIds(second, ['src/a.txt'])).values()], [want]);
        assert.notEqual(r.catFilePids.check, pid);
        assert.equal(typeof r.catFilePids.check, 'number');
      } finally {
        r.dispose();
      }
      assert.deepEqual(r.catFilePids, { check: undefined, contents: undefined });
      assert.equal(await codeOf(r.objectIds(second, ['src'])), 'Disposed');
    });

    it('says the remote URL and the tags as they are now, though it keeps them between calls', async () => {
      const r = await SourceRepo.open(dir, { inProcess });
      const gitDir = path.join(dir, '.git');
      // Files changed long ago (as a settled repository's are): what was read from them is kept.
      const age = (): void => {
        const old = new Date(Date.now() - 3600_000);
        for (const f of ['config', 'packed-refs', 'refs/tags', 'refs/tags/rel']) {
          if (fs.existsSync(path.join(gitDir, f))) { fs.utimesSync(path.join(gitDir, f), old, old); }
        }
      };
      try {
        git(dir, 'remote', 'add', 'origin', 'https://example.invalid/one.git');
        git(dir, 'tag', 'rel/v1', first);
        age();
        assert.equal(await r.remoteUrl('origin'), 'https://example.invalid/one.git');
        assert.match(await r.packedTags(), new RegExp(`^${first} refs/tags/rel/v1$`, 'm'));
        assert.equal(await r.remoteUrl('origin'), 'https://example.invalid/one.git');

        git(dir, 'remote', 'set-url', 'origin', 'https://example.invalid/two.git');
        git(dir, 'tag', 'rel/v2', second); // in a folder beneath refs/tags
        assert.equal(await r.remoteUrl('origin'), 'https://example.invalid/two.git');
        assert.match(await r.packedTags(), new RegExp(`^${second} refs/tags/rel/v2$`, 'm'));
        age();
        await r.packedTags();
        git(dir, 'tag', '-d', 'rel/v1');
        assert.doesNotMatch(await r.packedTags(), /rel\/v1/);
        git(dir, 'tag', '-f', 'rel/v2', first); // moved
        assert.match(await r.packedTags(), new RegExp(`^${first} refs/tags/rel/v2$`, 'm'));
        git(dir, 'pack-refs', '--all');
        git(dir, 'tag', '-d', 'rel/v2');
        assert.doesNotMatch(await r.packedTags(), /rel\/v2/);
      } finally {
        r.dispose();
        for (const t of git(dir, 'tag', '-l', 'rel/*').split('\n').filter((x) => x !== '')) { git(dir, 'tag', '-d', t); }
        git(dir, 'remote', 'remove', 'origin');
      }
    });
  });
});
}

describe('object ids of either hash', () => {
  it('isObjectId takes 40 or 64 lower-case hex digits, or those of one hash', () => {
    const sha1 = 'a'.repeat(40);
    const sha256 = '0123456789abcdef'.repeat(4);
    assert.ok(isObjectId(sha1) && isObjectId(sha256) && OBJECT_ID.test(sha256));
    for (const bad of ['a'.repeat(39), 'a'.repeat(41), 'a'.repeat(63), 'a'.repeat(65), 'A'.repeat(40), `${'a'.repeat(39)}g`, `${sha1}\n`, '']) {
      assert.equal(isObjectId(bad), false, bad);
    }
    assert.equal(isObjectId(sha256, 'sha1'), false);
    assert.equal(isObjectId(sha1, 'sha256'), false);
    assert.equal(shortId(sha256), '0123456');
  });

  it('a SHA-256 repository: HEAD, branches, packed refs, ranges and trees', async () => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dkci-sha256-')));
    try {
      git(dir, 'init', '-q', '--object-format=sha256', '-b', 'main');
      write(dir, 'src/a.txt', 'a\n');
      git(dir, 'add', '-A');
      git(dir, 'commit', '-q', '-m', 'first');
      write(dir, 'src/b.txt', 'b\n');
      git(dir, 'add', '-A');
      git(dir, 'commit', '-q', '-m', 'second');
      const head = git(dir, 'rev-parse', 'HEAD');
      assert.equal(head.length, 64);
      const dirs = locateRepository(dir)!;
      assert.deepEqual(readHead(dirs), { commit: head, branch: 'main' });
      git(dir, 'pack-refs', '--all');
      assert.equal(readRef(dirs, 'refs/heads/main'), head, 'from packed-refs');
      const r = await SourceRepo.open(dir);
      try {
        assert.equal(r.readsInProcess, false, 'another hash is read through git');
        assert.equal(await r.resolve('HEAD'), head);
        const range = await r.rangeCommits('HEAD~1..HEAD', 10);
        assert.deepEqual(range, { commits: [{ commit: head, subject: 'second' }], total: 1 });
        const tree = await r.treeAt(head, 'src');
        assert.deepEqual([...tree!.keys()], ['a.txt', 'b.txt']);
        assert.equal(tree!.get('b.txt')!.oid, git(dir, 'rev-parse', 'HEAD:src/b.txt'));
      } finally {
        r.dispose();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
