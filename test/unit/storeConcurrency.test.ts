// The results repository shared with git and other processes: ref locks, lost races, packed refs, gc.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DataKitError } from '../../src/shared/errors';
import { GitStore } from '../../src/store/results';
import { ENV, gitIn, gitWith, tempRoot } from '../fixtures';
import { assertFsckClean, save, text } from './storeHelpers';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const STORE_JS = path.join(ROOT, 'out', 'src', 'store', 'results', 'index.js');
const execFileAsync = promisify(execFile);

/** A commit made by git itself on top of `parent`, holding `files`. */
function gitCommit(results: string, parent: string, files: Record<string, string>, message: string): string {
  const lines = Object.entries(files).map(([name, content]) => `100644 blob ${gitWith({ input: content }, `--git-dir=${results}`, 'hash-object', '-w', '--stdin')}\t${name}`);
  const tree = gitWith({ input: lines.join('\n') + '\n' }, `--git-dir=${results}`, 'mktree');
  return gitIn(results, 'commit-tree', tree, '-p', parent, '-m', message);
}

/** A separate Node process that saves `count` results, round robin over `entries` entries of builder `race`. */
function saver(results: string, id: string, count: number, entries: number): Promise<void> {
  const script = `
    const { GitStore } = require(${JSON.stringify(STORE_JS)});
    (async () => {
      const store = await GitStore.open({ resultsDir: ${JSON.stringify(results)}, lockTimeoutMs: 20000 });
      for (let i = 0; i < ${count}; i++) {
        const tx = store.begin('race', 'e' + (i % ${entries}));
        tx.remove('failure');
        await tx.writeFile('log', ${JSON.stringify(id)} + ' ' + i + '\\n');
        await tx.writeFile('value/' + ${JSON.stringify(id)}, String(i));
        await tx.commit(${JSON.stringify(id)} + ' ' + i);
      }
    })().catch((e) => { console.error(e); process.exit(1); });`;
  return execFileAsync(process.execPath, ['-e', script]).then(() => undefined);
}

describe('sharing the results repository', () => {
  let root: string;
  let results: string;
  let store: GitStore;
  before(async () => {
    root = tempRoot('share');
    results = path.join(root, 'results');
    store = await GitStore.open({ resultsDir: results, lockTimeoutMs: 200 });
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('waits for a ref that git holds locked, then fails with RefLocked and leaves the ref alone', async () => {
    const c1 = await save(store, 'b', 'locked', { log: 'one\n' }, 'first');
    // `git update-ref --stdin` holds the ref's lock from `prepare` until `abort`.
    const holder = spawn('git', [`--git-dir=${results}`, 'update-ref', '--stdin'], { env: ENV });
    holder.stdin.write(`start\nupdate refs/heads/b/locked ${c1} ${c1}\nprepare\n`);
    await new Promise<void>((resolve) => holder.stdout.on('data', (d: Buffer) => d.toString().includes('prepare: ok') && resolve()));
    assert.ok(fs.existsSync(path.join(results, 'refs/heads/b/locked.lock')));
    const tx = store.begin('b', 'locked');
    await tx.writeFile('log', 'two\n');
    await assert.rejects(tx.commit('second'), (e: Error & { code: string }) => e.code === 'RefLocked' && e.message.includes('refs/heads/b/locked'));
    assert.equal(gitIn(results, 'rev-parse', 'refs/heads/b/locked'), c1);
    holder.stdin.end('abort\n');
    await new Promise((resolve) => holder.on('exit', resolve));
    const c2 = await save(store, 'b', 'locked', { log: 'two\n' }, 'second');
    assert.equal(gitIn(results, 'rev-parse', 'refs/heads/b/locked~1'), c1);
    assert.equal(gitIn(results, 'rev-parse', 'refs/heads/b/locked'), c2);
  });

  it('never takes over a lock file, even for a new branch', async () => {
    const lock = path.join(results, 'refs/heads/b/new/entry.lock');
    fs.mkdirSync(path.dirname(lock), { recursive: true });
    fs.writeFileSync(lock, '', { flag: 'wx' });
    const tx = store.begin('b', 'new/entry');
    await tx.writeFile('log', 'x');
    await assert.rejects(tx.commit('m'), { code: 'RefLocked' });
    assert.equal(await store.head('b', 'new/entry'), undefined);
    assert.ok(fs.existsSync(lock));
    fs.unlinkSync(lock);
    await save(store, 'b', 'new/entry', { log: 'x' }, 'm');
    assertFsckClean(results);
  });

  it('re-applies the staged changes on a head that moved since the transaction began', async () => {
    const c1 = await save(store, 'b', 'moved', { log: 'one\n', keep: 'k' }, 'first');
    const tx = store.begin('b', 'moved', { base: c1 });
    await tx.writeFile('log', 'mine\n');
    tx.remove('keep');
    const theirs = gitCommit(results, c1, { log: 'theirs\n', keep: 'k', other: 'o' }, 'theirs');
    gitIn(results, 'update-ref', 'refs/heads/b/moved', theirs, c1);
    const mine = await tx.commit('mine');
    assert.equal(tx.attempts, 2);
    assert.equal(gitIn(results, 'rev-parse', `${mine}^`), theirs);
    assert.equal(gitIn(results, 'ls-tree', '-r', '--name-only', mine), 'log\nother');
    assert.equal(gitIn(results, 'show', `${mine}:log`), 'mine');
    // Without a base, the head is read when the commit starts.
    const tx2 = store.begin('b', 'moved');
    await tx2.writeFile('log', 'later\n');
    const moved = gitCommit(results, mine, { log: 'git\n' }, 'git');
    gitIn(results, 'update-ref', 'refs/heads/b/moved', moved, mine);
    const later = await tx2.commit('later');
    assert.equal(tx2.attempts, 1);
    assert.equal(gitIn(results, 'rev-parse', `${later}^`), moved);
    assertFsckClean(results);
  });

  it('refuses a ref beside a loose or packed ref that is its prefix', async () => {
    await save(store, 'd', 'x', { log: 'x' }, 'm');
    await assert.rejects(save(store, 'd', 'x/y', { log: 'x' }, 'm'), { code: 'RefNameConflict' });
    await save(store, 'd', 'p/q', { log: 'x' }, 'm');
    await assert.rejects(save(store, 'd', 'p', { log: 'x' }, 'm'), { code: 'RefNameConflict' });
    gitIn(results, 'pack-refs', '--all');
    assert.equal(fs.existsSync(path.join(results, 'refs/heads/d/x')), false);
    await assert.rejects(save(store, 'd', 'x/y', { log: 'x' }, 'm'), { code: 'RefNameConflict' });
    await assert.rejects(save(store, 'd', 'p', { log: 'x' }, 'm'), { code: 'RefNameConflict' });
    assertFsckClean(results);
  });

  it('reads packed refs, lets a loose ref override them, and sees packed-refs rewritten', async () => {
    const packed = gitIn(results, 'rev-parse', 'refs/heads/d/x');
    assert.equal((await store.head('d', 'x'))!.commit, packed);
    const c2 = await save(store, 'd', 'x', { log: 'y' }, 'loose again');
    assert.equal(gitIn(results, 'rev-parse', `${c2}^`), packed);
    assert.equal((await store.head('d', 'x'))!.commit, c2);
    gitIn(results, 'pack-refs', '--all');
    const c3 = gitCommit(results, c2, { log: 'z' }, 'by git');
    gitIn(results, 'update-ref', 'refs/heads/d/x', c3, c2);
    gitIn(results, 'pack-refs', '--all');
    assert.equal(fs.existsSync(path.join(results, 'refs/heads/d/x')), false);
    assert.equal((await store.head('d', 'x'))!.commit, c3);
    const listed = await store.listEntries('d');
    assert.deepEqual(listed, [
      { builder: 'd', entry: 'p/q', ref: 'refs/heads/d/p/q', commit: gitIn(results, 'rev-parse', 'refs/heads/d/p/q') },
      { builder: 'd', entry: 'x', ref: 'refs/heads/d/x', commit: c3 },
    ]);
    assert.deepEqual((await store.listEntries()).map((e) => e.ref), gitIn(results, 'for-each-ref', '--format=%(refname)').split('\n'));
  });
});

describe('concurrent writers', () => {
  let root: string;
  before(() => {
    root = tempRoot('race');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('loses none of 2 × 300 results that two processes save to one entry', async () => {
    const results = path.join(root, 'two');
    await GitStore.open({ resultsDir: results });
    await Promise.all([saver(results, 'p1', 300, 1), saver(results, 'p2', 300, 1)]);
    const ref = 'refs/heads/race/e0';
    assert.equal(gitIn(results, 'rev-list', '--count', ref), '600');
    const messages = gitIn(results, 'log', '--format=%s', ref).split('\n').sort();
    const expected = ['p1', 'p2'].flatMap((p) => Array.from({ length: 300 }, (_, i) => `${p} ${i}`)).sort();
    assert.deepEqual(messages, expected);
    // Each commit re-applied its changes on the other's latest: both processes' last values survive.
    assert.equal(gitIn(results, 'show', `${ref}:value/p1`), '299');
    assert.equal(gitIn(results, 'show', `${ref}:value/p2`), '299');
    assertFsckClean(results);
  });

  /**
   * Reads every entry once, each whole (every object verified): each entry's head is there on every read,
   * and its log is one the writer saved. A read fails at once, with no second try, except that after a
   * `gc --prune=now` (`pruned`) an object that the gc deleted and its save has yet to write again may be
   * missing for a moment (git's own reads miss it too): such a read is counted and said, not retried.
   */
  async function readAll(store: GitStore, pruned: boolean): Promise<number> {
    let missing = 0;
    for (let e = 0; e < 10; e++) {
      const snap = await store.head('race', `e${e}`);
      assert.ok(snap, `entry e${e} is always there`);
      try {
        await snap.verify();
        assert.match(text(await snap.readFile('log')), /^w (seed|\d+)\n$/);
      } catch (err) {
        if (!pruned || !DataKitError.is(err, 'ObjectMissing')) { throw err; }
        missing++;
      }
    }
    return missing;
  }

  /**
   * A writer process saves `count` results round-robin on 10 entries (each seeded first, so that every read
   * finds one) while this process runs `gcArgs` and `git pack-refs` in a loop, reading every entry between
   * them. Returns how many rounds ran, and how many reads found an object a prune had taken.
   */
  async function saveBesideGc(results: string, gcArgs: string[]): Promise<{ store: GitStore; rounds: number; missing: number }> {
    const store = await GitStore.open({ resultsDir: results });
    for (let e = 0; e < 10; e++) { await save(store, 'race', `e${e}`, { log: 'w seed\n', 'value/w': 'seed' }, 'seed'); }
    let done = false;
    const writer = saver(results, 'w', 200, 10).finally(() => { done = true; });
    let rounds = 0;
    let missing = 0;
    while (!done || rounds === 0) {
      rounds++;
      await execFileAsync('git', [`--git-dir=${results}`, 'pack-refs', '--all'], { env: ENV });
      missing += await readAll(store, gcArgs.includes('--prune=now'));
      await execFileAsync('git', [`--git-dir=${results}`, ...gcArgs], { env: ENV });
    }
    await writer;
    return { store, rounds, missing };
  }

  /** Every entry holds its 20 results on its seed, each readable; the repository is whole. */
  async function assertAllSaved(results: string, store: GitStore): Promise<void> {
    for (let e = 0; e < 10; e++) {
      const ref = `refs/heads/race/e${e}`;
      assert.equal(gitIn(results, 'rev-list', '--count', ref), '21');
      const snap = await store.head('race', `e${e}`);
      assert.equal(snap!.commit, gitIn(results, 'rev-parse', ref));
      await snap!.verify();
      assert.equal(text(await snap!.readFile('log')), `w ${190 + e}\n`);
      assert.equal(text(await snap!.readFile(`value/w`)), String(190 + e));
    }
    assertFsckClean(results);
  }

  it('loses nothing and keeps reading while git gc and git pack-refs run again and again', async () => {
    const results = path.join(root, 'gc');
    const { store, rounds, missing } = await saveBesideGc(results, ['gc', '--quiet']);
    assert.ok(rounds >= 1);
    assert.equal(missing, 0, 'without a prune, every read finds every object');
    gitIn(results, 'gc', '--quiet');
    assert.deepEqual(fs.readdirSync(path.join(results, 'refs/heads')), []);
    await assertAllSaved(results, store);
    // A fresh store reads the packed objects too, and commits on a packed ref.
    const fresh = await GitStore.open({ resultsDir: results });
    const base = gitIn(results, 'rev-parse', 'refs/heads/race/e3');
    assert.equal(await fresh.readLog({ commit: base }), 'w 193\n');
    const next = await save(fresh, 'race', 'e3', { log: 'after gc\n' }, 'after gc');
    assert.equal(gitIn(results, 'rev-parse', `${next}^`), base);
    assert.equal((await store.head('race', 'e3'))!.commit, next);
    assert.equal((await fresh.listEntries('race')).length, 10);
    assertFsckClean(results);
  });

  it('loses nothing while git gc --prune=now runs again and again beside the saves', async (t) => {
    const results = path.join(root, 'prune-now');
    const { store, rounds, missing } = await saveBesideGc(results, ['gc', '--quiet', '--prune=now']);
    t.diagnostic(`${rounds} rounds of 10 reads; ${missing} found an object a prune had taken before its save wrote it again`);
    gitIn(results, 'gc', '--quiet', '--prune=now');
    await assertAllSaved(results, store);
  });
});
