// The results repository: locating it, the commit/read round trip, transactions, history and names.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GitStore } from '../../src/store/results';
import { ENV, git, gitIn, tempRoot } from '../fixtures';
import { assertFsckClean, fsckThenRemove, save, text } from './storeHelpers';

describe('locating the results repository', () => {
  let root: string;
  before(() => {
    root = tempRoot('open');
    const repo = path.join(root, 'repo');
    fs.mkdirSync(path.join(repo, 'src', 'deep'), { recursive: true });
    git(repo, 'init', '-q', '-b', 'main');
    fs.writeFileSync(path.join(repo, 'src', 'deep', 'a.txt'), 'a\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'Initial');
    git(repo, 'worktree', 'add', '-q', path.join(root, 'wt'), '-b', 'wt');
    git(root, 'clone', '-q', '--bare', repo, path.join(root, 'bare.git'));
  });
  after(() => fsckThenRemove(root, path.join(root, 'repo', '.git', 'datakit-ci'), path.join(root, 'bare.git', 'datakit-ci')));

  it('creates a bare repository in the common git directory on first use, from a subdirectory', async () => {
    const expected = path.join(root, 'repo', '.git', 'datakit-ci');
    assert.equal(fs.existsSync(expected), false);
    const store = await GitStore.open({ dir: path.join(root, 'repo', 'src', 'deep') });
    assert.equal(store.dir, expected);
    assert.equal(gitIn(expected, 'rev-parse', '--is-bare-repository'), 'true');
    assertFsckClean(expected);
  });

  it('finds the same results repository from the work tree root and from a linked worktree', async () => {
    const expected = path.join(root, 'repo', '.git', 'datakit-ci');
    assert.ok(fs.statSync(path.join(root, 'wt', '.git')).isFile());
    const [a, b] = await Promise.all([GitStore.open({ dir: path.join(root, 'repo') }), GitStore.open({ dir: path.join(root, 'wt') })]);
    assert.equal(a.dir, expected);
    assert.equal(b.dir, expected);
    await save(b, 'build', 'from-worktree', { log: 'wt\n' }, 'Cached successful result');
    assert.equal(text(await (await a.head('build', 'from-worktree'))!.readFile('log')), 'wt\n');
  });

  it('puts it inside a bare repository', async () => {
    const store = await GitStore.open({ dir: path.join(root, 'bare.git') });
    assert.equal(store.dir, path.join(root, 'bare.git', 'datakit-ci'));
    assert.equal(gitIn(store.dir, 'rev-parse', '--is-bare-repository'), 'true');
  });

  it('creates the results repository once when several opens race', async () => {
    const dir = path.join(root, 'racing', 'datakit-ci');
    fs.mkdirSync(path.dirname(dir));
    const stores = await Promise.all(Array.from({ length: 4 }, () => GitStore.open({ resultsDir: dir })));
    assert.deepEqual(stores.map((s) => s.dir), [dir, dir, dir, dir]);
    assert.deepEqual(fs.readdirSync(path.dirname(dir)), ['datakit-ci']);
    assert.equal(gitIn(dir, 'rev-parse', '--is-bare-repository'), 'true');
    assertFsckClean(dir);
  });

  it('fails with NotARepository outside a repository and GitNotFound without git', async () => {
    const plain = path.join(root, 'plain');
    fs.mkdirSync(plain);
    await assert.rejects(GitStore.open({ dir: plain }), { code: 'NotARepository' });
    const saved = process.env.PATH;
    process.env.PATH = path.join(root, 'no-such-dir');
    try {
      await assert.rejects(GitStore.open({ dir: path.join(root, 'repo') }), { code: 'GitNotFound' });
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe('saving and reading results', () => {
  let root: string;
  let store: GitStore;
  const ref = 'refs/heads/build/abc/def';
  before(async () => {
    root = tempRoot('rw');
    store = await GitStore.open({ resultsDir: path.join(root, 'results') });
  });
  after(() => fsckThenRemove(root, store.dir));

  it('commits a result that git reads back: message, files, nested trees, identity, no parent', async () => {
    const c1 = await save(store, 'build', 'abc/def', { log: 'hello\n', 'key.json': '{}', 'value/a/b.txt': 'B', 'value/c.txt': 'C' }, 'Cached successful result');
    assert.equal(gitIn(store.dir, 'rev-parse', ref), c1);
    assert.equal(gitIn(store.dir, 'log', '--format=%s', ref), 'Cached successful result');
    assert.equal(gitIn(store.dir, 'show', `${ref}:log`), 'hello');
    fs.writeFileSync(path.join(root, 'hello.txt'), 'hello\n');
    assert.equal(gitIn(store.dir, 'rev-parse', `${c1}:log`), git(root, 'hash-object', 'hello.txt'));
    assert.equal(gitIn(store.dir, 'ls-tree', '-r', '--name-only', ref), 'key.json\nlog\nvalue/a/b.txt\nvalue/c.txt');
    assert.equal(gitIn(store.dir, 'log', '-1', '--format=%an <%ae>|%cn <%ce>', ref), 'DataKit CI <datakit-ci@localhost>|DataKit CI <datakit-ci@localhost>');
    assert.equal(gitIn(store.dir, 'log', '-1', '--format=%P', ref), '');
    assertFsckClean(store.dir);
  });

  it('chains each new commit on the previous head and applies removals of files and directories', async () => {
    const c1 = gitIn(store.dir, 'rev-parse', ref);
    const c2 = await save(store, 'build', 'abc/def', { value: null, failure: null, 'rebuild-requested': null, log: 'second\n', failure2: null }, 'Cached successful result');
    assert.equal(gitIn(store.dir, 'rev-parse', `${c2}^`), c1);
    assert.equal(gitIn(store.dir, 'ls-tree', '-r', '--name-only', ref), 'key.json\nlog');
    const c3 = await save(store, 'build', 'abc/def', { log: 'third\n', failure: 'boom' }, 'Cached failure: boom');
    assert.equal(gitIn(store.dir, 'rev-parse', `${c3}^`), c2);
    assert.equal(gitIn(store.dir, 'rev-list', '--count', ref), '3');
    assert.equal(gitIn(store.dir, 'log', '--format=%s', ref), 'Cached failure: boom\nCached successful result\nCached successful result');
    // A removal inside a directory keeps its siblings; a staged write after a removal wins.
    await save(store, 'build', 'nested', { 'value/a/x': '1', 'value/a/y': '2', 'value/b': '3' }, 'one');
    await save(store, 'build', 'nested', { 'value/a/x': null, 'value/b/new': '4', 'value/missing/z': null }, 'two');
    assert.equal(gitIn(store.dir, 'ls-tree', '-r', '--name-only', 'build/nested'), 'value/a/y\nvalue/b/new');
    await save(store, 'build', 'nested', { value: null, 'value/only': '5' }, 'three');
    assert.equal(gitIn(store.dir, 'ls-tree', '-r', '--name-only', 'build/nested'), 'value/only');
    await save(store, 'build', 'nested', { 'value/only': null }, 'four');
    assert.equal(gitIn(store.dir, 'ls-tree', '-r', 'build/nested'), '');
  });

  it('reads a head and any older commit as snapshots', async () => {
    const snap = await store.head('build', 'abc/def');
    assert.ok(snap);
    assert.equal(snap.commit, gitIn(store.dir, 'rev-parse', ref));
    assert.equal(snap.ref, ref);
    assert.deepEqual(await snap.paths(), ['failure', 'key.json', 'log']);
    assert.equal(text(await snap.readFile('failure')), 'boom');
    assert.equal(await snap.exists('log'), true);
    assert.equal(await snap.exists('value'), false);
    assert.equal(await snap.exists('log/x'), false);
    await assert.rejects(snap.readFile('value/a/b.txt'), (e: Error & { code: string }) => e.code === 'NotFound' && e.message.includes('value/a/b.txt'));
    const first = store.snapshot(gitIn(store.dir, 'rev-list', '--max-parents=0', ref));
    assert.deepEqual(await first.paths(), ['key.json', 'log', 'value/a/b.txt', 'value/c.txt']);
    assert.equal(text(await first.readFile('value/a/b.txt')), 'B');
    assert.equal(await first.exists('value/a'), true);
    await assert.rejects(first.readFile('value/a'), { code: 'NotFound' });
    assert.equal(await store.head('build', 'never-built'), undefined);
  });

  it('lists history newest first with results, and reads the log of an older commit', async () => {
    const c4 = await store.markForRebuild('build', 'abc/def');
    assert.ok(c4);
    assert.equal(gitIn(store.dir, 'log', '-1', '--format=%s', ref), 'Marked for rebuild');
    assert.equal(gitIn(store.dir, 'cat-file', '-s', `${ref}:rebuild-requested`), '0');
    const commits = gitIn(store.dir, 'rev-list', ref).split('\n');
    const times = gitIn(store.dir, 'log', '--format=%ct', ref).split('\n').map((t) => Number(t) * 1000);
    const starts = gitIn(store.dir, 'log', '--format=%at', ref).split('\n').map((t) => Number(t) * 1000);
    const history = await store.history('build', 'abc/def');
    assert.deepEqual(history, [
      { commit: commits[0], message: 'Marked for rebuild', trailers: {}, result: 'rebuild', time: times[0], started: starts[0] },
      { commit: commits[1], message: 'Cached failure: boom', trailers: {}, result: 'failure', reason: 'failed', failure: 'boom', time: times[1], started: starts[1] },
      { commit: commits[2], message: 'Cached successful result', trailers: {}, result: 'success', time: times[2], started: starts[2] },
      { commit: commits[3], message: 'Cached successful result', trailers: {}, result: 'success', time: times[3], started: starts[3] },
    ]);
    assert.deepEqual((await store.history('build', 'abc/def', { limit: 2 })).map((h) => h.commit), commits.slice(0, 2));
    assert.equal(await store.readLog({ commit: commits[3] }), 'hello\n');
    assert.equal(await store.readLog({ commit: commits[1] }), 'third\n');
    assert.deepEqual(await store.history('build', 'never-built'), []);
  });

  it('reads the subject and trailers of a result\'s message: its run and queue times, its job and source', async () => {
    const tx = store.begin('build', 'timed/one');
    await tx.writeFile('log', 'x\n');
    const c = await tx.commit('lint @ 3babc64: passed in 1.2 s\n\nJob: lint\nSource-Commit: 3babc64\nRun-Time-Ms: 1234\nQueue-Time-Ms: 20000\n');
    const [h] = await store.history('build', 'timed/one');
    assert.equal(h.message, 'lint @ 3babc64: passed in 1.2 s');
    assert.deepEqual(h.trailers, { Job: 'lint', 'Source-Commit': '3babc64', 'Run-Time-Ms': '1234', 'Queue-Time-Ms': '20000' });
    const t = await store.commitTimes(c);
    assert.deepEqual([t.runMs, t.queuedMs], [1234, 20000]);
    assert.equal(gitIn(store.dir, 'log', '-1', '--format=%(trailers:key=Run-Time-Ms,valueonly)', c).trim(), '1234', 'trailers git itself reads');
    // A last paragraph that is not all trailers is none.
    const tx2 = store.begin('build', 'timed/two');
    await tx2.writeFile('log', 'y\n');
    const c2 = await tx2.commit('subject\n\nJob: lint\nnot a trailer\n');
    assert.deepEqual((await store.history('build', 'timed/two'))[0].trailers, {});
    assert.deepEqual(Object.keys(await store.commitTimes(c2)).sort(), ['finished', 'started']);
  });
});

describe('the recent builds of a job across its entries', () => {
  let root: string;
  before(() => { root = tempRoot('recent'); });
  after(() => fs.rmSync(root, { recursive: true, force: true })); // an object is removed on purpose: no fsck

  it('merges every entry\'s history newest first, leaves rebuild marks out and reads old and new subjects', async () => {
    let clock = 1_700_000_000_000;
    const store = await GitStore.open({ resultsDir: path.join(root, 'results'), now: () => clock });
    const at = async (seconds: number, entry: string, message: string): Promise<string> => {
      clock = 1_700_000_000_000 + seconds * 1000;
      return save(store, 'shell', entry, { log: `${entry} at ${seconds}\n` }, message);
    };
    // Two keys of `lint` interleaved in time, one of `test` (another job) and an older-format subject.
    const a1 = await at(10, 'lint/aaaa', 'Cached successful result');
    const b1 = await at(20, 'lint/bbbb', 'lint @ 1111111: failed after 3.0 s: Command exited with code 1\n\nJob: lint\nRun-Time-Ms: 3000\n');
    await at(25, 'test/aaaa', 'test @ 1111111: passed in 1.0 s');
    await at(30, 'lint/aaaa', 'Marked for rebuild');
    const a3 = await at(40, 'lint/aaaa', 'lint @ 2222222: cancelled after 2.0 s');
    const a4 = await at(50, 'lint/aaaa', 'Cached failure: boom');
    const b2 = await at(60, 'lint/bbbb', 'lint @ 3333333: passed in 0.5 s');
    const recent = await store.recentBuilds('shell', 'lint/', 10);
    assert.deepEqual(recent.map((b) => [b.entry, b.commit, b.result, b.failure, b.time / 1000 - 1_700_000_000]), [
      ['lint/bbbb', b2, 'success', undefined, 60],
      ['lint/aaaa', a4, 'failure', 'boom', 50],
      ['lint/aaaa', a3, 'failure', 'Cancelled', 40],
      ['lint/bbbb', b1, 'failure', 'Command exited with code 1', 20],
      ['lint/aaaa', a1, 'success', undefined, 10],
    ]);
    assert.deepEqual(recent[3].trailers, { Job: 'lint', 'Run-Time-Ms': '3000' });
    assert.deepEqual((await store.recentBuilds('shell', 'lint/', 2)).map((b) => b.commit), [b2, a4], 'only as many as asked');
    assert.deepEqual(await store.recentBuilds('shell', 'none/', 5), []);
    // A commit git cannot read (its object lost): the others are still listed, that entry's history stops there.
    const lost = gitIn(store.dir, 'rev-parse', '--git-path', `objects/${a3.slice(0, 2)}/${a3.slice(2)}`);
    fs.rmSync(path.resolve(store.dir, lost));
    assert.notEqual(spawnSync('git', [`--git-dir=${store.dir}`, 'log', '--all'], { env: ENV }).status, 0, 'git log fails');
    const fresh = await GitStore.open({ resultsDir: path.join(root, 'results') }); // nothing read yet, nothing cached
    assert.deepEqual((await fresh.recentBuilds('shell', 'lint/', 10)).map((b) => b.commit), [b2, a4, b1]);
  });
});

describe('transactions', () => {
  let root: string;
  let store: GitStore;
  before(async () => {
    root = tempRoot('tx');
    store = await GitStore.open({ resultsDir: path.join(root, 'results') });
  });
  after(() => fsckThenRemove(root, store.dir));

  it('leaves refs untouched when never committed', async () => {
    const c1 = await save(store, 'build', 'e', { log: 'one\n' }, 'first');
    const tx = store.begin('build', 'e');
    tx.remove('log');
    await tx.writeFile('value/x', 'x');
    const fresh = store.begin('build', 'new-entry');
    await fresh.writeFile('log', 'never\n');
    assert.equal(gitIn(store.dir, 'for-each-ref', '--format=%(refname) %(objectname)'), `refs/heads/build/e ${c1}`);
    assert.equal(await store.head('build', 'new-entry'), undefined);
  });

  it('marks a missing entry for rebuild by writing nothing', async () => {
    const refsBefore = gitIn(store.dir, 'for-each-ref');
    const objectsBefore = gitIn(store.dir, 'count-objects', '-v');
    assert.equal(await store.markForRebuild('build', 'no-such-entry'), undefined);
    assert.equal(gitIn(store.dir, 'for-each-ref'), refsBefore);
    assert.equal(gitIn(store.dir, 'count-objects', '-v'), objectsBefore);
  });

  it('records when the build started (author time, at begin) and finished (committer time, at commit)', async () => {
    let clock = 1_700_000_000_123;
    const timed = await GitStore.open({ resultsDir: store.dir, now: () => clock });
    const tx = timed.begin('build', 'timed');
    clock = 1_700_000_042_999;
    await tx.writeFile('log', 'x\n');
    const commit = await tx.commit('Cached successful result');
    assert.equal(gitIn(store.dir, 'log', '-1', '--format=%at %ct', commit), '1700000000 1700000042');
    assert.deepEqual(await timed.commitTimes(commit), { started: 1_700_000_000_000, finished: 1_700_000_042_000 });
    assert.deepEqual(await store.commitTimes(commit), { started: 1_700_000_000_000, finished: 1_700_000_042_000 });
    assert.equal((await timed.history('build', 'timed'))[0].time, 1_700_000_042_000);
    clock = 1_700_000_100_000;
    const marked = await timed.markForRebuild('build', 'timed');
    assert.equal(gitIn(store.dir, 'log', '-1', '--format=%at %ct', marked!), '1700000100 1700000100');
  });

  it('refuses bad paths and use after commit', async () => {
    const tx = store.begin('build', 'e');
    for (const bad of ['', '/abs', 'a//b', 'a/../b', './a', 'a/', '.git/config']) {
      assert.throws(() => tx.remove(bad), { code: 'InvalidPath' }, bad);
    }
    await tx.writeFile('log', 'two\n');
    await tx.commit('second');
    assert.throws(() => tx.remove('log'), { code: 'TransactionClosed' });
    await assert.rejects(tx.commit('again'), { code: 'TransactionClosed' });
  });

  it('writes blobs with the object ids git gives them, and a 16 MiB+ log byte for byte', async () => {
    const size = (16 << 20) + 12345;
    // Half random, half repetitive, so that deflate has real work of both kinds.
    const big = Buffer.concat([randomBytes(size >> 1), Buffer.alloc(size - (size >> 1), 'log line\n')]);
    const tx = store.begin('build', 'big');
    await tx.writeFile('log', big);
    await tx.writeFile('small', 'hello\n');
    const commit = await tx.commit('Cached successful result');
    const expected = createHash('sha1').update(`blob ${size}\0`).update(big).digest('hex');
    assert.equal(gitIn(store.dir, 'rev-parse', `${commit}:log`), expected);
    assert.equal(gitIn(store.dir, 'rev-parse', `${commit}:small`), createHashOid('hello\n'));
    assert.equal(gitIn(store.dir, 'cat-file', '-s', `${commit}:log`), String(size));
    const viaGit = execFileSync('git', [`--git-dir=${store.dir}`, 'cat-file', '-p', `${commit}:log`], { env: ENV, maxBuffer: 64 << 20 });
    assert.ok(viaGit.equals(big));
    const read = await (await store.head('build', 'big'))!.readFile('log');
    assert.ok(Buffer.from(read).equals(big));
    assert.deepEqual(fs.readdirSync(path.join(store.dir, 'objects')).filter((f) => f.startsWith('tmp_')), []);
  });
});

describe('temporary object files', () => {
  let root: string;
  before(() => { root = tempRoot('tmpobj'); });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('removes those that an interrupted write left (a writer that is gone, or a day old; git\'s an hour old) when a store opens', async () => {
    const results = path.join(root, 'results');
    // Made by git, so that no earlier open of ours has swept (or is sweeping) already.
    git(root, 'init', '-q', '--bare', results);
    const objects = path.join(results, 'objects');
    // A pid that no longer runs: a process that has exited.
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim();
    fs.mkdirSync(path.join(objects, 'ab'), { recursive: true });
    const left = [path.join(objects, `tmp_obj_${dead}_aaaaaaaaaaaa`), path.join(objects, 'ab', `tmp_obj_${dead}_bbbbbbbbbbbb`)];
    const old = path.join(objects, 'ab', `tmp_obj_${process.pid}_cccccccccccc`);
    const live = path.join(objects, 'ab', `tmp_obj_${process.pid}_dddddddddddd`);
    // git's own, which name no writer (a git killed while it unpacked a fetch): an hour old, and one being written.
    const gitsOld = path.join(objects, 'ab', 'tmp_obj_Xy7Qz2');
    const gitsLive = path.join(objects, 'ab', 'tmp_obj_123456');
    for (const f of [...left, old, live, gitsOld, gitsLive]) { fs.writeFileSync(f, 'partial'); }
    const dayAgo = new Date(Date.now() - 25 * 60 * 60 * 1000);
    fs.utimesSync(old, dayAgo, dayAgo);
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    fs.utimesSync(gitsOld, twoHoursAgo, twoHoursAgo);
    const warnings: string[] = [];
    await GitStore.open({ resultsDir: results, onWarning: (m) => warnings.push(m) });
    const deadline = Date.now() + 30_000;
    while (warnings.length === 0 && Date.now() < deadline) { await new Promise((r) => setTimeout(r, 20)); }
    assert.deepEqual(warnings, [`Removed 4 temporary object files that interrupted writes left in ${results}`]);
    for (const f of [...left, old, gitsOld]) { assert.equal(fs.existsSync(f), false, f); }
    assert.equal(fs.existsSync(live), true, 'a running writer\'s file stays');
    assert.equal(fs.existsSync(gitsLive), true, 'a fresh file of git\'s stays, though its random part reads as a pid no process has');
    fs.rmSync(live);
    fs.rmSync(gitsLive);
    assertFsckClean(results);
  });
});

describe('temporary object files of a writer killed with kill -9', () => {
  let root: string;
  before(() => { root = tempRoot('tmpobj-killed'); });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('are swept by the next process that opens the store, not at the next hourly sweep', async () => {
    const results = path.join(root, 'results');
    await GitStore.open({ resultsDir: results });
    assert.ok(fs.existsSync(path.join(results, 'info', 'last-sweep')), 'a sweep ran just now: the next is an hour away');
    const objects = path.join(results, 'objects');
    // A writer that wrote an object, then was killed in the middle of the next (its temporary file stays).
    const module = path.resolve(__dirname, '..', '..', 'src', 'store', 'git', 'looseObjects.js');
    const script = `const fs = require('node:fs');
      require(${JSON.stringify(module)}).writeBlobStreamed(${JSON.stringify(objects)}, Buffer.from('first\\n')).then(() => {
        fs.mkdirSync(${JSON.stringify(path.join(objects, 'cd'))}, { recursive: true });
        fs.writeFileSync(${JSON.stringify(path.join(objects, 'cd'))} + '/tmp_obj_' + process.pid + '_eeeeeeeeeeee', 'partial');
        console.log('ready');
        setInterval(() => {}, 1000);
      });`;
    const writer = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => writer.stdout.on('data', (d: Buffer) => { if (String(d).includes('ready')) { resolve(); } }));
    const left = path.join(objects, 'cd', `tmp_obj_${writer.pid}_eeeeeeeeeeee`);
    writer.kill('SIGKILL');
    await new Promise((r) => writer.once('exit', r));
    assert.ok(fs.existsSync(left));
    const warnings: string[] = [];
    await GitStore.open({ resultsDir: results, onWarning: (m) => warnings.push(m) });
    const deadline = Date.now() + 30_000;
    while (warnings.length === 0 && Date.now() < deadline) { await new Promise((r) => setTimeout(r, 20)); }
    assert.deepEqual(warnings, [`Removed 1 temporary object file that interrupted writes left in ${results}`]);
    assert.equal(fs.existsSync(left), false);
    assert.deepEqual(fs.readdirSync(path.join(results, 'info', 'writers')), [], 'the dead writer is forgotten once swept');
    assertFsckClean(results);
  });
});

describe('names', () => {
  let root: string;
  let store: GitStore;
  before(async () => {
    root = tempRoot('names');
    store = await GitStore.open({ resultsDir: path.join(root, 'results') });
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  const badEntries = ['', 'a..b', 'a b', 'a~1', 'a^', 'a:b', 'a?', 'a*', 'a[b', 'a\\b', 'a\x01b', 'a\x7fb', '.hidden', 'a/.b', 'a.lock', 'a/b.lock/c',
    'a@{1}', '@', 'a/', '/a', 'a.', 'a//b'];
  const goodEntries = ['a', 'x/b/c', 'feature/x-1_2', 'v1.0', 'a@b', 'héllo', 'a.lock.d/x', '@a'];

  it('agrees with git check-ref-format', () => {
    // git accepts a component "@" inside a ref; we refuse the name "@" all the same.
    for (const name of badEntries.filter((n) => n !== '@')) {
      const r = spawnSync('git', ['check-ref-format', `refs/heads/b/${name}`], { env: ENV });
      assert.notEqual(r.status, 0, `git accepts ${JSON.stringify(name)}`);
    }
    for (const name of goodEntries) {
      const r = spawnSync('git', ['check-ref-format', `refs/heads/b/${name}`], { env: ENV });
      assert.equal(r.status, 0, `git refuses ${JSON.stringify(name)}`);
    }
  });

  it('rejects bad builder and entry names with InvalidRefName naming them', async () => {
    for (const name of badEntries) {
      const quoted = JSON.stringify(name);
      await assert.rejects(store.head('build', name), (e: Error & { code: string }) => e.code === 'InvalidRefName' && e.message.includes(`entry name ${quoted}`), quoted);
      assert.throws(() => store.begin(name, 'e'), (e: Error & { code: string }) => e.code === 'InvalidRefName' && e.message.includes(`builder name ${quoted}`), quoted);
    }
    assert.throws(() => store.refName('a/b', 'e'), (e: Error & { code: string }) => e.code === 'InvalidRefName' && e.message.startsWith('Invalid builder name "a/b": it contains "/"'));
    assert.throws(() => store.refName('b', 'x..y'), { code: 'InvalidRefName', message: 'Invalid entry name "x..y": it contains "..".' });
    await assert.rejects(GitStore.open({ resultsDir: path.join(root, 'results'), refPrefix: 'refs/heads' }), { code: 'InvalidRefName' });
  });

  it('accepts entries with "/" and lists them under their builder', async () => {
    for (const name of goodEntries) {
      await save(store, 'build', name, { log: `${name}\n` }, 'Cached successful result');
    }
    const listed = await store.listEntries('build');
    assert.deepEqual(listed.map((e) => e.entry), [...goodEntries].sort());
    for (const e of listed) {
      assert.equal(e.builder, 'build');
      assert.equal(e.ref, `refs/heads/build/${e.entry}`);
      assert.equal(e.commit, gitIn(store.dir, 'rev-parse', e.ref));
    }
    assertFsckClean(store.dir);
  });

  it('uses another ref prefix when asked', async () => {
    const other = await GitStore.open({ resultsDir: path.join(root, 'results'), refPrefix: 'refs/datakit-ci/' });
    const tx = other.begin('b', 'e');
    await tx.writeFile('log', 'x');
    const c = await tx.commit('m');
    assert.equal(gitIn(other.dir, 'rev-parse', 'refs/datakit-ci/b/e'), c);
    assert.deepEqual((await other.listEntries()).map((e) => e.ref), ['refs/datakit-ci/b/e']);
  });
});

function createHashOid(content: string): string {
  return createHash('sha1').update(`blob ${Buffer.byteLength(content)}\0${content}`).digest('hex');
}
