// One activation-equivalent load of a repository, timed by phase: what `activate` does for each repository
// of the workspace (Sessions.sync: RepoJobs.open, a Session, its start — targets, the keys of HEAD's jobs,
// each job's saved status), then what the Builds view asks of the tree (every row and its TreeItem).
// The classes are the project's compiled sources, loaded beside the extension's bundle: the same code.
import * as assert from 'assert';
import { performance } from 'perf_hooks';
import * as vscode from 'vscode';
import { LogManager } from '../../../src/engine/liveLog';
import { CacheMetrics } from '../../../src/engine/metrics';
import { Pool } from '../../../src/engine/pool';
import { RepoJobs } from '../../../src/jobs/repoJobs';
import { locateRepository, type RepositoryDirs } from '../../../src/store/source/gitDirs';
import { Session } from '../../../src/extension/session/session';
import type { Sessions } from '../../../src/extension/session/sessions';
import { Operations } from '../../../src/extension/operations';
import { readSettings } from '../../../src/extension/settings';
import { TreeModel, type Node } from '../../../src/extension/tree/treeModel';
import { BuildTreeProvider } from '../../../src/extension/tree/treeProvider';

export interface LoadTimes {
  /** Logs, metrics, pool and RepoJobs.open (the results repository opened). */
  open: number;
  /** Session.start: targets (git), keys of HEAD's jobs (the saved keys file), each job's saved status. */
  start: number;
  /** getChildren and getTreeItem of every row (target, 10 jobs; commit times of each saved result). */
  tree: number;
  total: number;
}

export interface Rows { target: string; jobs: { name: string; icon: string }[] }

/** Every row of a single-repository tree, as the view would ask for them. */
/** A log channel for what the benches' sessions say (nobody reads it). */
let quiet: vscode.LogOutputChannel | undefined;
export function quietOutput(): vscode.LogOutputChannel {
  return (quiet ??= vscode.window.createOutputChannel('DataKit CI bench session', { log: true }));
}

/** A memory of nothing (the benches' windows never asked anything). */
export const NO_MEMORY = { get: () => undefined, update: async () => {} };

/** A tree provider's view of one session's changes, as the window's Sessions tells them. */
export function sessionsOf(session: Session): Sessions {
  return { onDidChange: (listener: (e: unknown) => void) => session.onDidChange((change) => listener({ session, change })) } as unknown as Sessions;
}

export async function walkTree(tree: BuildTreeProvider): Promise<Rows> {
  const roots = ((await tree.getChildren()) ?? []) as Node[];
  assert.strictEqual(roots.length, 1, 'one target (HEAD)');
  const target = await tree.getTreeItem(roots[0]);
  const jobs: Rows['jobs'] = [];
  for (const node of ((await tree.getChildren(roots[0])) ?? []) as Node[]) {
    const item = await tree.getTreeItem(node);
    jobs.push({ name: String(item.label), icon: (item.iconPath as vscode.ThemeIcon).id });
  }
  return { target: String(target.label), jobs };
}

/** The rows every load must show: HEAD's 10 jobs, built, `lint` failed. */
export function checkRows(rows: Rows): void {
  assert.strictEqual(rows.jobs.length, 10);
  assert.deepStrictEqual(rows.jobs.filter((j) => j.icon !== 'pass').map((j) => `${j.name}:${j.icon}`), ['lint:error']);
}

/** What Sessions.sync does before a Session exists. */
export async function open(dir: string, storage: string): Promise<{ dirs: RepositoryDirs; jobs: RepoJobs }> {
  const s = readSettings(vscode.Uri.file(dir));
  const logs = new LogManager({ capBytes: s.logCapBytes });
  const metrics = new CacheMetrics();
  const pool = new Pool('builds', s.maxParallelBuilds, metrics);
  const dirs = locateRepository(dir);
  assert.ok(dirs, `a repository holds ${dir}`);
  const jobs = await RepoJobs.open({ dirs, logs, metrics, pool, cacheDir: storage, logger: { info: () => {}, error: (m) => console.error(m) } });
  return { dirs, jobs };
}

/** Loads the repository holding `dir` the way activation does, then disposes everything. */
export async function loadOnce(dir: string, storage: string): Promise<LoadTimes> {
  const folder = vscode.Uri.file(dir);
  const t0 = performance.now();
  const { jobs } = await open(dir, storage);
  const t1 = performance.now();
  const session = new Session(jobs, { folder, settings: () => readSettings(folder), ops: new Operations(quietOutput()), onHeadBuildFailed: () => {}, log: () => {}, memory: NO_MEMORY });
  const tree = new BuildTreeProvider(new TreeModel(() => [session]), sessionsOf(session));
  try {
    await session.start();
    const t2 = performance.now();
    const rows = await walkTree(tree);
    const t3 = performance.now();
    checkRows(rows);
    return { open: t1 - t0, start: t2 - t1, tree: t3 - t2, total: t3 - t0 };
  } finally {
    tree.dispose();
    session.dispose();
  }
}

export interface StepTimes {
  /** HEAD and the branches, read with git (the first git command starts the reader's processes). */
  targets: number;
  /** The keys of HEAD's jobs: the saved keys file. */
  keys: number;
  /** Each job's saved status: its ref, commit, tree (and value paths) in the results repository. */
  statuses: number;
  /** Start and finish times of each saved result (for the tree's descriptions). */
  commitTimes: number;
}

/** The steps of Session.start and the tree, one by one, on a fresh RepoJobs: where a load's time goes. */
export async function stepsOnce(dir: string, storage: string): Promise<StepTimes> {
  const { jobs } = await open(dir, storage);
  try {
    const t0 = performance.now();
    const [head] = await jobs.targets(false);
    const t1 = performance.now();
    const at = await jobs.jobsAt(head.commit);
    const t2 = performance.now();
    const statuses = [];
    for (const key of at.keys) { statuses.push(await jobs.query(key)); }
    const t3 = performance.now();
    for (const s of statuses) {
      if (s?.output.kind === 'saved') { await jobs.resultTimes(s.output.saved.commit); }
    }
    const t4 = performance.now();
    assert.strictEqual(statuses.filter((s) => s?.output.kind === 'saved').length, 10);
    return { targets: t1 - t0, keys: t2 - t1, statuses: t3 - t2, commitTimes: t4 - t3 };
  } finally {
    jobs.dispose();
  }
}
