// Claims of runners on a remote: a bare repository stands for it, each runner is a clone of its own, and
// every push and fetch goes through the real git.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { GitStore } from '../../src/store/results/gitStore';
import { Claims, CLAIMS_PREFIX, parseClaim } from '../../src/store/results/claims';
import { codeOf, git, gitWith, makeTeam, tempRoot } from '../fixtures';

const tmp = tempRoot('claims');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const { remote, clone } = makeTeam(tmp, 'claims', { build: { run: 'true' } });

/** A runner: a clone, its results repository's claims on origin, and a clock the test moves. */
async function runner(name: string, clock = { t: 1_000_000 }): Promise<{ claims: Claims; clock: { t: number }; dir: string }> {
  const dir = clone(name);
  const store = await GitStore.open({ resultsDir: path.join(dir, '.git', 'datakit-ci') });
  return { claims: store.claims({ remote: 'origin', userConfig: path.join(dir, '.git', 'config'), runner: name, timeoutMs: 60_000, now: () => clock.t }), clock, dir };
}

const onRemote = (entry: string): string | undefined => {
  const out = git(remote, 'for-each-ref', '--format=%(objectname)', `${CLAIMS_PREFIX}${entry}`);
  return out === '' ? undefined : out;
};

describe('claims on the remote', () => {
  it('of two runners racing for the same job, exactly one wins, each time', async () => {
    const [a, b] = [await runner('runner-a'), await runner('runner-b')];
    for (let i = 0; i < 6; i++) {
      const entry = `shell/race-${i}/0123456789abcdef`;
      const [ra, rb] = await Promise.all([a.claims.claim(entry), b.claims.claim(entry)]);
      assert.equal([ra, rb].filter((r) => r.won).length, 1, `one winner for ${entry}`);
      const winner = ra.won ? ra : rb.won ? rb : undefined;
      const loser = ra.won ? rb : ra;
      assert.ok(winner?.won && !loser.won);
      assert.equal(onRemote(entry), winner.value, 'the remote holds the winner\'s claim');
      assert.equal(loser.holder, winner.value, 'the loser is told what holds it');
    }
  });

  it('a claim names its runner; refreshing moves it; release removes it; a stale lease refuses both', async () => {
    const a = await runner('runner-c');
    const entry = 'shell/refresh/0123456789abcdef';
    const first = await a.claims.claim(entry);
    assert.ok(first.won);
    const seen = (await a.claims.list()).get(entry);
    assert.equal(seen?.runner, 'runner-c');
    assert.equal(seen?.mine, true);
    a.clock.t += 5000;
    const second = await a.claims.refresh(entry, first.value);
    assert.ok(second !== undefined && second !== first.value);
    assert.equal(onRemote(entry), second);
    assert.equal(parseClaim(gitWith({ cwd: remote }, 'cat-file', 'blob', second)).time, a.clock.t, 'the new claim carries the new time');
    assert.equal(await a.claims.refresh(entry, first.value), undefined, 'a refresh over a value no longer there fails');
    assert.equal(await a.claims.release(entry, first.value), false, 'so does a release');
    assert.equal(onRemote(entry), second);
    assert.equal(await a.claims.release(entry, second), true);
    assert.equal(onRemote(entry), undefined);
    assert.equal((await a.claims.list()).has(entry), false);
  });

  it('a claim nobody refreshes is seen unchanged for as long as it stays, and can then be taken over once', async () => {
    const dead = await runner('runner-dead');
    const [b, c] = [await runner('runner-e', { t: 50 }), await runner('runner-f', { t: 50 })];
    const entry = 'shell/stale/0123456789abcdef';
    const claimed = await dead.claims.claim(entry);
    assert.ok(claimed.won);
    assert.equal((await b.claims.list()).get(entry)?.unchangedMs, 0, 'first seen now');
    b.clock.t += 30_000;
    const stale = (await b.claims.list()).get(entry)!;
    assert.equal(stale.unchangedMs, 30_000);
    assert.equal(stale.mine, false);
    assert.equal(stale.runner, 'runner-dead');
    // Two runners see it stale at once: one takes it.
    const [rb, rc] = await Promise.all([b.claims.takeOver(entry, stale.value), c.claims.takeOver(entry, stale.value)]);
    assert.equal([rb, rc].filter((r) => r.won).length, 1);
    const taken = rb.won ? rb : rc.won ? rc : undefined;
    assert.equal(onRemote(entry), taken?.won ? taken.value : 'none');
    // The runner that made it, were it alive after all, learns it lost the claim.
    assert.equal(await dead.claims.refresh(entry, claimed.value), undefined);
    assert.equal((await b.claims.list()).get(entry)?.unchangedMs, 0, 'a new value is seen anew');
  });

  it('a claim of hostile content is read as a claim of an unknown runner, said why, never printed raw', async () => {
    const a = await runner('runner-g');
    const put = (entry: string, content: string | undefined): void => {
      const id = content === undefined ? git(remote, 'rev-parse', 'HEAD^{tree}') : gitWith({ cwd: remote, input: content }, 'hash-object', '-w', '--stdin');
      git(remote, 'update-ref', `${CLAIMS_PREFIX}${entry}`, id);
    };
    put('hostile/escape/0123456789abcdef', 'datakit-ci claim 1\nrunner evil\x1b]0;owned\x07\ntime 1\n');
    put('hostile/tree/0123456789abcdef', undefined);
    put('hostile/big/0123456789abcdef', `datakit-ci claim 1\nrunner ${'x'.repeat(5000)}\ntime 1\n`);
    put('hostile/other/0123456789abcdef', 'hello\n');
    put('hostile/time/0123456789abcdef', 'datakit-ci claim 1\nrunner fine\ntime soon\n');
    const seen = await a.claims.list();
    assert.deepEqual(Object.fromEntries([...seen].filter(([e]) => e.startsWith('hostile/')).map(([e, c]) => [e.split('/')[1], [c.runner, c.unreadable]])), {
      escape: [undefined, 'its runner\'s name is missing or not printable text'],
      tree: [undefined, 'a tree, not a claim'],
      big: [undefined, '5034 bytes, more than a claim holds'],
      other: [undefined, 'not a claim of this version of datakit-ci'],
      time: ['fine', 'its time is not a time'],
    });
    // Such a claim expires as any other does: it can be taken over.
    const escape = seen.get('hostile/escape/0123456789abcdef')!;
    assert.ok((await a.claims.takeOver(escape.entry, escape.value)).won);
  });

  it('a remote that refuses claims fails the claim with git\'s words (RemoteFailed), never as a lost race', async () => {
    const a = await runner('runner-h');
    const hook = path.join(remote, 'hooks', 'pre-receive');
    fs.writeFileSync(hook, '#!/bin/sh\necho "claims are not welcome here" >&2\nexit 1\n', { mode: 0o755 });
    try {
      assert.equal(await codeOf(a.claims.claim('shell/refused/0123456789abcdef')), 'RemoteFailed');
      await assert.rejects(a.claims.claim('shell/refused/0123456789abcdef'), /pre-receive hook declined/);
    } finally {
      fs.rmSync(hook);
    }
  });

  it('pushes a result and removes its claim in one push, or neither when the claim is no longer its own', async () => {
    const a = await runner('runner-j');
    const b = await runner('runner-k');
    const head = git(remote, 'rev-parse', 'HEAD');
    // The result to push: a commit the results repositories have (the source commit, put there).
    for (const { dir } of [a, b]) { git(dir, 'push', '-q', path.join(dir, '.git', 'datakit-ci'), `${head}:refs/test/source`); }
    const mine = await a.claims.claim('shell/finish/0123456789abcdef');
    assert.ok(mine.won);
    assert.equal(await a.claims.finish('shell/finish/0123456789abcdef', mine.value, head), true);
    assert.equal(onRemote('shell/finish/0123456789abcdef'), undefined, 'the claim is gone');
    assert.equal(git(remote, 'rev-parse', 'refs/datakit-ci/shell/finish/0123456789abcdef'), head, 'the result is there');
    // Taken over meanwhile: the result is not pushed either.
    const lost = await a.claims.claim('shell/lost/0123456789abcdef');
    assert.ok(lost.won);
    assert.ok((await b.claims.takeOver('shell/lost/0123456789abcdef', lost.value)).won);
    assert.equal(await a.claims.finish('shell/lost/0123456789abcdef', lost.value, head), false);
    assert.equal(git(remote, 'for-each-ref', 'refs/datakit-ci/shell/lost/'), '', 'no result pushed');
  });

  it('is told whether the remote holds a result for an entry', async () => {
    const a = await runner('runner-i');
    assert.equal(await a.claims.resultThere('shell/build/0123456789abcdef'), false);
    git(remote, 'update-ref', 'refs/datakit-ci/shell/build/0123456789abcdef', git(remote, 'rev-parse', 'HEAD'));
    assert.equal(await a.claims.resultThere('shell/build/0123456789abcdef'), true);
  });
});
