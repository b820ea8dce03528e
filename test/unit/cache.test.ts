import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { BuildFailure, type Builder } from '../../src/engine/builder';
import { BuildCache, type ResultStore } from '../../src/engine/cache';
import { LogManager } from '../../src/engine/liveLog';
import { CacheMetrics } from '../../src/engine/metrics';
import { Pool } from '../../src/engine/pool';
import type { Status } from '../../src/engine/status';
import { GitStore } from '../../src/store/results/gitStore';
import { gitIn } from '../fixtures';
import { SteppedBuilder, final, fsck, tempRepo } from './cacheHelpers';

const NOW = () => new Date(2026, 0, 2, 3, 4, 5);
const TS = '[2026-01-02 03:04:05] ';

describe('BuildCache (the seed\'s cache tests, on a real results repository)', () => {
  let repo: ReturnType<typeof tempRepo>;
  let store: GitStore;
  let builder: SteppedBuilder;
  let logs: LogManager;
  let cache: BuildCache<string, string>;
  const repos: ReturnType<typeof tempRepo>[] = [];

  beforeEach(async () => {
    repo = tempRepo();
    repos.push(repo);
    store = await GitStore.open({ dir: repo.dir });
    builder = new SteppedBuilder();
    logs = new LogManager({ now: NOW });
    cache = new BuildCache(builder, { store, logs });
  });
  let skipFsck = false;
  afterEach(() => {
    // Every test leaves a valid results repository behind (but those that damage objects on purpose).
    if (!skipFsck) { fsck(repo.results); }
    skipFsck = false;
  });
  after(() => { for (const r of repos) { r.cleanup(); } });

  const lookup = (key: string, c = cache) => c.lookup(undefined, key);
  const finalOf = (key: string, c = cache) => final(() => lookup(key, c));

  it('keeps a finished build in memory (memory persistence)', async () => {
    const first = await lookup('k');
    assert.equal(first.result.kind, 'pending');
    assert.equal(first.output.kind, 'live');
    builder.step('k').resolve('v1');
    const done = await finalOf('k');
    assert.deepEqual(done.result, { kind: 'success', value: 'v1' });
    assert.strictEqual(await lookup('k'), done, 'the same status object comes from memory');
    assert.deepEqual(builder.generated, ['k']);
    assert.equal(builder.loads, 0);
  });

  it('finds saved results from a new cache over the same store (disk persistence), with the exact log', async () => {
    await lookup('k');
    builder.step('k').resolve('v1');
    const done = await finalOf('k');
    assert.equal(done.output.kind, 'saved');
    const saved = done.output.kind === 'saved' ? done.output.saved : assert.fail();
    assert.equal(saved.ref, 'refs/heads/test/k');
    assert.equal(saved.failed, false);
    assert.equal(saved.title, 'Build k');
    assert.equal(gitIn(repo.results, 'rev-parse', 'test/k'), saved.commit);
    assert.equal(gitIn(repo.results, 'log', '--format=%s', 'test/k'), 'Build k: passed');
    assert.equal(gitIn(repo.results, 'log', '-1', '--format=%an <%ae>', 'test/k'), 'DataKit CI <datakit-ci@localhost>');
    const expectedLog = `=== Build k\n${TS}Starting...\nbuilding k\n${TS}Success\n`;
    assert.equal(gitIn(repo.results, 'show', 'test/k:log') + '\n', expectedLog);
    assert.equal(await store.readLog(saved), expectedLog);
    assert.equal(gitIn(repo.results, 'show', 'test/k:value/out'), 'v1');
    assert.deepEqual(gitIn(repo.results, 'ls-tree', '-r', '--name-only', 'test/k').split('\n'), ['log', 'value/out']);

    const builder2 = new SteppedBuilder();
    const cache2 = new BuildCache(builder2, { store: await GitStore.open({ dir: repo.dir }), logs: new LogManager() });
    const again = await lookup('k', cache2);
    assert.deepEqual(again.result, { kind: 'success', value: 'v1' });
    assert.equal(again.output.kind === 'saved' && again.output.saved.commit, saved.commit);
    assert.deepEqual(builder2.generated, []);
    assert.equal(builder2.loads, 1);
  });

  it('reads again a result another cache over the same store rebuilt, when told its branch moved', async () => {
    await lookup('k');
    builder.step('k').resolve('v1');
    const first = await finalOf('k');
    const builder2 = new SteppedBuilder();
    const cache2 = new BuildCache(builder2, { store: await GitStore.open({ dir: repo.dir }), logs: new LogManager() });
    assert.equal((await cache2.markForRebuild('k')), 'marked');
    const pending = await cache2.lookup(undefined, 'k');
    assert.equal(pending.result.kind, 'pending');
    builder2.step('k').resolve('v2');
    await final(() => cache2.lookup(undefined, 'k'));
    // Until told, the first cache keeps what it holds (as the issue found: lookup, query and peek said v1).
    assert.deepEqual(cache.peek('k')?.result, { kind: 'success', value: 'v1' });
    const changes: string[] = [];
    const sub = cache.onDidChange((c) => changes.push(`${c.branch}:${c.status?.result.kind === 'success' ? c.status.result.value : c.status?.result.kind}`));
    await cache.reload('k');
    sub.dispose();
    assert.deepEqual(changes, ['k:v2']);
    for (const s of [cache.peek('k'), await cache.query('k'), await lookup('k')]) {
      assert.deepEqual(s?.result, { kind: 'success', value: 'v2' });
      assert.notEqual(s?.output.kind === 'saved' && s.output.saved.commit, first.output.kind === 'saved' && first.output.saved.commit);
    }
    await cache.reload('k'); // nothing moved since: nothing read, nothing told
    assert.equal(builder.loads, 1, 'read once, when it moved');
    await cache.reload('never-seen'); // not in memory: nothing to do
    assert.equal(cache.peek('never-seen'), undefined);
  });

  it('keeps at most maxEntries in memory: the least recently used settled ones go, a pending build stays', async () => {
    const small = new BuildCache(builder, { store, logs: new LogManager(), maxEntries: 5 });
    const pending = await small.lookup(undefined, 'p');
    assert.equal(pending.result.kind, 'pending');
    await small.lookup(undefined, 'k');
    builder.step('k').resolve('v1');
    await final(() => small.lookup(undefined, 'k'));
    for (let i = 0; i < 20; i++) { await small.query(`other-${i}`); }
    assert.equal(small.size, 5);
    assert.equal(small.peek('p')?.result.kind, 'pending', 'a running build is never dropped');
    assert.equal(small.peek('k'), undefined, 'a settled one, not used since, was dropped');
    assert.deepEqual((await small.query('k'))?.result, { kind: 'success', value: 'v1' }, 'and read back from the store when asked');
    builder.step('p').resolve('done');
    await final(() => small.lookup(undefined, 'p'));
    small.dispose();
  });

  it('rebuilds a saved result: a "Marked for rebuild" commit, then a new build on top', async () => {
    await lookup('k');
    builder.step('k').resolve('v1');
    const done = await finalOf('k');
    const saved = done.output.kind === 'saved' ? done.output.saved : assert.fail();
    assert.equal(await saved.rebuild(), 'marked');
    assert.equal(cache.peek('k'), undefined, 'the memory entry is dropped');
    assert.deepEqual(gitIn(repo.results, 'log', '--format=%s', 'test/k').split('\n'), ['Marked for rebuild', 'Build k: passed']);
    assert.equal(gitIn(repo.results, 'cat-file', '-s', 'test/k:rebuild-requested'), '0');

    const rebuilding = await lookup('k');
    assert.equal(rebuilding.result.kind, 'pending');
    builder.step('k').resolve('v2');
    const again = await finalOf('k');
    assert.deepEqual(again.result, { kind: 'success', value: 'v2' });
    assert.deepEqual(gitIn(repo.results, 'log', '--format=%s', 'test/k').split('\n'),
      ['Build k: passed', 'Marked for rebuild', 'Build k: passed']);
    assert.deepEqual(gitIn(repo.results, 'ls-tree', '-r', '--name-only', 'test/k').split('\n'), ['log', 'value/out']);
    const history = await store.history('test', 'k');
    assert.deepEqual(history.map((h) => h.result), ['success', 'rebuild', 'success']);
    assert.equal(await store.readLog({ commit: history[2].commit }), `=== Build k\n${TS}Starting...\nbuilding k\n${TS}Success\n`);
  });

  it('shares one build and one log between lookups during a rebuild', async () => {
    const a = await lookup('k');
    const b = await lookup('k');
    assert.equal(a.output.kind, 'live');
    assert.equal(b.output.kind, 'live');
    assert.strictEqual(a.output.kind === 'live' && a.output.log, b.output.kind === 'live' && b.output.log);
    builder.step('k').resolve('v');
    await finalOf('k');
    assert.deepEqual(builder.generated, ['k']);
  });

  it('delivers pending-reason updates in order through `changed`', async () => {
    const first = await lookup('k');
    const job = await builder.step('k').started;
    const seen: string[] = [];
    const follow = (async () => {
      let s: Status<string> = first;
      while (s.result.kind === 'pending') {
        seen.push(s.result.reason);
        await s.result.changed;
        s = cache.peek('k')!;
      }
      seen.push(s.result.kind);
    })();
    let releaseA!: () => void;
    const a = job.log.withPendingReason('Waiting for A', () => new Promise<void>((r) => { releaseA = r; }));
    await new Promise((r) => setImmediate(r));
    let releaseB!: () => void;
    const b = job.log.withPendingReason('Waiting for B', () => new Promise<void>((r) => { releaseB = r; }));
    await new Promise((r) => setImmediate(r));
    releaseB(); await b;
    releaseA(); await a;
    builder.step('k').resolve('v');
    await follow;
    assert.deepEqual(seen, ['Build k', 'Waiting for A', 'Waiting for B', 'Waiting for A', 'Build k', 'success']);
  });

  it('caches a failure and reloads it without building', async () => {
    await lookup('k');
    builder.step('k').reject(new BuildFailure('boom'));
    const done = await finalOf('k');
    assert.deepEqual(done.result, { kind: 'failure', reason: 'failed', message: 'boom' });
    assert.equal(done.output.kind === 'saved' && done.output.saved.failed, true);
    assert.equal(gitIn(repo.results, 'log', '--format=%s', 'test/k'), 'Build k: failed: boom');
    assert.equal(gitIn(repo.results, 'show', 'test/k:failure'), 'boom');
    assert.equal(gitIn(repo.results, 'show', 'test/k:log') + '\n', `=== Build k\n${TS}Starting...\nbuilding k\n${TS}Failed: boom\n`);

    const builder2 = new SteppedBuilder();
    const cache2 = new BuildCache(builder2, { store, logs: new LogManager() });
    const again = await lookup('k', cache2);
    assert.deepEqual(again.result, { kind: 'failure', reason: 'failed', message: 'boom' });
    assert.deepEqual(builder2.generated, []);
    assert.equal(builder2.loads, 0, 'a failure is not loaded through the builder');
  });

  it('rebuilds when a saved result cannot be loaded', async () => {
    await lookup('k');
    builder.step('k').resolve('v1');
    await finalOf('k');
    const builder2 = new SteppedBuilder();
    builder2.failLoad = true;
    const errors: string[] = [];
    const cache2 = new BuildCache(builder2, { store, logs: new LogManager(), logger: { info: () => {}, error: (m) => errors.push(m) } });
    const s = await lookup('k', cache2);
    assert.equal(s.result.kind, 'pending');
    assert.match(errors[0], /^The saved result refs\/heads\/test\/k \(commit [0-9a-f]{40}\) cannot be used, so it will be built again: cannot load$/);
    builder2.step('k').resolve('v2');
    assert.deepEqual((await finalOf('k', cache2)).result, { kind: 'success', value: 'v2' });
    assert.deepEqual(builder2.generated, ['k']);
  });

  it('rebuilds a corrupt saved entry instead of failing', async () => {
    await lookup('k');
    builder.step('k').resolve('v1');
    await finalOf('k');
    const blob = gitIn(repo.results, 'rev-parse', 'test/k:value/out');
    const file = path.join(repo.results, 'objects', blob.slice(0, 2), blob.slice(2));
    const saved = fs.readFileSync(file);
    fs.rmSync(file, { force: true });
    try {
      const builder2 = new SteppedBuilder();
      const cache2 = new BuildCache(builder2, { store: await GitStore.open({ dir: repo.dir }), logs: new LogManager() });
      assert.equal((await lookup('k', cache2)).result.kind, 'pending', 'an unreadable value means a rebuild');
      builder2.step('k').resolve('v2');
      assert.deepEqual((await finalOf('k', cache2)).result, { kind: 'success', value: 'v2' });
    } finally {
      // Put the object back so that the repository's older history checks out again.
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, saved);
    }
  });

  it('ignores a rebuild request while the build is pending', async () => {
    await lookup('k');
    assert.equal(await cache.markForRebuild('k'), 'pending');
    builder.step('k').resolve('v');
    await finalOf('k');
    assert.equal(gitIn(repo.results, 'log', '--format=%s', 'test/k'), 'Build k: passed');
  });

  it('cancels a pending build and saves it as the failure "Cancelled"', async () => {
    await lookup('k');
    await builder.step('k').started;
    assert.equal(cache.cancel('k'), true);
    const done = await final(async () => (await cache.query('k'))!);
    assert.deepEqual(done.result, { kind: 'failure', reason: 'cancelled', message: 'Cancelled' });
    assert.equal(gitIn(repo.results, 'log', '--format=%s', 'test/k'), 'Build k: cancelled');
    assert.match(gitIn(repo.results, 'show', 'test/k:log'), /Failed: Cancelled$/);
    assert.equal(cache.cancel('k'), false, 'nothing left to cancel');
  });

  it('retries a cancelled build at the next lookup, in memory and from the store; the cancelled commit stays', async () => {
    await lookup('k');
    await builder.step('k').started;
    cache.cancel('k');
    await final(async () => (await cache.query('k'))!);
    // The same cache: the Cancelled failure in memory is not replayed.
    const retry = await lookup('k');
    assert.equal(retry.result.kind, 'pending');
    await builder.step('k').started;
    cache.cancel('k');
    await final(async () => (await cache.query('k'))!);
    // A new cache over the same store: the saved Cancelled failure is shown by query, and rebuilt by lookup.
    const other = new BuildCache(builder, { store, logs });
    assert.deepEqual((await other.query('k'))!.result, { kind: 'failure', reason: 'cancelled', message: 'Cancelled' });
    assert.equal((await lookup('k', other)).result.kind, 'pending');
    builder.step('k').resolve('v');
    assert.deepEqual((await finalOf('k', other)).result, { kind: 'success', value: 'v' });
    assert.deepEqual(builder.generated, ['k', 'k', 'k']);
    assert.deepEqual(gitIn(repo.results, 'log', '--format=%s', 'test/k').split('\n'),
      ['Build k: passed', 'Build k: cancelled', 'Build k: cancelled']);
  });

  it('removes a ref lock that a crashed writer left, before the job runs, and says so in the log', async () => {
    // A first result, so that the entry's branch exists; then a crashed writer's lock beside it.
    await lookup('k');
    builder.step('k').resolve('v1');
    const first = await finalOf('k');
    assert.equal(await cache.markForRebuild('k'), 'marked');
    const lock = path.join(repo.results, 'refs', 'heads', 'test', 'k.lock');
    fs.writeFileSync(lock, '0'.repeat(40) + '\n');
    const old = new Date(Date.now() - 10 * 60_000);
    fs.utimesSync(lock, old, old);
    const pending = await lookup('k');
    const job = await builder.step('k').started;
    assert.equal(fs.existsSync(lock), false, 'removed before generate ran');
    assert.match(job.log.contents(), new RegExp(`Removed ${lock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: a lock left \\d+ s ago by a writer that did not finish\n`));
    builder.step('k').resolve('v2');
    const done = await finalOf('k');
    assert.equal(pending.result.kind, 'pending');
    assert.deepEqual(done.result, { kind: 'success', value: 'v2' });
    assert.notEqual(done.output.kind === 'saved' && done.output.saved.commit, first.output.kind === 'saved' && first.output.saved.commit);
    assert.deepEqual(builder.generated, ['k', 'k']);
  });

  /** Damages the loose object behind `rev` (e.g. `test/k:log`) in one of three ways; returns its id. */
  function damage(rev: string, how: 'truncated' | 'zeroed' | 'deleted'): string {
    const oid = gitIn(repo.results, 'rev-parse', rev);
    const file = path.join(repo.results, 'objects', oid.slice(0, 2), oid.slice(2));
    fs.chmodSync(file, 0o644);
    const bytes = fs.readFileSync(file);
    if (how === 'deleted') { fs.unlinkSync(file); }
    if (how === 'truncated') { fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2))); }
    if (how === 'zeroed') { fs.writeFileSync(file, Buffer.alloc(bytes.length)); }
    return oid;
  }

  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  for (const [what, rev] of [['log', 'test/k:log'], ['output', 'test/k:value/out']] as const) {
    for (const how of ['truncated', 'zeroed', 'deleted'] as const) {
      it(`rebuilds a result whose ${what} blob was ${how}, warning with the entry, the object and the repository`, async () => {
        await lookup('k');
        builder.step('k').resolve('v1');
        const first = await finalOf('k');
        const firstCommit = first.output.kind === 'saved' ? first.output.saved.commit : assert.fail();
        const oid = damage(rev, how);
        const errors: string[] = [];
        const fresh = new BuildCache(builder, { store: await GitStore.open({ dir: repo.dir }), logs, logger: { info: () => {}, error: (m) => errors.push(m) } });
        assert.equal(await fresh.query('k'), undefined, 'status does not report the damaged result');
        assert.equal(errors.length, 1);
        assert.match(errors[0], new RegExp(`^The saved result refs/heads/test/k \\(commit ${firstCommit}\\) cannot be used, so it will be built again: .*${oid}.*${escape(repo.results)}`));
        assert.equal((await lookup('k', fresh)).result.kind, 'pending', 'a miss: built again');
        builder.step('k').resolve('v2');
        assert.deepEqual((await finalOf('k', fresh)).result, { kind: 'success', value: 'v2' });
        assert.deepEqual(gitIn(repo.results, 'log', '--format=%s', 'test/k').split('\n'), ['Build k: passed', 'Build k: passed']);
        // The damaged file was removed (git could not read it either). The rebuilt log is the same text (the
        // clock is fixed), so writing it made the old commit whole again; the new output differs, so the old
        // commit still names a blob that is gone, and that is all fsck finds.
        if (what === 'output') {
          const fsck = spawnSync('git', [`--git-dir=${repo.results}`, 'fsck', '--no-dangling'], { encoding: 'utf8' });
          assert.equal((fsck.stdout + fsck.stderr).replace(/^notice: .*\n/gm, '').replace(/^broken link from .*\n\s+to .*\n/gm, ''), `missing blob ${oid}\n`);
          skipFsck = true;
        }
      });
    }
  }

  it('sets aside a head commit that was truncated: a miss, then a new result that starts the branch afresh', async () => {
    await lookup('k');
    builder.step('k').resolve('v1');
    await finalOf('k');
    const oid = damage('test/k', 'truncated');
    const errors: string[] = [];
    const warnings: string[] = [];
    const store2 = await GitStore.open({ dir: repo.dir, onWarning: (m) => warnings.push(m) });
    const fresh = new BuildCache(builder, { store: store2, logs, logger: { info: () => {}, error: (m) => errors.push(m) } });
    assert.equal(await fresh.query('k'), undefined);
    assert.match(errors[0], new RegExp(`^The saved result refs/heads/test/k \\(commit ${oid}\\) cannot be used, so it will be built again: The loose object ${oid} in ${escape(repo.results)} is corrupt: .*The damaged loose object was removed\\.$`));
    await lookup('k', fresh);
    builder.step('k').resolve('v2');
    assert.deepEqual((await finalOf('k', fresh)).result, { kind: 'success', value: 'v2' });
    assert.match(warnings.join('\n'), new RegExp(`The head ${oid} of refs/heads/test/k cannot be read \\(.*${oid}.*\\); the new result starts the branch afresh\\.`));
    assert.equal(gitIn(repo.results, 'rev-list', '--count', 'test/k'), '1');
    // Nothing damaged is left: the repository is whole again.
  });

  it('marks a result for rebuild at most once, however often it is asked', async () => {
    await lookup('k');
    builder.step('k').resolve('v');
    const done = await finalOf('k');
    const saved = done.output.kind === 'saved' ? done.output.saved : assert.fail();
    assert.equal(await saved.rebuild(), 'marked');
    assert.equal(await saved.rebuild(), 'marked');
    assert.equal(await cache.markForRebuild('k'), 'marked');
    assert.equal(await new BuildCache(builder, { store, logs }).markForRebuild('k'), 'marked');
    assert.deepEqual(gitIn(repo.results, 'log', '--format=%s', 'test/k').split('\n'), ['Marked for rebuild', 'Build k: passed']);
  });

  it('holds DataKitCI\'s test_pending_updates: title, then "Paused", then title, then the value', async () => {
    // The seed's test builder: three steps, the second under the pending reason "Paused".
    const steps: (() => void)[] = [];
    const next = (): Promise<void> => new Promise<void>((r) => { steps.push(r); });
    const advance = (): void => { steps.shift()!(); };
    const pausing: Builder<string, number> = {
      name: 'test-builder',
      title: () => 'Get key',
      branch: (key) => `cache-of-${key}`,
      async generate({ key, log, tx }) {
        await next();
        await log.withPendingReason('Paused', next);
        await next();
        await tx.writeFile('value/x', key);
        return Number(key);
      },
      async load(entry) { return Number(Buffer.from(await entry.readFile('value/x')).toString('utf8')); },
    };
    const c = new BuildCache(pausing, { store, logs });
    const checkPending = async (expected: string): Promise<void> => {
      const s = await c.lookup(undefined, '1');
      assert.equal(s.result.kind, 'pending');
      if (s.result.kind !== 'pending') { return; }
      assert.equal(s.result.reason, expected);
      let settled = false;
      void s.result.changed.then(() => { settled = true; });
      await new Promise((r) => setImmediate(r));
      assert.equal(settled, false, 'the update is still asleep');
      while (steps.length === 0) { await new Promise((r) => setImmediate(r)); }
      advance();
      await s.result.changed;
    };
    await checkPending('Get key');
    await checkPending('Paused');
    await checkPending('Get key');
    assert.deepEqual((await c.lookup(undefined, '1')).result, { kind: 'success', value: 1 });
  });

  it('leaves a store error as an uncommitted failure that stays rebuildable', async () => {
    let broken = true;
    const flaky: ResultStore = {
      head: (b, e) => store.head(b, e),
      refName: (b, e) => store.refName(b, e),
      markForRebuild: (b, e) => store.markForRebuild(b, e),
      begin: (b, e) => {
        const tx = store.begin(b, e);
        return {
          ref: tx.ref, remove: (p) => tx.remove(p), writeFile: (p, d) => tx.writeFile(p, d),
          commit: (m) => broken ? Promise.reject(new Error('disk full')) : tx.commit(m),
        };
      },
    };
    const c = new BuildCache(builder, { store: flaky, logs, metrics: new CacheMetrics() });
    await lookup('k', c);
    builder.step('k').resolve('v');
    const done = await finalOf('k', c);
    assert.deepEqual(done.result, { kind: 'failure', reason: 'failed', message: 'disk full' });
    assert.equal(done.output.kind, 'empty');
    assert.equal(gitIn(repo.results, 'for-each-ref'), '', 'nothing was committed');
    assert.strictEqual(await lookup('k', c), done, 'kept in memory until a rebuild');
    broken = false;
    assert.equal(await c.markForRebuild('k'), 'forgotten');
    assert.equal(gitIn(repo.results, 'for-each-ref'), '', 'no rebuild mark for an entry that was never saved');
    await lookup('k', c);
    builder.step('k').resolve('v2');
    assert.deepEqual((await finalOf('k', c)).result, { kind: 'success', value: 'v2' });
  });

  it('calls generate exactly once for 1,000 concurrent lookups of one key', async () => {
    const all = await Promise.all(Array.from({ length: 1000 }, () => lookup('k')));
    assert.ok(all.every((s) => s.result.kind === 'pending'));
    builder.step('k').resolve('v');
    const done = await Promise.all(Array.from({ length: 1000 }, () => finalOf('k')));
    assert.ok(done.every((s) => s === done[0]));
    assert.deepEqual(builder.generated, ['k']);
  });

  it('fails, naming the entry, when two keys collide on one live log; nothing is committed for it', async () => {
    const other = new BuildCache(new SteppedBuilder('test'), { store, logs });
    await lookup('k');
    const collided = await lookup('k', other);
    assert.equal(collided.result.kind, 'failure');
    assert.match(collided.result.kind === 'failure' ? collided.result.message : '', /test\/k/);
    assert.equal(collided.output.kind, 'empty');
    builder.step('k').resolve('v');
    await finalOf('k');
    assert.equal(gitIn(repo.results, 'rev-list', '--count', 'test/k'), '1');
  });

  it('truncates a log over the cap, keeping its head and tail with one marker', async () => {
    const small = new BuildCache(builder, { store, logs: new LogManager({ capBytes: 4096, now: NOW }) });
    await lookup('k', small);
    const job = await builder.step('k').started;
    for (let i = 0; i < 2000; i++) { job.log.write(`line ${String(i).padStart(4, '0')}\n`); }
    builder.step('k').resolve('v');
    await finalOf('k', small);
    const saved = gitIn(repo.results, 'show', 'test/k:log');
    assert.ok(saved.startsWith(`=== Build k\n${TS}Starting...\nbuilding k\nline 0000\n`));
    assert.ok(saved.endsWith(`line 1999\n${TS}Success`));
    assert.equal(saved.match(/bytes dropped/g)?.length, 1);
    assert.ok(Buffer.byteLength(saved) <= 4096 + 100);
  });

  it('queues builds in a pool: "queued · next", "queued · N ahead", and a cancelled queued build never runs', async () => {
    const pooled = new BuildCache(builder, { store, logs, pool: new Pool('test', 1) });
    await lookup('a', pooled);
    await lookup('b', pooled);
    await lookup('c', pooled);
    await builder.step('a').started; // the queue settles once the first build holds the slot
    const [a, b, c] = ['a', 'b', 'c'].map((k) => pooled.peek(k)!);
    assert.equal(a.result.kind === 'pending' && a.result.reason, 'Build a');
    assert.equal(b.result.kind === 'pending' && b.result.reason, 'queued · next');
    assert.equal(c.result.kind === 'pending' && c.result.reason, 'queued · 1 ahead');
    assert.equal(pooled.cancel('b'), true);
    assert.deepEqual((await final(async () => (await pooled.query('b'))!)).result, { kind: 'failure', reason: 'cancelled', message: 'Cancelled' });
    const cNow = pooled.peek('c')!;
    assert.equal(cNow.result.kind === 'pending' && cNow.result.reason, 'queued · next');
    builder.step('a').resolve('va');
    builder.step('c').resolve('vc');
    assert.deepEqual((await finalOf('c', pooled)).result, { kind: 'success', value: 'vc' });
    assert.deepEqual(builder.generated, ['a', 'c'], 'the cancelled build never ran');
    assert.equal(gitIn(repo.results, 'log', '--format=%s', 'test/b'), 'Build b: cancelled');
  });

  it('counts builds in its own metrics registry', async () => {
    const metrics = new CacheMetrics();
    const c = new BuildCache(builder, { store, logs, metrics });
    await lookup('a', c);
    builder.step('a').resolve('v');
    await finalOf('a', c);
    await lookup('b', c);
    builder.step('b').reject(new BuildFailure('no'));
    await finalOf('b', c);
    const text = await metrics.text();
    assert.match(text, /DataKitCI_cache_builds_started_total\{name="test"\} 2/);
    assert.match(text, /DataKitCI_cache_builds_succeeded_total\{name="test"\} 1/);
    assert.match(text, /DataKitCI_cache_builds_failed_total\{name="test"\} 1/);
    assert.match(text, /DataKitCI_cache_builds_in_progress\{name="test"\} 0/);
    assert.match(text, /DataKitCI_cache_build_time_count\{name="test"\} 2/);
  });
});
