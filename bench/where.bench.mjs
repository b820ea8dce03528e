// Where the work is (issue 10): (a) the keys of the working tree, (b) `status --range` over 50 built
// commits, (c) the history of one job among 10,000 saved results — each against a baseline run side by side.
// Run after `npm run build` and `npx tsc -p tsconfig.test.json`: node bench/where.bench.mjs [a] [b] [c] [rounds]
// Budgets: (a) ≤ 50 ms median and ≤ 0.5× `git status` on the same tree (10,000 tracked files, 10 changed,
// 10 jobs); (b) ≤ 300 ms whole process; (c) ≤ 50 ms.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { GIT_ENV, distFile, git, gitIn, median, ms, record, requireOut, sideBySide, verdict, wall, withTmp } from './lib.mjs';

const { RepoJobs } = requireOut('jobs/repoJobs');

const args = process.argv.slice(2);
const ROUNDS = Number(args.find((a) => /^\d+$/.test(a)) ?? 20);
const parts = args.filter((a) => /^[abc]$/.test(a));
const want = (p) => parts.length === 0 || parts.includes(p);
const figures = {};

/** 100 folders of 100 files under src/, ten jobs on ten folders each (the last on the whole tree). */
function makeBigRepo(dir) {
  fs.mkdirSync(dir);
  gitIn(dir, ['init', '-q', '-b', 'main']);
  for (let d = 0; d < 100; d++) {
    fs.mkdirSync(path.join(dir, 'src', `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) { fs.writeFileSync(path.join(dir, 'src', `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`); }
  }
  const jobs = Object.fromEntries(Array.from({ length: 10 }, (_, j) => [`job${j}`, {
    run: `echo job${j}`,
    ...(j < 9 ? { inputs: Array.from({ length: 10 }, (_, k) => `src/d${j * 10 + k}`) } : {}),
  }]));
  fs.writeFileSync(path.join(dir, '.datakit-ci.json'), JSON.stringify({ jobs }, null, 2) + '\n');
  gitIn(dir, ['add', '-A']);
  gitIn(dir, ['commit', '-q', '-m', 'bench']);
  // 10 changed files, one in each of 10 folders (so that every job's key changes).
  const changed = Array.from({ length: 10 }, (_, i) => `src/d${i * 10 + 3}/f7.txt`);
  for (const f of changed) { fs.appendFileSync(path.join(dir, f), 'changed\n'); }
  return changed;
}

await withTmp('dkci-where-bench-', async (tmp) => {
  const env = { ...GIT_ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache') };

  if (want('a')) {
    const repo = path.join(tmp, 'big');
    const changed = makeBigRepo(repo);
    gitIn(repo, ['status', '--porcelain']); // git's own index refresh, once, as any git user's would have done
    const jobs = await RepoJobs.open({ dir: repo, cacheDir: path.join(tmp, 'cache') });
    try {
      const first = await jobs.worktreeJobs();
      assert.equal(first.state.changes.size, 10);
      assert.equal(first.at.keys.length, 10);
      const head = await jobs.jobsAt(first.state.head);
      assert.ok(first.at.keys.every((k, i) => k.digest !== head.keys[i].digest), 'every key changed');
      let previous = first.state;
      const times = await sideBySide({
        // The extension: a watcher reported these paths; the rest is known.
        incremental: async () => { const wt = await jobs.worktreeJobs({ paths: changed, previous }); previous = wt.state; assert.equal(wt.at.keys.length, 10); },
        // The command line: a full reading of the working tree.
        full: async () => { const wt = await jobs.worktreeJobs(); assert.equal(wt.at.keys.length, 10); },
        gitStatus: () => wall('git', ['status', '--porcelain=v2', '-z', '--untracked-files=all'], { cwd: repo, env: { ...GIT_ENV, GIT_OPTIONAL_LOCKS: '0' } }),
      }, ROUNDS);
      const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
      console.log(`(a) keys of the working tree, 10,000 tracked files, 10 changed, 10 jobs — median of ${ROUNDS}`);
      console.log(`    incremental (the paths a watcher reported): ${ms(m.incremental)} — ${verdict(m.incremental <= 50 && m.incremental <= 0.5 * m.gitStatus)} (ratio to git status ${(m.incremental / m.gitStatus).toFixed(2)})`);
      console.log(`    full reading (datakit-ci build --worktree): ${ms(m.full)} (ratio to git status ${(m.full / m.gitStatus).toFixed(2)})`);
      console.log(`    git status --porcelain=v2 --untracked-files=all: ${ms(m.gitStatus)}`);
      figures.worktreeKeysMs = m;
    } finally {
      jobs.dispose();
    }
  }

  if (want('b')) {
    const repo = path.join(tmp, 'range');
    makeBigRepo(repo);
    gitIn(repo, ['checkout', '-q', '--', '.']);
    // 50 commits, each changing one folder: some keys change from commit to commit, most are shared.
    for (let i = 0; i < 50; i++) {
      fs.appendFileSync(path.join(repo, 'src', `d${i * 2}`, 'f0.txt'), `commit ${i}\n`);
      gitIn(repo, ['commit', '-qam', `commit ${i}`]);
    }
    const cli = distFile('cli.js');
    const built = spawnSync(process.execPath, [cli, 'build', '--range', 'HEAD~50..HEAD', '--json'], { cwd: repo, env, encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(built.status, 0, built.stderr);
    const out = JSON.parse(built.stdout);
    assert.equal(out.commits.length, 50);
    const runWall = (a) => () => wall(process.execPath, [cli, ...a], { cwd: repo, env });
    const times = await sideBySide({
      range: runWall(['status', '--range', 'HEAD~50..HEAD']),
      head: runWall(['status']),
      node: () => wall(process.execPath, ['-e', '0']),
    }, ROUNDS);
    const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
    const distinct = new Set(out.commits.flatMap((c) => c.jobs.map((j) => j.key))).size;
    console.log(`(b) datakit-ci status --range over 50 built commits × 10 jobs (${distinct} distinct keys): ${ms(m.range)} median of ${ROUNDS} — ${verdict(m.range <= 300)}`);
    console.log(`    status of HEAD alone ${ms(m.head)}; node -e 0 ${ms(m.node)} (range above node: ${ms(m.range - m.node)})`);
    figures.statusRangeMs = m;
  }

  if (want('c')) {
    const repo = path.join(tmp, 'history');
    fs.mkdirSync(repo);
    gitIn(repo, ['init', '-q', '-b', 'main']);
    fs.writeFileSync(path.join(repo, 'a.txt'), 'a\n');
    gitIn(repo, ['add', '-A']);
    gitIn(repo, ['commit', '-q', '-m', 'one']);
    const results = path.join(repo, '.git', 'datakit-ci');
    git(results, ['init', '-q', '--bare']);
    // 10,000 results of 10 jobs (1,000 keys each), one commit each, as the engine writes them; then gc.
    const names = Array.from({ length: 10 }, (_, j) => `job${j}`);
    const chunks = [];
    const data = (s) => `data ${Buffer.byteLength(s)}\n${s}\n`;
    const start = 1_700_000_000;
    for (let i = 0; i < 10_000; i++) {
      const job = names[i % 10];
      const digest = createHash('sha256').update(`k${i}`).digest('hex');
      const source = createHash('sha1').update(`c${i}`).digest('hex');
      const failed = i % 7 === 0;
      const msg = `${job} @ ${source.slice(0, 7)}: ${failed ? 'failed after 2.0 s: Command exited with code 1' : 'passed in 2.0 s'}\n\nJob: ${job}\nSource-Commit: ${source}\nBuilt-By: bench@host (linux-x64)\nRun-Time-Ms: 2000\nQueue-Time-Ms: 10\n`;
      chunks.push(`commit refs/heads/shell/${job}/${digest.slice(0, 16)}\nauthor DataKit CI <datakit-ci@localhost> ${start + i * 60} +0000\ncommitter DataKit CI <datakit-ci@localhost> ${start + i * 60 + 2} +0000\n${data(msg)}`);
      chunks.push(`M 100644 inline log\n${data(`=== ${job}\nline ${i}\n${failed ? 'Failed' : 'Success'}\n`)}`);
      chunks.push(`M 100644 inline key.json\n${data(JSON.stringify({ digest, commit: source }))}`);
      if (failed) { chunks.push(`M 100644 inline failure\n${data('Command exited with code 1')}`); }
    }
    spawnSync('git', [`--git-dir=${results}`, 'fast-import', '--quiet'], { input: chunks.join(''), env: GIT_ENV, maxBuffer: 64 << 20 });
    git(results, ['gc', '--quiet']);
    const jobs = await RepoJobs.open({ dir: repo, cacheDir: path.join(tmp, 'cache') });
    try {
      const h = await jobs.jobHistory('job3', 50);
      assert.equal(h.length, 50);
      assert.equal(h[0].source, createHash('sha1').update('c9993').digest('hex'), 'the newest build of job3 first');
      const times = await sideBySide({
        // A fresh RepoJobs each round: nothing of the history is in memory.
        history: async () => {
          const j = await RepoJobs.open({ dir: repo, cacheDir: path.join(tmp, 'cache') });
          try { await j.jobHistory('job3', 50); } finally { j.dispose(); }
        },
        again: () => jobs.jobHistory('job3', 50),
        gitLog: () => wall('git', [`--git-dir=${results}`, 'log', '-n', '50', '--format=%H%x00%s%x00%ct', '--branches=shell/job3/*']),
      }, ROUNDS);
      const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
      console.log(`(c) the last 50 builds of one job among 10,000 saved results (packed): ${ms(m.history)} median of ${ROUNDS} with the store opened each time — ${verdict(m.history <= 50)}`);
      console.log(`    again in the same process ${ms(m.again)}; git log -n 50 --branches=shell/job3/* ${ms(m.gitLog)} (ratio ${(m.history / m.gitLog).toFixed(2)})`);
      figures.historyMs = m;
    } finally {
      jobs.dispose();
    }
  }
  record('where', { rounds: ROUNDS, ...figures });
});
