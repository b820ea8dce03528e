// The results repository's watcher: a result another process saves is told, whatever the repository's refs
// looked like when the watch began.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ResultsWatcher, type ResultsChange } from '../../src/jobs/watchers';
import { GitStore } from '../../src/store/results';
import { gitIn, tempRoot } from '../fixtures';
import { save } from './storeHelpers';

const tmp = tempRoot('watchers');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The next change the watcher tells. */
function nextChange(watcher: { changes: ResultsChange[]; wake?: () => void }): Promise<ResultsChange> {
  return new Promise((resolve) => {
    watcher.wake = () => resolve(watcher.changes.shift()!);
    if (watcher.changes.length > 0) { watcher.wake(); }
  });
}

describe('the results watcher', () => {
  it('tells a result saved in a results repository whose refs were all packed (no folder of the job existed)', { timeout: 60_000 }, async () => {
    const results = path.join(tmp, 'packed.git');
    const store = await GitStore.open({ resultsDir: results });
    await save(store, 'shell', 'docs/old', { log: 'old\n' }, 'old');
    gitIn(results, 'pack-refs', '--all', '--prune');
    fs.rmSync(path.join(results, 'refs', 'heads', 'shell'), { recursive: true, force: true });
    assert.equal(fs.existsSync(path.join(results, 'refs', 'heads', 'shell')), false, 'the builder has no folder of refs');
    const seen: { changes: ResultsChange[]; wake?: () => void } = { changes: [] };
    const watcher = new ResultsWatcher({ resultsDir: results, refsDir: path.join(results, 'refs', 'heads', 'shell'), locksDir: path.join(results, 'locks', 'shell') },
      () => ['docs'], (c) => { seen.changes.push(c); seen.wake?.(); });
    try {
      const told = nextChange(seen);
      await save(store, 'shell', 'docs/new', { log: 'new\n' }, 'new'); // a loose ref, in folders made now
      const change = await told;
      assert.ok(change.all || change.moved.includes('docs/new'), `the new result is told: ${JSON.stringify(change)}`);
      // From then on the job's folder is watched itself: the next save is told by its entry.
      const again = nextChange(seen);
      await save(store, 'shell', 'docs/newer', { log: 'newer\n' }, 'newer');
      const second = await again;
      assert.ok(second.moved.includes('docs/newer') || second.all, JSON.stringify(second));
    } finally {
      watcher.dispose();
    }
  });
});
