// Explain Key for every pair of builds a person makes — commit and commit, the working tree and a commit, a
// commit and the working tree, the working tree twice — in real repositories: the files' blob ids compared,
// each side listed as its key saw it; and, when a working tree's files are gone, said plainly, never an error.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { JobKey } from '../../src/jobs/keys/key';
import { InputFiles } from '../../src/jobs/inputFiles';
import { RepoJobs, type Explanation } from '../../src/jobs/repoJobs';
import { SourceRepo } from '../../src/store/source/sourceRepo';
import { treeIdOfFiles } from '../../src/store/source/worktree';
import { git, repo, rootTreeWithout, tempRoot, write } from '../fixtures';

const tmp = tempRoot('explain');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const CACHE = path.join(tmp, 'cache');

let n = 0;
/** A repository whose job `check` depends on src/ (three files), with a README it does not depend on. */
function project(jobs: object = { check: { run: 'true', inputs: ['src'] } }): string {
  return repo(path.join(tmp, `r${n++}`), { jobs, files: { 'src/a.txt': 'a\n', 'src/b.txt': 'b\n', 'src/deep/c.txt': 'c\n', 'README.md': 'r\n' } });
}

function commitAll(dir: string, message = 'change'): string {
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', message);
  return git(dir, 'rev-parse', 'HEAD');
}

async function withJobs<T>(dir: string, fn: (jobs: RepoJobs) => Promise<T>): Promise<T> {
  const jobs = await RepoJobs.open({ dir, cacheDir: CACHE });
  try { return await fn(jobs); } finally { jobs.dispose(); }
}

/** The key of job `check` at HEAD, and at the working tree (read afresh). */
async function headKey(jobs: RepoJobs, dir: string, job = 'check'): Promise<JobKey> {
  return (await jobs.jobsAt(git(dir, 'rev-parse', 'HEAD'))).keys.find((k) => k.job.name === job)!;
}
async function worktreeKey(jobs: RepoJobs, job = 'check'): Promise<JobKey> {
  const wt = await jobs.worktreeJobs();
  assert.ok(wt.at, 'the working tree differs from HEAD');
  return wt.at.keys.find((k) => k.job.name === job)!;
}

/** Builds a key until its result is saved. */
async function build(jobs: RepoJobs, key: JobKey): Promise<void> {
  let s = await jobs.lookup(key);
  while (s.result.kind === 'pending') { await s.result.changed; s = jobs.peek(key) ?? await jobs.lookup(key); }
  assert.equal(s.result.kind, 'success');
}

/**
 * Waits until the clock's next whole second: a result records when it finished in whole seconds, and the
 * previous build of a job is the one that finished last.
 */
function nextSecond(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000 - (Date.now() % 1000) + 5);
}

/** The one changed input of an explanation. */
function onlyInput(e: Explanation): NonNullable<Explanation['previous']>['changes']['inputs'][number] {
  assert.ok(e.previous, 'a previous build to compare with');
  assert.equal(e.previous.changes.inputs.length, 1, JSON.stringify(e.previous.changes));
  return e.previous.changes.inputs[0]!;
}

describe('Explain Key compares the files of each input, whatever each build was built from', () => {
  it('commit vs commit: the files added, removed and changed under a folder input, and nothing else', async () => {
    const dir = project();
    const c1 = git(dir, 'rev-parse', 'HEAD');
    await withJobs(dir, async (jobs) => {
      await build(jobs, await headKey(jobs, dir));
      write(dir, { 'src/a.txt': 'a2\n', 'src/b.txt': null, 'src/deep/new.txt': 'new\n', 'README.md': 'not an input\n' });
      const c2 = commitAll(dir);
      const key = await headKey(jobs, dir);
      await build(jobs, key);
      const e = await jobs.explain(key);
      assert.deepEqual([e.job, e.key, e.commit, e.worktree], ['check', key.digest, c2, false]);
      assert.deepEqual(e.inputs, [{ input: 'src', kind: 'path', id: git(dir, 'rev-parse', `${c2}:src`), files: 3 }]);
      assert.equal(e.result?.source, c2);
      assert.equal(e.result?.fromWorktree, false);
      assert.match(String(e.result?.builtBy), /\S+@\S+ \(/);
      assert.deepEqual([e.previous?.commit, e.previous?.worktree, e.previous?.build.source], [c1, false, c1]);
      assert.deepEqual([e.previous?.changes.definition, e.previous?.changes.tool, e.previous?.changes.setup, e.previous?.changes.needs], [[], null, null, []]);
      assert.deepEqual(onlyInput(e), {
        input: 'src', unlisted: null,
        before: { input: 'src', kind: 'path', id: git(dir, 'rev-parse', `${c1}:src`), files: 3 },
        after: { input: 'src', kind: 'path', id: git(dir, 'rev-parse', `${c2}:src`), files: 3 },
        files: { added: ['src/deep/new.txt'], removed: ['src/b.txt'], changed: ['src/a.txt'] },
      });
      assert.equal(e.keyJson.digest, key.digest, 'the raw key, as key.json records it');
    });
  });

  it('working tree vs commit: an edited file of the working tree, listed from its changes over HEAD', async () => {
    const dir = project();
    const c1 = git(dir, 'rev-parse', 'HEAD');
    await withJobs(dir, async (jobs) => {
      await build(jobs, await headKey(jobs, dir));
      write(dir, { 'src/a.txt': 'edited\n', 'src/untracked.txt': 'new\n' });
      const key = await worktreeKey(jobs);
      await build(jobs, key);
      const e = await jobs.explain(key);
      assert.deepEqual([e.commit, e.worktree, e.result?.source, e.result?.fromWorktree], [c1, true, c1, true]);
      assert.deepEqual(e.inputs.map((i) => [i.input, i.files]), [['src', 4]]);
      assert.deepEqual([e.previous?.commit, e.previous?.worktree], [c1, false]);
      assert.deepEqual(onlyInput(e).files, { added: ['src/untracked.txt'], removed: [], changed: ['src/a.txt'] });
    });
  });

  it('commit vs working tree: HEAD after a build of the working tree lists what that build had, from the working tree still there', async () => {
    const dir = project();
    const c1 = git(dir, 'rev-parse', 'HEAD');
    await withJobs(dir, async (jobs) => {
      const head = await headKey(jobs, dir);
      await build(jobs, head);
      write(dir, { 'src/a.txt': 'edited\n' });
      await build(jobs, await worktreeKey(jobs));
      const e = await jobs.explain(head);
      assert.deepEqual([e.commit, e.worktree, e.previous?.commit, e.previous?.worktree, e.previous?.build.fromWorktree], [c1, false, c1, true, true]);
      const input = onlyInput(e);
      assert.deepEqual([input.files, input.unlisted], [{ added: [], removed: [], changed: ['src/a.txt'] }, null]);
      assert.equal(input.before?.files, 3);
    });
  });

  it('working tree vs working tree: exact once the earlier changes were committed; said plainly, with the ids, once they are gone', async () => {
    const dir = project();
    await withJobs(dir, async (jobs) => {
      write(dir, { 'src/a.txt': 'first edit\n' });
      await build(jobs, await worktreeKey(jobs));
      // Edited again: the first build's changes are in no commit and no longer in the working tree.
      write(dir, { 'src/a.txt': 'second edit\n', 'src/b.txt': 'b edited\n' });
      const second = await worktreeKey(jobs);
      nextSecond();
      await build(jobs, second);
      const gone = await jobs.explain(second);
      const input = onlyInput(gone);
      assert.equal(input.files, null);
      assert.match(String(input.unlisted), /^The previous build's files cannot be listed: the working tree's changes it was built from \(over [0-9a-f]{7}\) are no longer there: edited again, reverted or never committed\.$/);
      assert.ok(input.before?.id && input.after?.id && input.before.id !== input.after.id, 'the ids that differ');
      assert.deepEqual([input.before?.files, input.after?.files], [null, 3]);

      // Committed, then edited once more: the earlier working tree's trees are in git now.
      const c2 = commitAll(dir);
      write(dir, { 'src/deep/c.txt': 'c edited\n' });
      const third = await worktreeKey(jobs);
      assert.equal(third.commit, c2);
      await build(jobs, third);
      const e = await jobs.explain(third);
      assert.deepEqual([e.previous?.worktree, e.previous?.key], [true, second.digest]);
      assert.deepEqual(onlyInput(e).files, { added: [], removed: [], changed: ['src/deep/c.txt'] });
    });
  });

  it('after a build of the working tree whose changes were then committed: the commit reuses it, and both sides list', async () => {
    const dir = project();
    const c1 = git(dir, 'rev-parse', 'HEAD');
    await withJobs(dir, async (jobs) => {
      const first = await headKey(jobs, dir);
      await build(jobs, first);
      write(dir, { 'src/a.txt': 'edited\n' });
      await build(jobs, await worktreeKey(jobs));
      const c2 = commitAll(dir);
      const head = await headKey(jobs, dir);
      const e = await jobs.explain(head);
      assert.deepEqual([e.commit, e.worktree, e.result?.source, e.result?.fromWorktree], [c2, false, c1, true], 'a hit: the result built from the working tree over c1');
      assert.deepEqual(onlyInput(e).files, { added: [], removed: [], changed: ['src/a.txt'] });
      // c1 against the build of the working tree over it, whose trees the commit wrote.
      const back = await jobs.explain(first);
      assert.deepEqual([back.previous?.commit, back.previous?.worktree], [c1, true]);
      assert.deepEqual([onlyInput(back).files, onlyInput(back).unlisted], [{ added: [], removed: [], changed: ['src/a.txt'] }, null]);
    });
  });

  it('after a build of the working tree whose changes were then reverted: the ids that differ, and why its files cannot be listed', async () => {
    const dir = project();
    const c1 = git(dir, 'rev-parse', 'HEAD');
    await withJobs(dir, async (jobs) => {
      const head = await headKey(jobs, dir);
      await build(jobs, head);
      write(dir, { 'src/a.txt': 'edited\n' });
      const wt = await worktreeKey(jobs);
      await build(jobs, wt);
      git(dir, 'checkout', '--', 'src/a.txt');
      const e = await jobs.explain(head);
      const input = onlyInput(e);
      assert.deepEqual([input.files, input.before?.id, input.after?.id], [null, wt.inputs.src, git(dir, 'rev-parse', `${c1}:src`)]);
      assert.match(String(input.unlisted), /no longer there/);
      assert.deepEqual(e.inputs, [{ input: 'src', kind: 'path', id: git(dir, 'rev-parse', `${c1}:src`), files: 3 }], 'this key\'s own files still list');
    });
  });

  it('says which fields of the definition changed, and lists a pattern\'s files from the key itself', async () => {
    const dir = project({ check: { run: 'true', inputs: ['src/*.txt'] } });
    await withJobs(dir, async (jobs) => {
      await build(jobs, await headKey(jobs, dir));
      write(dir, { '.datakit-ci.json': JSON.stringify({ jobs: { check: { run: 'echo changed', inputs: ['src/*.txt'], timeout: '5m' } } }), 'src/a.txt': 'edited\n' });
      const key = await worktreeKey(jobs);
      await build(jobs, key);
      const e = await jobs.explain(key);
      assert.deepEqual(e.previous?.changes.definition, ['run', 'timeout']);
      assert.deepEqual(e.inputs, [{ input: 'src/*.txt', kind: 'pattern', id: null, files: 2 }]);
      assert.deepEqual(onlyInput(e).files, { added: [], removed: [], changed: ['src/a.txt'] });
    });
  });

  it('says of a result fetched from a remote who built it and which remote it came from', async () => {
    const remote = path.join(tmp, `remote${n++}.git`);
    git(tmp, 'clone', '-q', '--bare', project(), remote);
    const [ci, mine] = ['ci', 'mine'].map((name) => { const d = path.join(tmp, `${name}${n++}`); git(tmp, 'clone', '-q', remote, d); return d; });
    await withJobs(ci!, async (jobs) => { await build(jobs, await headKey(jobs, ci!)); await jobs.push('origin'); });
    await withJobs(mine!, async (jobs) => {
      await jobs.fetch('origin');
      const e = await jobs.explain(await headKey(jobs, mine!));
      assert.deepEqual([e.result?.fetchedFrom, e.result?.source, e.result?.fromWorktree], ['origin', git(mine!, 'rev-parse', 'HEAD'), false]);
      assert.match(String(e.result?.builtBy), /\S+@\S+ \(/);
    });
  });

  it('in an untrusted workspace (no git): who built the result, and which inputs\' ids differ, without listing files', async () => {
    const dir = project();
    await withJobs(dir, async (jobs) => {
      await build(jobs, await headKey(jobs, dir));
      write(dir, { 'src/a.txt': 'a2\n' });
      commitAll(dir);
      await build(jobs, await headKey(jobs, dir));
    });
    const untrusted = await RepoJobs.open({ dir, cacheDir: CACHE, trusted: false });
    try {
      const at = await untrusted.cachedJobsAt(git(dir, 'rev-parse', 'HEAD'));
      const e = await untrusted.explain(at!.keys[0]!);
      assert.match(String(e.result?.builtBy), /\S+@\S+ \(/);
      assert.deepEqual(e.inputs.map((i) => i.files), [null]);
      const input = onlyInput(e);
      assert.deepEqual([input.files, input.unlisted], [null, 'The previous build\'s files cannot be listed: git runs in no untrusted workspace.']);
      assert.notEqual(input.before?.id, input.after?.id);
    } finally { untrusted.dispose(); }
  });

  it('a job never built, with no other build: its inputs and raw key, no result, nothing to compare', async () => {
    const dir = project({ check: { run: 'true' } });
    await withJobs(dir, async (jobs) => {
      const key = await headKey(jobs, dir);
      const e = await jobs.explain(key);
      assert.deepEqual([e.result, e.previous], [null, null]);
      const withoutConfig = rootTreeWithout(dir, 'HEAD', '.datakit-ci.json');
      assert.deepEqual(e.inputs, [{ input: '.', kind: 'path', id: withoutConfig, files: 4 }], 'the whole tree but the configuration file');
    });
  });
});

describe('the files of an input, as its key saw them', () => {
  it('lists the whole tree of a key that leaves .datakit-ci.json out of it, and only a listing with the very id', async () => {
    const dir = project();
    const head = git(dir, 'rev-parse', 'HEAD');
    const source = await SourceRepo.open(dir);
    try {
      const all = await source.listFiles(head, ['']);
      const without = treeIdOfFiles(all.filter((f) => f.path !== '.datakit-ci.json'))!;
      const files = new InputFiles(source, async () => undefined);
      const listed = await files.list({ commit: head, worktree: false }, '.', without);
      assert.ok('files' in listed);
      assert.deepEqual([...listed.files.keys()], ['README.md', 'src/a.txt', 'src/b.txt', 'src/deep/c.txt']);
      assert.equal(treeIdOfFiles(all), git(dir, 'rev-parse', 'HEAD^{tree}'), 'the ids git gives');
      const unknown = await files.list({ commit: head, worktree: false }, 'src', '0'.repeat(40));
      assert.deepEqual(unknown, { unlisted: `git has neither its object id nor, at commit ${head.slice(0, 7)}, files with that id` });
    } finally { source.dispose(); }
  });
});
