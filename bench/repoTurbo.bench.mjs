// A fully cached `datakit-ci build` of a real repository against a fully cached `turbo run` of the same tasks,
// whole-process wall time, side by side in rotating order, with `node -e 0` as the floor. Each runs in its own
// clone: REPO with the .datakit-ci.json committed and built once; TURBO_REPO with node_modules installed, a
// turbo.json, turbo in node_modules, and `turbo run TASKS` run until it says FULL TURBO.
// Run after `npm run build`: node bench/repoTurbo.bench.mjs REPO TURBO_REPO ROUNDS TASK... [--jobs=JOB,JOB...]
// (--jobs: the jobs our build builds, when turbo's TASKs are not all of them; default all)
// With DATAKIT_CI_BASELINE_DIST=<another checkout's dist/>, that build's command line runs in the same rounds on
// a copy of REPO (each build keeps the keys it computed for the commit beside the results repository: two builds
// that write them differently would each find the other's there every round), with a cache directory of its
// own (so that the two builds' compiled-code caches do not replace each other's; a fully cached build needs no
// build directory).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { distFile, median, sideBySide, wall } from './lib.mjs';

const args = process.argv.slice(2);
const jobs = (args.find((a) => a.startsWith('--jobs='))?.slice('--jobs='.length).split(',') ?? []).filter(Boolean);
const [repo, turboRepo, roundsArg, ...tasks] = args.filter((a) => !a.startsWith('--jobs='));
if (!repo || !turboRepo || tasks.length === 0) {
  console.error('usage: node bench/repoTurbo.bench.mjs REPO TURBO_REPO ROUNDS TASK...');
  process.exit(2);
}
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', TURBO_NO_UPDATE_NOTIFIER: '1' };
const cli = distFile('cli.js');
const baseline = process.env.DATAKIT_CI_BASELINE_DIST ? path.join(path.resolve(process.env.DATAKIT_CI_BASELINE_DIST), 'cli.js') : undefined;
const baselineEnv = baseline ? { ...env, DATAKIT_CI_CACHE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'dkci-baseline-cache-')) } : env;
const baselineRepo = baseline ? path.join(baselineEnv.DATAKIT_CI_CACHE_DIR, 'repo') : undefined;
if (baseline) { fs.cpSync(repo, baselineRepo, { recursive: true, verbatimSymlinks: true }); }
// A first run after a build of dist/ writes its compiled-code cache: not one of the rounds.
wall('node', [cli, 'build', ...jobs], { cwd: repo, env });
if (baseline) { wall('node', [baseline, 'build', ...jobs], { cwd: baselineRepo, env: baselineEnv }); }
const t = await sideBySide({
  datakit: () => wall('node', [cli, 'build', ...jobs], { cwd: repo, env }),
  ...(baseline ? { baseline: () => wall('node', [baseline, 'build', ...jobs], { cwd: baselineRepo, env: baselineEnv }) } : {}),
  turbo: () => wall('node_modules/turbo/bin/turbo', ['run', ...tasks, '--output-logs=none'], { cwd: turboRepo, env }),
  floor: () => wall('node', ['-e', '0'], { cwd: repo, env }),
}, Number(roundsArg ?? 7));
for (const [k, v] of Object.entries(t)) { console.log(`${k}: median ${median(v).toFixed(0)} ms [${v.map((x) => x.toFixed(0)).join(', ')}]`); }
console.log(`ratio to turbo ${(median(t.datakit) / median(t.turbo)).toFixed(2)}${t.baseline ? `, the baseline's ${(median(t.baseline) / median(t.turbo)).toFixed(2)}` : ''}`);
if (baseline) { fs.rmSync(baselineEnv.DATAKIT_CI_CACHE_DIR, { recursive: true, force: true }); }
