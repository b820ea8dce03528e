// A results store opened to start no process (an untrusted workspace): everything it can do without git is
// done in this process, and what needs git refuses with `Untrusted` before anything starts. Every child
// process this test process starts is counted (ChildProcess.prototype.spawn is what spawn, execFile, exec
// and fork all go through; the synchronous functions are counted too).
import assert from 'node:assert/strict';
import childProcess = require('node:child_process');
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GitStore } from '../../src/store/results';
import { codeOf, git, gitIn, tempRoot } from '../fixtures';
import { fsckThenRemove, save, text } from './storeHelpers';

/** What was started while `watching` is set: each process's command line. */
const started: string[] = [];
let watching = false;

type Spawnable = { spawn(this: unknown, options: { file: string; args?: string[] }): unknown };
const proto = childProcess.ChildProcess.prototype as unknown as Spawnable;
const originalSpawn = proto.spawn;
const syncNames = ['spawnSync', 'execFileSync', 'execSync'] as const;
const originalSync = Object.fromEntries(syncNames.map((n) => [n, childProcess[n]]));

function installSpy(): void {
  proto.spawn = function (this: unknown, options) {
    if (watching) { started.push([options.file, ...(options.args ?? []).slice(1)].join(' ')); }
    return originalSpawn.call(this, options);
  };
  for (const n of syncNames) {
    (childProcess as unknown as Record<string, unknown>)[n] = (...args: unknown[]) => {
      if (watching) { started.push(`${n} ${String(args[0])}`); }
      return (originalSync[n] as (...a: unknown[]) => unknown)(...args);
    };
  }
}

function removeSpy(): void {
  proto.spawn = originalSpawn;
  for (const n of syncNames) { (childProcess as unknown as Record<string, unknown>)[n] = originalSync[n]; }
}

/** Runs `fn` and returns what it started. */
async function startedBy(fn: () => Promise<unknown>): Promise<string[]> {
  started.length = 0;
  watching = true;
  try {
    await fn();
  } finally {
    watching = false;
  }
  return [...started];
}

describe('a results store that starts no process', () => {
  let root: string;
  let results: string;
  before(async () => {
    installSpy();
    root = tempRoot('noprocess');
    results = path.join(root, 'repo', '.git', 'datakit-ci');
    git(root, 'init', '-q', '-b', 'main', 'repo');
    let clock = 1_700_000_000_000;
    const store = await GitStore.open({ dir: path.join(root, 'repo'), now: () => (clock += 1000) });
    await save(store, 'shell', 'lint/aaaa', { log: 'a1\n' }, 'lint @ 1111111: passed in 1.0 s');
    await save(store, 'shell', 'lint/bbbb', { log: 'b1\n', failure: 'boom' }, 'Cached failure: boom');
    await save(store, 'shell', 'lint/aaaa', { log: 'a2\n' }, 'Marked for rebuild');
    await save(store, 'shell', 'lint/aaaa', { log: 'a3\n' }, 'lint @ 2222222: passed in 2.0 s');
    await save(store, 'shell', 'test/aaaa', { log: 't1\n' }, 'test @ 1111111: passed in 1.0 s');
  });
  after(() => {
    removeSpy();
    fsckThenRemove(root, results);
  });

  it('the spy sees the processes that a store which may start them starts', async () => {
    const store = await GitStore.open({ resultsDir: results });
    const seen = await startedBy(() => store.recentBuilds('shell', 'lint/', 10));
    assert.equal(seen.length, 1, seen.join('\n'));
    // git itself, or git under the watchdog that kills it when this process ends (`/bin/sh -c … sh git …`).
    assert.match(seen[0]!, /(^|\/bin\/sh -c [\s\S]* sh )git .* log --date-order /);
  });

  it('reads, lists, saves and marks without starting anything, and reads the recent builds itself', async () => {
    const usual = await (await GitStore.open({ resultsDir: results })).recentBuilds('shell', 'lint/', 10);
    assert.equal(usual.length, 3);
    const seen = await startedBy(async () => {
      const store = await GitStore.open({ resultsDir: results, processes: false });
      assert.deepEqual(await store.recentBuilds('shell', 'lint/', 10), usual, 'the same builds as git lists');
      assert.deepEqual((await store.listEntries('shell')).map((e) => e.entry), ['lint/aaaa', 'lint/bbbb', 'test/aaaa']);
      const head = (await store.head('shell', 'lint/aaaa'))!;
      assert.equal(text(await head.readFile('log')), 'a3\n');
      assert.equal((await store.history('shell', 'lint/aaaa')).length, 3);
      await save(store, 'shell', 'lint/cccc', { log: 'c1\n' }, 'lint @ 3333333: passed in 0.1 s');
      assert.notEqual(await store.markForRebuild('shell', 'lint/cccc'), undefined);
    });
    assert.deepEqual(seen, []);
    assert.equal(gitIn(results, 'log', '-1', '--format=%s', 'refs/heads/shell/lint/cccc'), 'Marked for rebuild');
  });

  it('refuses push, fetch and gc with Untrusted, and finding the repository from a folder, before starting anything', async () => {
    const seen = await startedBy(async () => {
      const store = await GitStore.open({ resultsDir: results, processes: false });
      assert.equal(await codeOf(store.pushTo('origin', path.join(root, 'repo', '.git', 'config'))), 'Untrusted');
      assert.equal(await codeOf(store.fetchFrom('origin', path.join(root, 'repo', '.git', 'config'))), 'Untrusted');
      assert.equal(await codeOf(store.gc('shell', { keep: () => false, busy: async () => false, maxAgeMs: 0, keepBuilds: 1 })), 'Untrusted');
      assert.equal(await codeOf(GitStore.open({ dir: path.join(root, 'repo'), processes: false })), 'Untrusted');
    });
    assert.deepEqual(seen, []);
    assert.equal(gitIn(results, 'for-each-ref', '--count=1', '--format=%(refname)', 'refs/heads/shell/lint/bbbb'), 'refs/heads/shell/lint/bbbb', 'gc removed nothing');
  });
});
