// (5) The `branch` targets: a branch of 50 commits × 10 jobs, every one built, loaded the way activation
// loads a repository (RepoJobs.open, a Session, its start) and every row of the tree with its TreeItem —
// against the same repository with the `head` targets (10 rows), in alternating rounds.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import * as vscode from 'vscode';
import { Session } from '../../../src/extension/session/session';
import { Operations } from '../../../src/extension/operations';
import { readSettings } from '../../../src/extension/settings';
import { TreeModel, type Node } from '../../../src/extension/tree/treeModel';
import { BuildTreeProvider } from '../../../src/extension/tree/treeProvider';
import { BRANCH_COMMITS } from './fixture';
import { NO_MEMORY, open, quietOutput, sessionsOf } from './load';
import { api, report, round, summary } from './measure';

const ROUNDS = 11;

/** Activation to a filled tree with the given targets; returns the time and the rows' icons. */
async function loadWith(dir: string, storage: string, targets: 'head' | 'branch'): Promise<{ ms: number; targets: number; icons: string[] }> {
  const folder = vscode.Uri.file(dir);
  const t0 = performance.now();
  const { jobs } = await open(dir, storage);
  const session = new Session(jobs, { folder, settings: () => ({ ...readSettings(folder), targets, automaticBuilds: false }), ops: new Operations(quietOutput()), onHeadBuildFailed: () => {}, log: () => {}, memory: NO_MEMORY });
  const tree = new BuildTreeProvider(new TreeModel(() => [session]), sessionsOf(session));
  try {
    await session.start();
    const roots = ((await tree.getChildren()) ?? []) as Node[];
    const icons: string[] = [];
    for (const r of roots) {
      await tree.getTreeItem(r);
      for (const j of ((await tree.getChildren(r)) ?? []) as Node[]) {
        icons.push(((await tree.getTreeItem(j)).iconPath as vscode.ThemeIcon).id);
      }
    }
    return { ms: performance.now() - t0, targets: roots.length, icons };
  } finally {
    tree.dispose();
    session.dispose();
  }
}

describe('bench: the commits of a branch as targets', function () {
  this.timeout(300_000);

  it(`fills a tree of ${BRANCH_COMMITS} commits × 10 jobs, against HEAD's 10`, async () => {
    await api();
    const dir = process.env.DATAKIT_CI_BENCH_BRANCH;
    assert.ok(dir, 'the runner names the branch repository');
    const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'dkci-bench-branch-'));
    try {
      const branch: number[] = [];
      const head: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const b = await loadWith(dir, storage, 'branch');
        assert.strictEqual(b.targets, BRANCH_COMMITS);
        assert.deepStrictEqual(b.icons, Array(BRANCH_COMMITS * 10).fill('pass'), 'every job of every commit shown as built');
        branch.push(b.ms);
        const h = await loadWith(dir, storage, 'head');
        assert.strictEqual(h.targets, 1);
        head.push(h.ms);
      }
      const [firstBranch, ...restBranch] = branch;
      const [firstHead, ...restHead] = head;
      const b = summary(restBranch);
      const h = summary(restHead);
      report('branch.load', {
        rounds: ROUNDS, commits: BRANCH_COMMITS, jobs: 10,
        branch: { firstRoundMs: round(firstBranch, 1), totalMs: b }, head: { firstRoundMs: round(firstHead, 1), totalMs: h },
        ratio: round(b.median / h.median), budget: 'branch median <= 300 ms',
      });
    } finally {
      fs.rmSync(storage, { recursive: true, force: true });
    }
  });
});
