// `datakit-ci status` on a fully cached repository: whole-process wall time, against `node -e 0` (the
// floor of any Node CLI) and `git status`, run side by side in rotating order.
// Run after `npm run build`: node bench/cli.bench.mjs [rounds]
// Budget: status of 10 built jobs ≤ 300 ms median; (b) also with 10,000 other entries after `git gc`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { GIT_ENV, distFile, git, gitIn, makeEntries, median, ms, record, sideBySide, verdict, wall, withTmp } from './lib.mjs';

const ROUNDS = Number(process.argv[2] ?? 20);
const JOBS = 10;
const DIRS = 20;
const FILES_PER_DIR = 25;
const OTHER_ENTRIES = 10_000;

/** A repository of DIRS × FILES_PER_DIR files and JOBS jobs, each with its own inputs. */
function makeRepo(dir) {
  fs.mkdirSync(dir);
  gitIn(dir, ['init', '-q', '-b', 'main']);
  for (let d = 0; d < DIRS; d++) {
    fs.mkdirSync(path.join(dir, 'src', `d${d}`), { recursive: true });
    for (let f = 0; f < FILES_PER_DIR; f++) {
      fs.writeFileSync(path.join(dir, 'src', `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`);
    }
  }
  fs.writeFileSync(path.join(dir, 'package.json'), '{}\n');
  const jobs = Object.fromEntries(Array.from({ length: JOBS }, (_, j) => [`job${j}`, {
    run: `echo building job${j}`,
    inputs: [`src/d${j}`, `src/d${j + DIRS / 2}`, 'package.json'],
  }]));
  fs.writeFileSync(path.join(dir, '.datakit-ci.json'), JSON.stringify({ jobs }, null, 2) + '\n');
  gitIn(dir, ['add', '-A']);
  gitIn(dir, ['commit', '-q', '-m', 'bench']);
}

await withTmp('dkci-cli-bench-', async (tmp) => {
  const cli = distFile('cli.js');
  const repo = path.join(tmp, 'repo');
  makeRepo(repo);
  // Build directories go to the temp dir, not the user's cache directory.
  const env = { ...GIT_ENV, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'cache') };
  const built = spawnSync(process.execPath, [cli, 'build'], { cwd: repo, env, encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  const status = spawnSync(process.execPath, [cli, 'status', '--json'], { cwd: repo, env, encoding: 'utf8' });
  assert.equal(status.status, 0, status.stderr);
  const states = JSON.parse(status.stdout).jobs.map((j) => j.state);
  assert.deepEqual(states, Array(JOBS).fill('success'), 'every job is built');

  const run = (cmd, args) => () => wall(cmd, args, { cwd: repo, env });
  const times = await sideBySide({
    status: run(process.execPath, [cli, 'status']),
    version: run(process.execPath, [cli, '--version']),
    node: run(process.execPath, ['-e', '0']),
    git: run('git', ['status']),
  }, ROUNDS);
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  console.log(`(a) datakit-ci status, ${JOBS} jobs built, ${DIRS * FILES_PER_DIR + 2} files: ${ms(m.status)} median of ${ROUNDS} (min ${ms(Math.min(...times.status))}) — ${verdict(m.status <= 300)}`);
  console.log(`    node -e 0 ${ms(m.node)} (ratio ${(m.status / m.node).toFixed(1)}); git status ${ms(m.git)} (ratio ${(m.status / m.git).toFixed(1)}); datakit-ci --version (bundle load only) ${ms(m.version)}`);
  console.log(`    so: bundle load ≈ ${ms(m.version - m.node)}, status work ≈ ${ms(m.status - m.version)}`);

  // A results repository used for a while: 10,000 other entries, then `git gc` (packed refs, one pack).
  const results = path.join(repo, '.git', 'datakit-ci');
  const others = path.join(tmp, 'others');
  makeEntries(others, OTHER_ENTRIES);
  git(results, ['fetch', '-q', others, 'refs/heads/*:refs/heads/*']);
  git(results, ['gc', '--quiet']);
  const after = await sideBySide({
    status: run(process.execPath, [cli, 'status']),
    node: run(process.execPath, ['-e', '0']),
  }, ROUNDS);
  const g = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, median(v)]));
  console.log(`(b) the same with ${OTHER_ENTRIES} other entries in the results repository, after git gc: ${ms(g.status)} median (node -e 0 ${ms(g.node)}; status above node ${ms(g.status - g.node)}, was ${ms(m.status - m.node)}) — ${verdict(g.status <= 300)}`);
  record('cli', { jobs: JOBS, rounds: ROUNDS, medianMs: m, afterGcMs: g });
});
