// (3) How often the Builds tree (and the status bar) is told to refresh while a job prints ~100,000 lines a
// second for ~5 s, counted per wall-clock second.
import * as assert from 'assert';
import { performance } from 'perf_hooks';
import type { StatusBar } from '../../../src/extension/tree/statusBar';
import { PACED_LINES } from './fixture';
import { api, rebuildAndWaitPending, report, round, sleep, waitFinished } from './measure';

describe('bench: tree refreshes under 100,000 lines a second', function () {
  this.timeout(120_000);

  it('counts refreshes per second while `paced` prints', async () => {
    const a = await api();
    const tree = a.internals.tree;
    const bar: StatusBar = a.internals.statusBar;
    // Counted on the instance, over the prototype's method, and removed after.
    let barUpdates = 0;
    const update = bar.update;
    bar.update = function (this: StatusBar) { barUpdates++; update.call(this); };
    let changes = 0;
    const sub = a.internals.sessions.onDidChange(() => { changes++; });
    const seconds: { refreshes: number; statusBar: number; changes: number }[] = [];
    let last = { refreshes: tree.refreshes, statusBar: 0, changes: 0 };
    const bucket = (): void => {
      const now = { refreshes: tree.refreshes, statusBar: barUpdates, changes };
      seconds.push({ refreshes: now.refreshes - last.refreshes, statusBar: now.statusBar - last.statusBar, changes: now.changes - last.changes });
      last = now;
    };
    const tick = setInterval(bucket, 1000);
    const before = tree.refreshes;
    try {
      const t0 = performance.now();
      await rebuildAndWaitPending(a, 'paced');
      const result = await waitFinished(a, 'paced', 50);
      const wall = (performance.now() - t0) / 1000;
      assert.strictEqual(result, 'success');
      clearInterval(tick);
      // The last, partial second, once the coalesced refreshes that follow the end have fired.
      await sleep(500);
      bucket();
      const refreshes = tree.refreshes - before;
      report('tree.refreshes100kLines', {
        lines: PACED_LINES,
        wallS: round(wall),
        linesPerS: round(PACED_LINES / wall, 0),
        treeRefreshes: refreshes,
        treeRefreshesPerS: round(refreshes / wall),
        treeRefreshesMaxInASecond: Math.max(0, ...seconds.map((s) => s.refreshes)),
        statusBarUpdates: barUpdates,
        statusBarUpdatesMaxInASecond: Math.max(0, ...seconds.map((s) => s.statusBar)),
        sessionChanges: changes,
        perSecond: seconds,
        lastBucketIsPartial: true,
      });
    } finally {
      clearInterval(tick);
      sub.dispose();
      delete (bar as Partial<StatusBar>).update;
    }
  });
});
