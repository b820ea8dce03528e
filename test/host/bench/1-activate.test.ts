// (1, first part) The real first activation: the workspace folder is a subdirectory of the repository, so
// nothing activated the extension before this test (see fixture.ts). Timed from `ext.activate()` to a tree
// whose HEAD target shows its 10 jobs with their final icons, read through the extension's own provider.
import * as assert from 'assert';
import { performance } from 'perf_hooks';
import * as vscode from 'vscode';
import type { DataKitCiApi } from '../../../src/extension/extension';
import { checkRows, walkTree, type Rows } from './load';
import { ID, report, round, until } from './measure';

describe('bench: first activation', function () {
  this.timeout(120_000);

  it('activates and fills the tree with HEAD\'s 10 jobs', async () => {
    const ext = vscode.extensions.getExtension<DataKitCiApi>(ID);
    assert.ok(ext, `extension ${ID} is not loaded`);
    const alreadyActive = ext.isActive;
    // performance.now() counts from the extension host's start.
    const t0 = performance.now();
    const a = await ext.activate();
    const activated = performance.now();
    let polls = 0;
    const rows = await until<Rows>('10 job rows with final icons', async () => {
      polls++;
      const r = await walkTree(a.internals.tree).catch(() => undefined);
      return r && r.jobs.length === 10 && r.jobs.every((j) => j.icon === 'pass' || j.icon === 'error') && r;
    }, 5);
    const filled = performance.now();
    checkRows(rows);
    report('activation.first', {
      alreadyActive,
      hostUptimeAtStartMs: round(t0, 0),
      activateMs: round(activated - t0, 1),
      filledTreeMs: round(filled - t0, 1),
      treePolls: polls,
    });
  });
});
