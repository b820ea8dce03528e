// A fully cached `datakit-ci build` against a fully cached `turbo run` of the same 4 tasks in the same
// repository: whole-process wall time, side by side in rotating order, with `node -e 0` as the floor.
// Run after `npm run build`: node bench/turbo.bench.mjs [rounds]
// With DATAKIT_CI_BASELINE_DIST=<another checkout's dist/>, that build's command line runs in the same rounds
// ("baseline"): a change's cost on the cached path, side by side.
// turbo comes from the npm registry (its platform binary is an optional dependency) and is installed once
// into bench/results/turbo/ (git-ignored), kept between runs; delete that directory to get a newer one.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gitIn, median, ms, record, sideBySide, TURBO_DIR, wall, withTurbo } from './lib.mjs';

const ROUNDS = Number(process.argv[2] ?? 20);
const TASKS = ['t1', 't2', 't3', 't4'];

/**
 * One package (turbo's single-package mode: tasks are the root package.json's scripts) and the same
 * four jobs in .datakit-ci.json, each echoing a line; both key on every tracked file of the commit.
 */
function makeRepo(dir, env) {
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  gitIn(dir, ['init', '-q', '-b', 'main']);
  const npmVersion = execFileSync('npm', ['--version'], { env, encoding: 'utf8' }).trim();
  const scripts = Object.fromEntries(TASKS.map((t) => [t, `echo task ${t} done`]));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'bench', private: true, packageManager: `npm@${npmVersion}`, scripts }, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, 'turbo.json'), JSON.stringify({ tasks: Object.fromEntries(TASKS.map((t) => [t, {}])) }, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, '.datakit-ci.json'), JSON.stringify({ jobs: Object.fromEntries(TASKS.map((t) => [t, { run: `echo task ${t} done` }])) }, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, '.gitignore'), '.turbo/\nnode_modules\n');
  for (let i = 0; i < 50; i++) { fs.writeFileSync(path.join(dir, 'src', `f${i}.ts`), `export const x${i} = ${i};\n`); }
  // turbo found in the repository's node_modules runs as the local turbo (no hand-off to another copy).
  fs.symlinkSync(path.join(TURBO_DIR, 'node_modules'), path.join(dir, 'node_modules'));
  gitIn(dir, ['add', '-A']);
  gitIn(dir, ['commit', '-q', '-m', 'bench']);
}

await withTurbo('dkci-turbo-bench-', async ({ tmp, turbo, cli, env }) => {
  const repo = path.join(tmp, 'repo');
  makeRepo(repo, env);
  const run = (cmd, args) => spawnSync(cmd, args, { cwd: repo, env, encoding: 'utf8' });
  const turboArgs = ['run', ...TASKS];
  const commits = () => gitIn(repo, ['--git-dir=.git/datakit-ci', 'rev-list', '--all', '--count']);

  // First runs fill both caches; the second runs must be hits only.
  for (const [cmd, args] of [[process.execPath, [cli, 'build']], [turbo.wrapper, turboArgs]]) {
    const r = run(cmd, args);
    assert.equal(r.status, 0, `${path.basename(cmd)} ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  }
  const saved = commits();
  const again = run(process.execPath, [cli, 'build', '--json']);
  assert.deepEqual(JSON.parse(again.stdout).jobs.map((j) => j.state), TASKS.map(() => 'success'));
  assert.equal(commits(), saved, 'a cached build commits nothing');
  const hit = run(turbo.wrapper, turboArgs);
  assert.match(hit.stdout, new RegExp(`${TASKS.length} cached, ${TASKS.length} total`), hit.stdout);

  const baseline = process.env.DATAKIT_CI_BASELINE_DIST ? path.join(path.resolve(process.env.DATAKIT_CI_BASELINE_DIST), 'cli.js') : undefined;
  // A cache folder of its own: each build's command line keeps only its own compiled code there (see
  // src/cli/loader.ts), so sharing one would make both compile afresh on every run. A copy of the repository of
  // its own: each build keeps the keys it computed for the commit beside the results repository, sealed under
  // its cache folder's secret, and would find the other's there every round.
  const baselineEnv = { ...env, DATAKIT_CI_CACHE_DIR: path.join(tmp, 'baseline-cache') };
  const baselineRepo = `${repo}-baseline`;
  if (baseline) {
    fs.cpSync(repo, baselineRepo, { recursive: true, verbatimSymlinks: true });
    const r = spawnSync(process.execPath, [baseline, 'build', '--json'], { cwd: baselineRepo, env: baselineEnv, encoding: 'utf8' });
    assert.deepEqual(JSON.parse(r.stdout).jobs.map((j) => j.state), TASKS.map(() => 'success'), `the baseline reads the same results: ${r.stderr}`);
  }
  const times = await sideBySide({
    datakit: () => wall(process.execPath, [cli, 'build'], { cwd: repo, env }),
    ...(baseline ? { baseline: () => wall(process.execPath, [baseline, 'build'], { cwd: baselineRepo, env: baselineEnv }) } : {}),
    turbo: () => wall(turbo.wrapper, turboArgs, { cwd: repo, env }),
    turboNative: () => wall(turbo.native, turboArgs, { cwd: repo, env }),
    node: () => wall(process.execPath, ['-e', '0'], { cwd: repo, env }),
  }, ROUNDS);
  assert.equal(commits(), saved, 'no rebuild happened during the rounds');
  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  console.log(`fully cached, ${TASKS.length} tasks, median of ${ROUNDS} (turbo ${turbo.version}):`);
  console.log(`  datakit-ci build ${ms(m.datakit)}; turbo run (npm's node wrapper, as installed) ${ms(m.turbo)}; ratio ${(m.datakit / m.turbo).toFixed(2)}`);
  console.log(`  turbo's native binary alone ${ms(m.turboNative)}; node -e 0 ${ms(m.node)}; datakit-ci above node's floor ${ms(m.datakit - m.node)}, turbo above it ${ms(m.turbo - m.node)}`);
  if (baseline) { console.log(`  the baseline build (${process.env.DATAKIT_CI_BASELINE_DIST}) ${ms(m.baseline)}; this build / baseline ${(m.datakit / m.baseline).toFixed(2)}; above node's floor ${ms(m.datakit - m.node)} vs ${ms(m.baseline - m.node)}`); }
  record('turbo', { tasks: TASKS.length, rounds: ROUNDS, turbo: turbo.version, medianMs: m });
});
